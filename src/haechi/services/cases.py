"""Cases: open one for an enrolled person (her findings then join it as they are found) or for
an investigation; add items, notes and status changes; read its timeline.

Every change is a line in the case's timeline and an entry in the custody log. The log holds no
free text: a note or title is recorded there by its SHA-256 only, so that `forget` and the
permanent, hash-chained log never disagree about what was written about a person."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haechi.errors import InputError, NotFoundError
from haechi.i18n import _
from haechi.store.cases import ACTIVE, STATUSES, Case, CaseEvent, CaseItem
from haechi.store.custody import CustodyAction, CustodyEvent, append
from haechi.store.db import Database
from haechi.store.findings import Finding
from haechi.store.items import get_item
from haechi.store.persons import Person


@dataclass(frozen=True)
class CaseSummary:
    """One case as a list shows it: its title, the person's alias (None for an
    investigation), its status and how many items and findings it holds."""

    id: int
    title: str
    person: str | None
    status: str
    items: int
    findings: int
    opened_by: str
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The case as `case list --json` and the API carry it (times in ISO 8601)."""
        return {
            "id": self.id,
            "title": self.title,
            "person": self.person,
            "status": self.status,
            "items": self.items,
            "findings": self.findings,
            "opened_by": self.opened_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class CaseItemView:
    """One item in a case: its SHA-256, kind, the finding that brought it in (None when
    added by hand), who added it and when."""

    sha256: str
    kind: str | None
    finding_id: int | None
    added_by: str
    added_at: datetime


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a case's timeline: when, who, what kind of change, its free text (a note
    or title) and its structured data."""

    at: datetime
    actor: str
    kind: str
    text: str
    data: dict[str, Any]


@dataclass(frozen=True)
class CaseDetail:
    """A case in full: its summary, its items in the order they were added and its timeline,
    oldest first."""

    case: CaseSummary
    items: tuple[CaseItemView, ...]
    timeline: tuple[TimelineEntry, ...]

    def to_json(self) -> dict[str, Any]:
        """The case as `case show --json` and the API carry it; `data` appears on a timeline line
        only when it has any."""
        return {
            **self.case.to_json(),
            "items": [
                {
                    "sha256": i.sha256,
                    "kind": i.kind,
                    "finding_id": i.finding_id,
                    "added_by": i.added_by,
                    "added_at": i.added_at.isoformat(),
                }
                for i in self.items
            ],
            "timeline": [
                {"at": e.at.isoformat(), "actor": e.actor, "kind": e.kind, "text": e.text}
                | ({"data": e.data} if e.data else {})
                for e in self.timeline
            ],
        }


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _record(s: Session, case: Case, actor: str, kind: str, text: str = "", **data: Any) -> None:
    """One timeline line and its custody entry, in the caller's transaction (both or neither)."""
    now = datetime.now(UTC)
    s.add(CaseEvent(case_id=case.id, at=now, actor=actor, kind=kind, text=text, data=data))
    case.updated_at = now
    details: dict[str, Any] = {"what": kind, **data}
    if text:
        details["text_sha256"] = _text_digest(text)
    append(s, CustodyEvent(actor, CustodyAction.CASE, f"case:{case.id}", details), at=now)


def _case(s: Session, case_id: int) -> Case:
    case = s.get(Case, case_id)
    if case is None:
        raise NotFoundError(
            _("no case {id}: `haechi case list` shows the cases").format(id=case_id)
        )
    return case


def open_case(
    db: Database, actor: str, *, person: str | None = None, title: str = ""
) -> CaseSummary:
    """A new case, for an enrolled person (her findings so far join it at once) or, without a
    person, for an investigation."""
    with db.session() as s:
        person_id = None
        if person is not None:
            person_id = s.scalar(select(Person.id).where(Person.alias == person.strip()))
            if person_id is None:
                raise NotFoundError(
                    _("{alias} is not enrolled: `haechi persons` lists who is").format(
                        alias=repr(person)
                    )
                )
        case = Case(title=title.strip(), person_id=person_id, opened_by=actor)
        s.add(case)
        s.flush()
        _record(s, case, actor, "opened", title.strip(), person_linked=person_id is not None)
        if person_id is not None:
            rows = s.execute(
                select(Finding.id, Finding.item_sha256)
                .where(Finding.person_id == person_id, Finding.status != "dismissed")
                .order_by(Finding.id)
            ).all()
            _add(s, case, actor, [(sha, fid) for fid, sha in rows], "finding")
        case_id = case.id
    return get_case(db, case_id).case


def _add(
    s: Session, case: Case, actor: str, items: Iterable[tuple[str, int | None]], why: str
) -> list[str]:
    held = set(s.scalars(select(CaseItem.item_sha256).where(CaseItem.case_id == case.id)))
    added: list[str] = []
    for sha, finding_id in items:
        if sha in held:
            continue
        held.add(sha)
        s.add(CaseItem(case_id=case.id, item_sha256=sha, finding_id=finding_id, added_by=actor))
        added.append(sha)
    if added:
        _record(s, case, actor, "items_added", items=added, by=why)
    return added


def add_items(db: Database, case_id: int, refs: Sequence[str], actor: str) -> list[str]:
    """Add items (SHA-256s or unique prefixes) to a case; returns those that were new to it."""
    if not refs:
        raise InputError(_("name at least one item (its SHA-256 or a unique prefix)"))
    with db.session() as s:
        case = _case(s, case_id)
        shas = [get_item(s, ref).sha256 for ref in refs]
        return _add(s, case, actor, [(sha, None) for sha in shas], "hand")


def add_note(db: Database, case_id: int, text: str, actor: str) -> None:
    """Add a free-text note to a case's timeline; the custody log records only its SHA-256.
    Raises InputError for an empty note, NotFoundError for an unknown case."""
    if not text.strip():
        raise InputError(_("the note is empty"))
    with db.session() as s:
        _record(s, _case(s, case_id), actor, "note", text.strip())


def set_status(db: Database, case_id: int, status: str, actor: str) -> None:
    """Change a case's status (one of `STATUSES`, else InputError); setting the status it
    already has records nothing."""
    if status not in STATUSES:
        raise InputError(
            _("unknown status {status!r}: one of {statuses}").format(
                status=status, statuses=", ".join(STATUSES)
            )
        )
    with db.session() as s:
        case = _case(s, case_id)
        if case.status == status:
            return
        before, case.status = case.status, status
        _record(s, case, actor, "status", before=before, after=status)


def record(db: Database, case_id: int, actor: str, kind: str, **data: Any) -> None:
    """A line in the timeline for work done elsewhere (an export, a takedown request …)."""
    with db.session() as s:
        _record(s, _case(s, case_id), actor, kind, **data)


def record_in(s: Session, case_id: int, actor: str, kind: str, text: str = "", **data: Any) -> None:
    """`record` inside the caller's transaction: a change made elsewhere (a takedown request's
    new state), its timeline line and its custody entry are stored together or not at all."""
    _record(s, _case(s, case_id), actor, kind, text, **data)


def add_in(
    s: Session, case_id: int, actor: str, items: Iterable[tuple[str, int | None]], why: str
) -> list[str]:
    """Add (item, finding) pairs to a case inside the caller's transaction."""
    return _add(s, _case(s, case_id), actor, items, why)


def _summaries(s: Session, cases: Sequence[Case]) -> list[CaseSummary]:
    ids = [c.id for c in cases]
    n_items: dict[int, int] = {
        cid: n
        for cid, n in s.execute(
            select(CaseItem.case_id, func.count())
            .where(CaseItem.case_id.in_(ids))
            .group_by(CaseItem.case_id)
        )
    }
    n_findings: dict[int, int] = {
        cid: n
        for cid, n in s.execute(
            select(CaseItem.case_id, func.count(Finding.id))
            .join(Finding, Finding.item_sha256 == CaseItem.item_sha256)
            .where(CaseItem.case_id.in_(ids))
            .group_by(CaseItem.case_id)
        )
    }
    people = [c.person_id for c in cases if c.person_id is not None]
    aliases: dict[int, str] = {
        pid: alias
        for pid, alias in s.execute(select(Person.id, Person.alias).where(Person.id.in_(people)))
    }
    return [
        CaseSummary(
            c.id,
            c.title,
            aliases.get(c.person_id) if c.person_id is not None else None,
            c.status,
            n_items.get(c.id, 0),
            n_findings.get(c.id, 0),
            c.opened_by,
            _utc(c.created_at),
            _utc(c.updated_at),
        )
        for c in cases
    ]


def list_cases(db: Database, *, status: str | None = None) -> list[CaseSummary]:
    """Every case (or those with one status) by id, with its item and finding counts;
    raises InputError for an unknown status."""
    if status is not None and status not in STATUSES:
        raise InputError(
            _("unknown status {status!r}: one of {statuses}").format(
                status=status, statuses=", ".join(STATUSES)
            )
        )
    with db.session() as s:
        q = select(Case).order_by(Case.id)
        if status is not None:
            q = q.where(Case.status == status)
        return _summaries(s, list(s.scalars(q)))


def get_case(db: Database, case_id: int) -> CaseDetail:
    """A case with its items and timeline; raises NotFoundError for an unknown id."""
    from haechi.store.models import Item

    with db.session() as s:
        case = _case(s, case_id)
        (summary,) = _summaries(s, [case])
        items = tuple(
            CaseItemView(sha, kind, fid, by, _utc(at))
            for sha, kind, fid, by, at in s.execute(
                select(
                    CaseItem.item_sha256,
                    Item.kind,
                    CaseItem.finding_id,
                    CaseItem.added_by,
                    CaseItem.added_at,
                )
                .join(Item, Item.sha256 == CaseItem.item_sha256)
                .where(CaseItem.case_id == case_id)
                .order_by(CaseItem.id)
            )
        )
        timeline = tuple(
            TimelineEntry(_utc(e.at), e.actor, e.kind, e.text, dict(e.data))
            for e in s.scalars(
                select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
            )
        )
    return CaseDetail(summary, items, timeline)


def case_item_shas(db: Database, case_id: int) -> list[str]:
    """The SHA-256 of each of a case's items, in the order they were added; raises
    NotFoundError for an unknown case."""
    with db.session() as s:
        _case(s, case_id)
        return list(
            s.scalars(
                select(CaseItem.item_sha256)
                .where(CaseItem.case_id == case_id)
                .order_by(CaseItem.id)
            )
        )


def join_findings(db: Database, finding_ids: Sequence[int], actor: str) -> int:
    """New findings about an enrolled person join her active cases; returns items added."""
    added = 0
    with db.session() as s:
        rows = s.execute(
            select(Finding.id, Finding.item_sha256, Finding.person_id).where(
                Finding.id.in_(finding_ids), Finding.person_id.is_not(None)
            )
        ).all()
        by_person: dict[int, list[tuple[str, int | None]]] = {}
        for fid, sha, pid in rows:
            if pid is not None:
                by_person.setdefault(pid, []).append((sha, fid))
        for pid, items in by_person.items():
            for case in s.scalars(
                select(Case).where(Case.person_id == pid, Case.status.in_(ACTIVE))
            ):
                added += len(_add(s, case, actor, items, "finding"))
    return added
