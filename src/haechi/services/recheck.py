"""`haechi recheck`: fetch again the location of every takedown request still being followed, and
tell whether the content is gone or back.

This uses the network, on purpose: each location is captured through the capture module (its
URL guard refuses private addresses unless allowed), the new WARC is scanned like any other,
and what it holds is compared with the request's items: the same SHA-256, a PDQ hash within
the threshold, or a face finding for the case's person. Content back up after removal becomes a
new finding linked to the request, which turns "reappeared"; content gone from a sent request
marks it removed; a request already removed and still gone gets a "still gone" line. A location
that cannot be reached changes nothing (a server down is not a removal).

Named sources (`recheck_sources`: a fresh Telegram export of the room, a folder a volunteer
collected) are scanned the same way, without the network: content of a removed request found
there is back up, wherever it now is. Not finding it in a source proves nothing and changes
nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from haechi import hooks
from haechi.config import Settings
from haechi.errors import InputError
from haechi.matching.pdq import distance
from haechi.services.cases import add_in, record_in
from haechi.services.takedown import transition
from haechi.store.cases import Case
from haechi.store.db import Database
from haechi.store.findings import Finding
from haechi.store.models import Sighting, SignalRow
from haechi.store.takedown import RECHECKED, TakedownRequest

# What a server says when the content is gone. Other errors (403, 429, 5xx) are not a removal:
# a server that blocks haechi or is down changes nothing.
GONE_STATUSES = (404, 410, 451)
RESULTS = (
    "reappeared",
    "still_up",
    "removed",
    "still_gone",
    "unclear",
    "unreachable",
    "refused",
    "not_checkable",
    "absent",
)
HTML_TYPES = ("text/html", "application/xhtml+xml")


def checkable(location: str) -> bool:
    """Private Telegram links (t.me/c/…) open only for members: fetching them proves nothing."""
    parts = urlsplit(location)
    if parts.scheme not in ("http", "https"):
        return False
    host = (parts.hostname or "").lower()
    return not (host in ("t.me", "telegram.me") and parts.path.startswith("/c/"))


@dataclass(frozen=True)
class RecheckResult:
    """The outcome of rechecking one request's location: one of `RESULTS`, the request's state
    afterwards, how the content was found (sha256, pdq or face), the new finding if it came back,
    and the HTTP status when there was one."""

    request_id: int
    case_id: int
    location: str
    result: str  # one of RESULTS
    state: str  # the request's state after the check
    how: str | None = None  # sha256, pdq or face, when the content was found
    finding_id: int | None = None
    status: int | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """The result as `recheck --json` and the API carry it."""
        return {
            "request": self.request_id,
            "case": self.case_id,
            "location": self.location,
            "result": self.result,
            "state": self.state,
            "how": self.how,
            "finding": self.finding_id,
            "status": self.status,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class _Match:
    sha256: str
    how: str
    score: float
    threshold: float


def _followed(db: Database, case_id: int | None) -> list[tuple[int, int, str]]:
    with db.session() as s:
        q = select(TakedownRequest.id, TakedownRequest.case_id, TakedownRequest.location).where(
            TakedownRequest.state.in_(RECHECKED)
        )
        if case_id is not None:
            q = q.where(TakedownRequest.case_id == case_id)
        return [(rid, cid, loc) for rid, cid, loc in s.execute(q.order_by(TakedownRequest.id))]


def recheck(
    db: Database, settings: Settings, actor: str, *, case_id: int | None = None
) -> list[RecheckResult]:
    """Check every followed request (of one case, or all) once; returns what each check found."""
    from haechi.capture import capture_page
    from haechi.scan import scan_paths

    results = []
    for rid, cid, loc in _followed(db, case_id):
        if not checkable(loc):
            detail = "a private link: check it by hand in the app"
            results.append(RecheckResult(rid, cid, loc, "not_checkable", "", detail=detail))
            continue
        try:
            cap = capture_page(settings, loc)
        except InputError as exc:
            results.append(_note(db, rid, actor, "refused", detail=str(exc)))
            continue
        # The last page hop: where redirects ended.
        page = next((f for f in reversed(cap.fetches) if f.role == "page"), None)
        status = page.status if page else None
        if status is None or (status >= 400 and status not in GONE_STATUSES):
            problem = (page.problem if page else None) or f"HTTP {status}"
            results.append(_note(db, rid, actor, "unreachable", status=status, detail=problem))
            continue
        ctype = ((page.content_type if page else None) or "").split(";")[0].strip().lower()
        (summary,) = scan_paths(db, settings, [cap.warc], source_kind="warc")
        results.append(
            _judge(
                db, settings, rid, actor, summary.scan_id, status, cap.sha256, ctype in HTML_TYPES
            )
        )
    return results


def _note(
    db: Database,
    rid: int,
    actor: str,
    result: str,
    *,
    status: int | None = None,
    detail: str = "",
) -> RecheckResult:
    """A check that changes no state: its line in the timeline and the request's history."""
    with db.session() as s:
        req = s.get(TakedownRequest, rid)
        assert req is not None
        _checked(s, req, actor, result, status=status)
        return RecheckResult(
            req.id, req.case_id, req.location, result, req.state, status=status, detail=detail
        )


def _checked(s: Session, req: TakedownRequest, actor: str, result: str, **data: Any) -> None:
    now = datetime.now(UTC)
    req.last_checked_at = now
    req.history = [*req.history, {"check": result, "at": now.isoformat(), "by": actor}]
    record_in(s, req.case_id, actor, "takedown_recheck", request=req.id, result=result, **data)


def _judge(
    db: Database,
    settings: Settings,
    rid: int,
    actor: str,
    scan_id: int,
    status: int,
    warc_sha256: str,
    is_page: bool,
) -> RecheckResult:
    new_findings: list[int] = []
    with db.session() as s:
        req = s.get(TakedownRequest, rid)
        assert req is not None
        found = None if status in GONE_STATUSES else _match(s, settings, req, scan_id)
        checked: dict[str, Any] = {"status": status, "warc_sha256": warc_sha256}
        if found is None and is_page and status not in GONE_STATUSES:
            # A page is there but none of its media matches: the content may load by script
            # or sit behind a login. Not proof of removal; a person looks.
            _checked(s, req, actor, "unclear", **checked)
            return RecheckResult(
                req.id,
                req.case_id,
                req.location,
                "unclear",
                req.state,
                status=status,
                detail="the page is there but none of its media matches: check it by hand",
            )
        if found is None:
            if req.state == "removed":
                _checked(s, req, actor, "still_gone", **checked)
                result = "still_gone"
            else:
                req.last_checked_at = datetime.now(UTC)
                transition(s, req, "removed", actor, how="recheck", **checked)
                result = "removed"
            return RecheckResult(
                req.id, req.case_id, req.location, result, req.state, status=status
            )
        if req.state != "removed":
            # Never taken down: still up, not back up.
            _checked(s, req, actor, "still_up", how=found.how, **checked)
            return RecheckResult(
                req.id,
                req.case_id,
                req.location,
                "still_up",
                req.state,
                how=found.how,
                status=status,
            )
        result_view = _reappeared(s, req, found, actor, checked)
        new_findings.append(result_view.finding_id or 0)
    # After the commit, as a scan does: the vault preserves the item, her cases take it.
    hooks.findings_created(db, new_findings)
    return result_view


def _reappeared(
    s: Session, req: TakedownRequest, found: _Match, actor: str, checked: dict[str, Any]
) -> RecheckResult:
    """Content of a removed request is back: a new finding linked to the request, the item in
    the case, the request "reappeared"."""
    fid = _finding(s, req, found, checked)
    add_in(s, req.case_id, actor, [(found.sha256, fid)], "recheck")
    req.reappeared_finding_id = fid
    req.last_checked_at = datetime.now(UTC)
    transition(
        s, req, "reappeared", actor, how=found.how, finding=fid, item=found.sha256, **checked
    )
    return RecheckResult(
        req.id,
        req.case_id,
        req.location,
        "reappeared",
        req.state,
        how=found.how,
        finding_id=fid,
        status=checked.get("status"),
    )


def recheck_sources(
    db: Database,
    settings: Settings,
    actor: str,
    paths: Sequence[Path],
    *,
    case_id: int | None = None,
) -> list[RecheckResult]:
    """Scan each named source (offline) and look in it for the content of every followed
    request: back up after removal → "reappeared" with a new finding; still there before any
    removal → "still_up"; not there → "absent" (no change: one source is not the whole web)."""
    from haechi.scan import scan_paths

    results: list[RecheckResult] = []
    for path in paths:
        scans = [sm.scan_id for sm in scan_paths(db, settings, [path])]
        for rid, _cid, _loc in _followed(db, case_id):
            new_findings: list[int] = []
            with db.session() as s:
                req = s.get(TakedownRequest, rid)
                assert req is not None
                found = next(
                    (m for sid in scans if (m := _match(s, settings, req, sid)) is not None), None
                )
                checked: dict[str, Any] = {"source": str(path)}
                if found is None:
                    _checked(s, req, actor, "absent", **checked)
                    result = RecheckResult(
                        req.id, req.case_id, req.location, "absent", req.state, detail=str(path)
                    )
                elif req.state != "removed":
                    _checked(s, req, actor, "still_up", how=found.how, **checked)
                    result = RecheckResult(
                        req.id, req.case_id, req.location, "still_up", req.state, how=found.how
                    )
                else:
                    result = _reappeared(s, req, found, actor, checked)
                    new_findings.append(result.finding_id or 0)
            hooks.findings_created(db, new_findings)
            results.append(result)
    return results


def _pdq(s: Session, shas: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for sha, payload in s.execute(
        select(SignalRow.item_sha256, SignalRow.payload).where(
            SignalRow.item_sha256.in_(list(shas)), SignalRow.analyzer == "pdq"
        )
    ):
        if isinstance(payload, dict) and isinstance(payload.get("pdq"), str):
            out[sha] = payload["pdq"]
    return out


def _match(s: Session, settings: Settings, req: TakedownRequest, scan_id: int) -> _Match | None:
    seen = list(
        dict.fromkeys(s.scalars(select(Sighting.item_sha256).where(Sighting.scan_id == scan_id)))
    )
    if not seen:
        return None
    wanted = set(req.items)
    for sha in seen:
        if sha in wanted:
            return _Match(sha, "sha256", 0.0, 0.0)
    limit = settings.thresholds.pdq_max_distance
    theirs, ours = _pdq(s, seen), _pdq(s, list(wanted))
    best: tuple[int, str] | None = None
    for sha, h in theirs.items():
        for old in ours.values():
            d = distance(h, old)
            if d <= limit and (best is None or d < best[0]):
                best = (d, sha)
    if best is not None:
        return _Match(best[1], "pdq", float(best[0]), float(limit))
    case = s.get(Case, req.case_id)
    if case is not None and case.person_id is not None:
        face = s.execute(
            select(Finding.item_sha256, Finding.score, Finding.threshold).where(
                Finding.item_sha256.in_(seen),
                Finding.kind == "face_match",
                Finding.person_id == case.person_id,
            )
        ).first()
        if face is not None:
            return _Match(face[0], "face", face[1], face[2])
    return None


def _finding(s: Session, req: TakedownRequest, m: _Match, where: dict[str, Any]) -> int:
    subject = f"takedown:{req.id}"
    existing = s.scalar(
        select(Finding.id).where(
            Finding.item_sha256 == m.sha256,
            Finding.kind == "reupload",
            Finding.subject == subject,
            Finding.locus == "",
        )
    )
    if existing is not None:
        return existing
    case = s.get(Case, req.case_id)
    row = Finding(
        item_sha256=m.sha256,
        kind="reupload",
        person_id=case.person_id if case else None,
        subject=subject,
        locus="",
        score=m.score,
        threshold=m.threshold,
        reason=(f"back in {where['source']}" if "source" in where else f"back at {req.location}")
        + f" after takedown request {req.id} ({m.how} match)",
        details={"request": req.id, "how": m.how, **where},
        status="open",
    )
    s.add(row)
    s.flush()
    return row.id
