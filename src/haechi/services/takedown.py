"""Takedown requests after drafting (services.drafts): approval, sending, the platform's answer.

Nothing is sent without a person: a request is approved by name before `send` (which needs a
configured SMTP server) or before the counsellor marks it sent herself, and `send` sends only
the e-mail as it was approved (its SHA-256 is checked). Every change of state is a line in the
case's timeline and an entry in the custody log, in the same transaction."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from haechi.config import Settings
from haechi.errors import AccessError, InputError, NotFoundError
from haechi.i18n import _
from haechi.services.cases import record_in
from haechi.store.cases import Case
from haechi.store.db import Database
from haechi.store.takedown import STATES, TRANSITIONS, WAITING, TakedownRequest
from haechi.takedown.files import files_digest
from haechi.takedown.platforms import Directory, load_directory

MARKABLE = ("sent", "acknowledged", "removed", "refused", "no_answer")


@dataclass(frozen=True)
class RequestView:
    """One takedown request as people read it: where and to whom, its state and the date of
    each state reached, its items and files, who approved it, and when an answer is due."""

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
        """The request as `takedown list --json` and the API carry it (times in ISO 8601)."""
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


def utc(at: datetime | None) -> datetime | None:
    """The time as an aware UTC datetime (the database may hand back naive UTC); None stays None."""
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def view(r: TakedownRequest, now: datetime | None = None) -> RequestView:
    """A request row as a view; `overdue` is judged against `now` (default: the current time)."""
    now = now or datetime.now(UTC)
    dates = {st: d for st in STATES if (d := utc(getattr(r, f"{st}_at", None))) is not None}
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
    """The platform directory: the packaged one, extended by the centre's own file when
    `takedown.platforms_file` is set."""
    return load_directory(settings.takedown.platforms_file)


def case_folder(settings: Settings, case_id: int) -> Path:
    """Where a case's takedown drafts are written: HOME/cases/ID/takedown."""
    return settings.home_dir / "cases" / str(case_id) / "takedown"


# --------------------------------------------------------------------------- tracking
def _get(s: Session, request_id: int) -> TakedownRequest:
    req = s.get(TakedownRequest, request_id)
    if req is None:
        raise NotFoundError(
            _("no takedown request {request_id}: `haechi takedown list` shows them").format(
                request_id=request_id
            )
        )
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
            _("takedown request {id} is {state}: it can become {allowed}, not {state2}").format(
                id=req.id, state=req.state, allowed=allowed, state2=state
            )
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


def drafted_by(req: TakedownRequest) -> str | None:
    """Who drafted the request (the actor of its first history line)."""
    first = req.history[0] if req.history else {}
    by = first.get("by") if isinstance(first, dict) else None
    return by if isinstance(by, str) else None


def approve(
    db: Database, request_id: int, by: str, actor: str, *, second_person: bool = False
) -> RequestView:
    """Record who checked and approves the request. With `second_person` (the web app), the
    account that drafted it may not approve it too: a second pair of eyes reads it first."""
    if not by.strip():
        raise InputError(_("name who approves the request: --by NAME"))
    with db.session() as s:
        req = _get(s, request_id)
        if second_person and drafted_by(req) == actor:
            raise AccessError(
                _(
                    "request {id} was drafted by {actor}: another person reads and approves it"
                ).format(id=req.id, actor=actor)
            )
        req.approved_by = by.strip()[:200]
        try:
            files = files_digest(Path(req.folder), req.files)
        except OSError as exc:
            raise InputError(
                _("request {id}'s files cannot be read ({exc}): draft it again").format(
                    id=req.id, exc=exc
                )
            ) from None
        req.approved_files = files
        transition(s, req, "approved", actor, by=by.strip()[:200], files_sha256=files)
        return view(req)


def mark(
    db: Database, request_id: int, state: str, actor: str, *, at: datetime | None = None
) -> RequestView:
    """Record a state the counsellor saw happen herself (she sent it, the platform answered):
    one of `MARKABLE`, at `at` (default now, at most 5 minutes ahead); raises InputError for
    another state or one the request cannot move to."""
    if state not in MARKABLE:
        raise InputError(
            _("unknown state {state!r}: one of {markable}").format(
                state=state, markable=", ".join(MARKABLE)
            )
        )
    if at is not None and at > datetime.now(UTC) + timedelta(minutes=5):
        raise InputError(_("{time} is in the future").format(time=at.isoformat()))
    with db.session() as s:
        req = _get(s, request_id)
        transition(s, req, state, actor, at=at, how="marked")
        return view(req)


def list_requests(
    db: Database, *, case_id: int | None = None, overdue: bool = False
) -> list[RequestView]:
    """Every request (or one case's, or only the overdue ones) by id; raises NotFoundError for
    an unknown case."""
    now = datetime.now(UTC)
    with db.session() as s:
        q = select(TakedownRequest).order_by(TakedownRequest.id)
        if case_id is not None:
            if s.get(Case, case_id) is None:
                raise NotFoundError(
                    _("no case {case_id}: `haechi case list` shows the cases").format(
                        case_id=case_id
                    )
                )
            q = q.where(TakedownRequest.case_id == case_id)
        views = [view(r, now) for r in s.scalars(q)]
    return [v for v in views if v.overdue] if overdue else views


def get_request(db: Database, request_id: int) -> RequestView:
    """One request; raises NotFoundError for an unknown id."""
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
                _(
                    "takedown request {id} is {state}: only an approved request "
                    "is sent (`haechi takedown approve {id} --by NAME` first)"
                ).format(id=req.id, state=req.state)
            )
        platform = directory(settings).get(req.platform)
        lang = language or (
            platform.language if platform.language in req.languages else req.languages[0]
        )
        if lang not in req.languages:
            raise InputError(
                _("request {id} was drafted in {languages}, not {lang}").format(
                    id=req.id, languages=", ".join(req.languages), lang=lang
                )
            )
        eml = Path(req.folder) / f"{lang}.eml"
        approved = (req.approved_files or {}).get(eml.name)
        if eml.is_file() and hashlib.sha256(eml.read_bytes()).hexdigest() != approved:
            raise InputError(
                _(
                    "{eml} changed after it was approved: read it again, then "
                    "`haechi takedown approve {id} --by NAME`"
                ).format(eml=eml, id=req.id)
            )
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


@dataclass(frozen=True)
class RequestDetail:
    """A request with who drafted it, its history, and the languages whose text can be read."""

    request: RequestView
    drafted_by: str | None
    history: tuple[dict[str, Any], ...]
    texts: tuple[str, ...]


def request_detail(db: Database, request_id: int) -> RequestDetail:
    """One request with who drafted it, its history and the languages its text was drafted
    in; raises NotFoundError for an unknown id."""
    with db.session() as s:
        req = _get(s, request_id)
        v = view(req)
        history = tuple(h for h in req.history if isinstance(h, dict))
        return RequestDetail(
            v,
            drafted_by(req),
            history,
            tuple(lang for lang in v.languages if f"{lang}.txt" in v.files),
        )


def request_file(db: Database, request_id: int, name: str) -> bytes:
    """One of the request's drafted files (`ko.txt`, `en.eml`, `hashes.csv`…), by the name
    stored with it: never a path a caller makes up."""
    v = get_request(db, request_id)
    if name not in v.files:
        raise NotFoundError(
            _("request {id} has no file {name}").format(id=request_id, name=repr(name))
        )
    try:
        return (v.folder / name).read_bytes()
    except OSError as exc:
        raise InputError(
            _("{path} cannot be read ({reason}): draft the request again").format(
                path=v.folder / name, reason=exc.strerror or exc
            )
        ) from None
