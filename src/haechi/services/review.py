"""The review queue: findings ranked by risk, and what a reviewer does with them (confirm,
dismiss with a reason, escalate, flag a possible minor, look at the media).

Reviewers are protected by default. Media is shown only when a reviewer asks for one item,
and then blurred and in greyscale unless she asks for that one item unblurred; the preview is
written to a private temporary file outside the data directory, which the caller removes.
Every action and every look is an entry in the custody log, with who and when (free text only
by its SHA-256). A possible-minor flag escalates the finding and keeps the item's media out of
every export (see evidence.package) unless an authorisation is given and logged."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageFilter, ImageOps
from sqlalchemy import select

from haechi.config import Settings
from haechi.errors import InputError, NotFoundError
from haechi.i18n import _
from haechi.services.items import item_risk
from haechi.store.cases import CaseItem
from haechi.store.custody import CustodyAction, CustodyEvent, append
from haechi.store.db import Database
from haechi.store.findings import Finding
from haechi.store.items import get_item
from haechi.store.persons import Person

QUEUE_STATUSES = ("open", "escalated")
ACTIONS = ("confirm", "dismiss", "escalate", "minor")


@dataclass(frozen=True)
class QueueEntry:
    """One finding in the review queue: what was found and about whom, its status and minor
    flag, its match score, the item's risk and why it was raised."""

    finding_id: int
    item_sha256: str
    kind: str
    person: str | None
    status: str
    possible_minor: bool
    score: float
    risk: float
    reason: str
    item_kind: str | None

    def to_json(self) -> dict[str, Any]:
        """The entry as `review --json` and the API carry it."""
        return dict(self.__dict__)


def queue(
    db: Database, *, case_id: int | None = None, statuses: tuple[str, ...] = QUEUE_STATUSES
) -> list[QueueEntry]:
    """Findings to review, most urgent first: possible minors, then escalated, then by risk."""
    with db.session() as s:
        q = select(Finding, Person.alias).outerjoin(Person, Person.id == Finding.person_id)
        if statuses:
            q = q.where(Finding.status.in_(statuses))
        if case_id is not None:
            q = q.join(CaseItem, CaseItem.item_sha256 == Finding.item_sha256).where(
                CaseItem.case_id == case_id
            )
        rows = list(s.execute(q))
        views = {sha: get_item(s, sha) for sha in {f.item_sha256 for f, _alias in rows}}
        entries = [
            QueueEntry(
                f.id,
                f.item_sha256,
                f.kind,
                alias,
                f.status,
                f.possible_minor,
                round(f.score, 4),
                round(item_risk(views[f.item_sha256]).score, 4),
                f.reason,
                views[f.item_sha256].kind,
            )
            for f, alias in rows
        ]
    return sorted(
        entries,
        key=lambda e: (not e.possible_minor, e.status != "escalated", -e.risk, e.finding_id),
    )


def _log(s: Any, actor: str, action: CustodyAction, finding: Finding, **details: Any) -> None:
    append(
        s,
        CustodyEvent(
            actor, action, f"item:{finding.item_sha256}", {"finding": finding.id, **details}
        ),
    )


def act(db: Database, finding_id: int, action: str, actor: str, reason: str = "") -> str:
    """Apply a review action; returns the finding's new status."""
    if action not in ACTIONS:
        raise InputError(
            _("unknown action {action!r}: one of {actions}").format(
                action=action, actions=", ".join(ACTIONS)
            )
        )
    if action == "dismiss" and not reason.strip():
        raise InputError(_("a dismissal needs a reason (--reason): the next reviewer reads it"))
    with db.session() as s:
        finding = s.get(Finding, finding_id)
        if finding is None:
            raise NotFoundError(
                _("no finding {id}: `haechi review` lists them").format(id=finding_id)
            )
        before = finding.status
        if action == "confirm":
            finding.status = "confirmed"
        elif action == "dismiss":
            finding.status = "dismissed"
        elif action == "escalate":
            finding.status = "escalated"
        else:  # a possible minor: escalated, and restricted from here on
            finding.possible_minor = True
            if finding.status != "confirmed":
                finding.status = "escalated"
        history = list((finding.details or {}).get("review", []))
        history.append(
            {
                "at": datetime.now(UTC).isoformat(),
                "by": actor,
                "action": action,
                "reason": reason.strip() or None,
            }
        )
        finding.details = {**(finding.details or {}), "review": history}
        details: dict[str, Any] = {"what": action, "before": before, "after": finding.status}
        if reason.strip():
            details["reason_sha256"] = hashlib.sha256(reason.strip().encode()).hexdigest()
        _log(s, actor, CustodyAction.ANNOTATED, finding, **details)
        return finding.status


@dataclass(frozen=True)
class Preview:
    """A finding's media written for a reviewer to open: a private temporary file the caller
    must remove, blurred unless she asked otherwise."""

    path: Path  # a private temporary file: the caller removes it
    blurred: bool
    item_sha256: str


def _finding(db: Database, finding_id: int) -> Finding:
    with db.session() as s:
        finding = s.get(Finding, finding_id)
        if finding is None:
            raise NotFoundError(
                _("no finding {id}: `haechi review` lists them").format(id=finding_id)
            )
        s.expunge(finding)
        return finding


def _picture(data: bytes, t: float | None, settings: Settings) -> Image.Image:
    from haechi.media import BytesContent, decode_media

    media = decode_media(BytesContent(data, "preview"), settings.limits)
    frames = list(media.frames)
    if not frames:
        raise InputError(_("the item has no picture to preview"))
    frame = frames[0]
    if t is not None:
        frame = min(frames, key=lambda fr: abs((fr.t or 0.0) - t))
    return Image.fromarray(frame.rgb)


def blur(im: Image.Image) -> Image.Image:
    """Greyscale, and blurred so that a face or body cannot be recognised: a radius of 1/25
    of the longer side after shrinking to at most 480 px."""
    im = ImageOps.grayscale(im)
    im.thumbnail((480, 480))
    return im.filter(ImageFilter.GaussianBlur(radius=max(4, max(im.size) // 25)))


@dataclass(frozen=True)
class Rendering:
    """A finding's media as PNG bytes for the web app: kept in memory only, blurred unless the
    reviewer asked otherwise."""

    png: bytes  # in memory only: the web app sends it, never writes it
    blurred: bool
    item_sha256: str
    possible_minor: bool


def render(
    db: Database, settings: Settings, finding_id: int, actor: str, *, unblurred: bool = False
) -> Rendering:
    """The finding's media (the frame it was found in, for video) as PNG bytes, blurred and
    greyscale unless `unblurred`; logs the look. Reads the evidentiary copy (captured first if
    it is not yet in the vault); the clear media exists only in memory."""
    from haechi.evidence.capture import capture_item
    from haechi.evidence.context import open_vault
    from haechi.store.evidence_models import EvidenceItem

    finding = _finding(db, finding_id)
    if finding.possible_minor and unblurred:
        raise InputError(
            _(
                "finding {id} is flagged as a possible minor: its media is never shown "
                "unblurred here; refer it to the authorised investigator"
            ).format(id=finding_id)
        )
    sha = finding.item_sha256
    with db.session() as s:
        preserved = s.get(EvidenceItem, sha) is not None
    if not preserved:
        capture_item(db, settings, sha, actor, reason=f"review of finding {finding_id}")
    buf = io.BytesIO()
    with open_vault(settings).open_blob(sha) as reader:
        for chunk in reader:
            buf.write(chunk)
    t = (finding.details or {}).get("t")
    im = _picture(buf.getvalue(), t if isinstance(t, int | float) else None, settings)
    shown = im if unblurred else blur(im)
    out = io.BytesIO()
    shown.save(out, "PNG")
    with db.session() as s:
        row = s.get(Finding, finding_id)
        assert row is not None
        mode = "unblurred" if unblurred else "blurred"
        _log(s, actor, CustodyAction.VIEWED, row, what="preview", mode=mode)
    return Rendering(out.getvalue(), not unblurred, sha, finding.possible_minor)


def is_possible_minor(db: Database, finding_id: int) -> bool:
    """Whether a reviewer flagged the finding as a possible minor; raises NotFoundError for
    an unknown finding."""
    return _finding(db, finding_id).possible_minor


def preview(
    db: Database, settings: Settings, finding_id: int, actor: str, *, unblurred: bool = False
) -> Preview:
    """`render`, written to a private temporary file outside the data directory for a viewer
    program (the CLI); the caller removes it."""
    shown = render(db, settings, finding_id, actor, unblurred=unblurred)
    fd, name = tempfile.mkstemp(prefix="haechi-preview-", suffix=".png")  # 0600, outside home
    with os.fdopen(fd, "wb") as fh:
        fh.write(shown.png)
    return Preview(Path(name), shown.blurred, shown.item_sha256)
