"""Takedown requests: draft one per location of a case's items (in up to seven languages), then
follow it through approval, sending and the platform's answer.

Nothing is sent without a person: a request is approved by name before `send` (which needs a
configured SMTP server) or before the counsellor marks it sent herself. Every change of state
is a line in the case's timeline and an entry in the custody log, in the same transaction.
Items flagged as a possible minor are in no draft at all (store.findings.minor_items)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from haechi.config import Settings
from haechi.errors import InputError, NotFoundError
from haechi.services.cases import case_item_shas, record_in
from haechi.store.cases import Case
from haechi.store.db import Database
from haechi.store.findings import minor_items
from haechi.store.models import Item, Room, Sighting, SignalRow, Source
from haechi.store.takedown import STATES, TRANSITIONS, WAITING, TakedownRequest
from haechi.takedown.files import write_request
from haechi.takedown.platforms import Directory, Platform, load_directory
from haechi.takedown.templates import DraftContext, DraftItem

MARKABLE = ("sent", "acknowledged", "removed", "refused", "no_answer")


@dataclass(frozen=True)
class RequestView:
    id: int
    case_id: int
    platform: str
    location: str
    state: str
    languages: tuple[str, ...]
    items: tuple[str, ...]
    verified: bool
    response_days: int
    folder: Path
    files: tuple[str, ...]
    dates: dict[str, datetime]
    approved_by: str | None
    due_at: datetime | None
    overdue: bool
    reappeared_finding_id: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "case": self.case_id,
            "platform": self.platform,
            "location": self.location,
            "state": self.state,
            "languages": list(self.languages),
            "items": list(self.items),
            "verified": self.verified,
            "response_days": self.response_days,
            "folder": str(self.folder),
            "files": list(self.files),
            "dates": {k: v.isoformat() for k, v in self.dates.items()},
            "approved_by": self.approved_by,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "overdue": self.overdue,
            "reappeared_finding": self.reappeared_finding_id,
        }


@dataclass(frozen=True)
class DraftReport:
    case_id: int
    folder: Path
    drafted: tuple[RequestView, ...]
    # Locations that already have a request still in progress: (location, request id).
    existing: tuple[tuple[str, int], ...]
    # Items left out because they are flagged as a possible minor.
    minors_excluded: int
    # Case items seen nowhere a request can be sent (a local folder, a private chat export).
    without_location: int
    languages: tuple[str, ...] = field(default=())
    referrals: tuple[Platform, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case_id,
            "folder": str(self.folder),
            "languages": list(self.languages),
            "drafted": [r.to_json() for r in self.drafted],
            "existing": [{"location": loc, "request": rid} for loc, rid in self.existing],
            "minors_excluded": self.minors_excluded,
            "without_location": self.without_location,
            "referrals": [p.id for p in self.referrals],
        }


def _utc(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def view(r: TakedownRequest, now: datetime | None = None) -> RequestView:
    now = now or datetime.now(UTC)
    dates = {st: d for st in STATES if (d := _utc(getattr(r, f"{st}_at", None))) is not None}
    sent = dates.get("sent")
    due = sent + timedelta(days=r.response_days) if sent else None
    return RequestView(
        r.id,
        r.case_id,
        r.platform,
        r.location,
        r.state,
        tuple(r.languages),
        tuple(r.items),
        r.verified,
        r.response_days,
        Path(r.folder),
        tuple(r.files),
        dates,
        r.approved_by,
        due,
        bool(due and r.state in WAITING and due < now),
        r.reappeared_finding_id,
    )


def directory(settings: Settings) -> Directory:
    return load_directory(settings.takedown.platforms_file)


def case_folder(settings: Settings, case_id: int) -> Path:
    return settings.home_dir / "cases" / str(case_id) / "takedown"


# --------------------------------------------------------------------------- drafting
def _location(
    url: str | None, kind: str, room_kind: str | None, room: str | None, message_id: str | None
) -> str | None:
    """Where a request can point: a captured or WARC record URL, a Telegram message link; for
    a Telegram export, the link of a channel's or supergroup's message (t.me/c/ID/MSG)."""
    if url and urlsplit(url).scheme in ("http", "https"):
        return url
    if (
        kind == "telegram_export"
        and room
        and room.isdigit()
        and message_id
        and message_id.isdigit()
        and room_kind
        and ("channel" in room_kind or "supergroup" in room_kind)
    ):
        return f"https://t.me/c/{room}/{message_id}"
    return None


def _locations(s: Session, shas: Sequence[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Each location with the items seen there, and the source kind that saw it."""
    rows = s.execute(
        select(
            Sighting.item_sha256,
            Sighting.url,
            Source.kind,
            Sighting.room,
            Sighting.message_id,
            Room.kind,
        )
        .join(Source, Source.id == Sighting.source_id)
        .outerjoin(Room, (Room.source_id == Sighting.source_id) & (Room.room_key == Sighting.room))
        .where(Sighting.item_sha256.in_(list(shas)))
        .order_by(Sighting.id)
    ).all()
    where: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    for sha, url, kind, room, message_id, room_kind in rows:
        loc = _location(url, kind, room_kind, room, message_id)
        if loc is None:
            continue
        held = where.setdefault(loc, [])
        if sha not in held:
            held.append(sha)
        kinds.setdefault(loc, kind)
    return where, kinds


def _draft_items(s: Session, shas: Sequence[str]) -> tuple[DraftItem, ...]:
    pdq: dict[str, str] = {}
    for sha, payload in s.execute(
        select(SignalRow.item_sha256, SignalRow.payload).where(
            SignalRow.item_sha256.in_(list(shas)), SignalRow.analyzer == "pdq"
        )
    ):
        if isinstance(payload, dict) and isinstance(payload.get("pdq"), str):
            pdq[sha] = payload["pdq"]
    items = {i.sha256: i for i in s.scalars(select(Item).where(Item.sha256.in_(list(shas))))}
    return tuple(
        DraftItem(
            sha,
            items[sha].md5,
            pdq.get(sha),
            items[sha].kind,
            items[sha].size,
            (_utc(items[sha].first_seen_at) or datetime.now(UTC)).date().isoformat(),
        )
        for sha in shas
    )


def draft(
    db: Database,
    settings: Settings,
    case_id: int,
    languages: Sequence[str],
    actor: str,
    *,
    out_dir: Path | None = None,
) -> DraftReport:
    """A request for every location of the case's items that has none in progress yet."""
    plat = directory(settings)
    shas = case_item_shas(db, case_id)
    folder = out_dir.expanduser().resolve() if out_dir else case_folder(settings, case_id)
    drafted: list[RequestView] = []
    existing: list[tuple[str, int]] = []
    with db.session() as s:
        minors = minor_items(s, shas)
        allowed = [sha for sha in shas if sha not in minors]
        where, kinds = _locations(s, allowed)
        located = {sha for held in where.values() for sha in held}
        open_requests = {
            r.location: r.id
            for r in s.scalars(
                select(TakedownRequest).where(
                    TakedownRequest.case_id == case_id, TakedownRequest.state != "reappeared"
                )
            )
        }
        for loc, held in where.items():
            if loc in open_requests:
                existing.append((loc, open_requests[loc]))
                continue
            platform = plat.for_location(loc, kinds.get(loc))
            if platform is None:  # a centre's directory without a generic entry
                continue
            drafted.append(
                _draft_one(s, settings, case_id, platform, loc, held, languages, folder, actor)
            )
    return DraftReport(
        case_id,
        folder,
        tuple(drafted),
        tuple(existing),
        len(minors),
        len(set(allowed) - located),
        tuple(languages),
        plat.referrals,
    )


def _draft_one(
    s: Session,
    settings: Settings,
    case_id: int,
    platform: Platform,
    location: str,
    shas: Sequence[str],
    languages: Sequence[str],
    folder: Path,
    actor: str,
) -> RequestView:
    now = datetime.now(UTC)
    req = TakedownRequest(
        case_id=case_id,
        platform=platform.id,
        location=location,
        items=list(shas),
        languages=list(languages),
        state="drafted",
        response_days=platform.response_days,
        verified=platform.verified,
        folder="",
        files=[],
        drafted_at=now,
        history=[{"state": "drafted", "at": now.isoformat(), "by": actor}],
    )
    s.add(req)
    s.flush()
    where = folder / f"{req.id:04d}-{platform.id}"
    ctx = DraftContext(
        request_id=req.id,
        ref=f"HAECHI-{case_id}-{req.id}",
        case_id=case_id,
        platform=platform,
        locations=(location,),
        items=_draft_items(s, shas),
        organisation=settings.takedown.organisation,
        sender=settings.takedown.sender,
    )
    req.files = write_request(where, ctx, languages)
    req.folder = str(where)
    record_in(
        s,
        case_id,
        actor,
        "takedown_drafted",
        location,
        request=req.id,
        platform=platform.id,
        verified=platform.verified,
        languages=list(languages),
        items=list(shas),
        files_sha256=_files_digest(where, req.files),
    )
    return view(req, now)


def _files_digest(folder: Path, names: Sequence[str]) -> dict[str, str]:
    """Each file's SHA-256: the custody log pins what was drafted (and later approved)."""
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in names}


# --------------------------------------------------------------------------- tracking
def _get(s: Session, request_id: int) -> TakedownRequest:
    req = s.get(TakedownRequest, request_id)
    if req is None:
        raise NotFoundError(f"no takedown request {request_id}: `haechi takedown list` shows them")
    return req


def transition(
    s: Session,
    req: TakedownRequest,
    state: str,
    actor: str,
    *,
    at: datetime | None = None,
    **data: Any,
) -> None:
    """Move a request to `state` (if its current state allows it), with its timeline line and
    custody entry, in the caller's transaction."""
    if state not in TRANSITIONS.get(req.state, ()):
        allowed = ", ".join(TRANSITIONS.get(req.state, ())) or "nothing (it is final)"
        raise InputError(
            f"takedown request {req.id} is {req.state}: it can become {allowed}, not {state}"
        )
    when = at or datetime.now(UTC)
    before, req.state = req.state, state
    setattr(req, f"{state}_at", when)
    req.history = [
        *req.history,
        {"state": state, "at": when.isoformat(), "by": actor}
        | {k: v for k, v in data.items() if isinstance(v, str | int | bool)},
    ]
    record_in(
        s,
        req.case_id,
        actor,
        f"takedown_{state}",
        request=req.id,
        platform=req.platform,
        before=before,
        after=state,
        at=when.isoformat(),
        **data,
    )


def approve(db: Database, request_id: int, by: str, actor: str) -> RequestView:
    if not by.strip():
        raise InputError("name who approves the request: --by NAME")
    with db.session() as s:
        req = _get(s, request_id)
        req.approved_by = by.strip()[:200]
        files = _files_digest(Path(req.folder), req.files) if Path(req.folder).is_dir() else {}
        transition(s, req, "approved", actor, by=by.strip()[:200], files_sha256=files)
        return view(req)


def mark(
    db: Database, request_id: int, state: str, actor: str, *, at: datetime | None = None
) -> RequestView:
    if state not in MARKABLE:
        raise InputError(f"unknown state {state!r}: one of {', '.join(MARKABLE)}")
    if at is not None and at > datetime.now(UTC) + timedelta(minutes=5):
        raise InputError(f"{at.isoformat()} is in the future")
    with db.session() as s:
        req = _get(s, request_id)
        transition(s, req, state, actor, at=at, how="marked")
        return view(req)


def list_requests(
    db: Database, *, case_id: int | None = None, overdue: bool = False
) -> list[RequestView]:
    now = datetime.now(UTC)
    with db.session() as s:
        q = select(TakedownRequest).order_by(TakedownRequest.id)
        if case_id is not None:
            if s.get(Case, case_id) is None:
                raise NotFoundError(f"no case {case_id}: `haechi case list` shows the cases")
            q = q.where(TakedownRequest.case_id == case_id)
        views = [view(r, now) for r in s.scalars(q)]
    return [v for v in views if v.overdue] if overdue else views


def get_request(db: Database, request_id: int) -> RequestView:
    with db.session() as s:
        return view(_get(s, request_id))


def send(
    db: Database, settings: Settings, request_id: int, actor: str, *, language: str | None = None
) -> tuple[RequestView, str]:
    """Send an approved request's .eml in the platform's language (or `language`) through the
    configured SMTP server, then mark it sent. Returns the request and the server used."""
    from haechi.takedown.smtp import read_eml, send_message

    with db.session() as s:
        req = _get(s, request_id)
        if req.state != "approved":
            raise InputError(
                f"takedown request {req.id} is {req.state}: only an approved request is sent "
                f"(`haechi takedown approve {req.id} --by NAME` first)"
            )
        platform = directory(settings).get(req.platform)
        lang = language or (
            platform.language if platform.language in req.languages else req.languages[0]
        )
        if lang not in req.languages:
            raise InputError(
                f"request {req.id} was drafted in {', '.join(req.languages)}, not {lang}"
            )
        eml = Path(req.folder) / f"{lang}.eml"
        msg = read_eml(eml)
        server = send_message(settings, msg)
        # The e-mail left: the state follows even if this process is stopped now, because
        # the transaction below is all that is left to do.
        transition(
            s,
            req,
            "sent",
            actor,
            how="smtp",
            language=lang,
            to=str(msg["To"]),
            message_id=str(msg["Message-ID"]),
            eml_sha256=hashlib.sha256(eml.read_bytes()).hexdigest(),
        )
        return view(req), server
