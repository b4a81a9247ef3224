"""Enrolled persons as people read them: alias, consent record and counts of what is stored
for each. Never a face template or a hash: only how many there are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haechi.errors import NotFoundError
from haechi.i18n import _
from haechi.services.cases import CaseSummary, list_cases
from haechi.store.db import Database
from haechi.store.findings import Finding
from haechi.store.persons import ConsentRecord, FaceTemplate, OwnMediaHash, Person


@dataclass(frozen=True)
class ConsentView:
    """A person's first consent record: its text, who gave it for whom, its scope, how the
    giver's identity was checked and when."""

    text: str
    by: str
    for_whom: str
    scope: str
    verified_how: str
    given_at: datetime


@dataclass(frozen=True)
class PersonView:
    """One enrolled person: alias, enrolment time, first consent record and how many face
    templates, own-media hashes and findings are stored (counts only)."""

    alias: str
    enrolled_at: datetime
    consent: ConsentView | None
    templates: int
    own_media: int
    findings: int

    def to_json(self) -> dict[str, Any]:
        """The person as `persons --json` and the API carry it; never a template or hash."""
        c = self.consent
        return {
            "alias": self.alias,
            "enrolled_at": self.enrolled_at.isoformat(),
            "consent": None
            if c is None
            else {
                "text": c.text,
                "by": c.by,
                "for": c.for_whom,
                "scope": c.scope,
                "verified_how": c.verified_how,
                "given_at": c.given_at.isoformat(),
            },
            "templates": self.templates,
            "own_media": self.own_media,
            "findings": self.findings,
        }


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _count(model: type[FaceTemplate] | type[OwnMediaHash] | type[Finding]) -> Any:
    """How many rows of `model` belong to the person of the enclosing query."""
    return (
        select(func.count())
        .select_from(model)
        .where(model.person_id == Person.id)
        .correlate(Person)
        .scalar_subquery()
    )


def _views(s: Session, alias: str | None = None) -> list[PersonView]:
    """Persons (all, or the one with this alias) by alias, in two queries however many there
    are: the persons with their counts, then their first consent records."""
    q = select(Person, _count(FaceTemplate), _count(OwnMediaHash), _count(Finding)).order_by(
        Person.alias
    )
    if alias is not None:
        q = q.where(Person.alias == alias)
    rows = list(s.execute(q))
    first: dict[int, ConsentRecord] = {}
    if rows:
        ids = [p.id for p, *_counts in rows]
        consents = s.scalars(
            select(ConsentRecord).where(ConsentRecord.person_id.in_(ids)).order_by(ConsentRecord.id)
        )
        for rec in consents:
            first.setdefault(rec.person_id, rec)
    out = []
    for p, n_t, n_o, n_f in rows:
        c = first.get(p.id)
        consent = (
            None
            if c is None
            else ConsentView(
                c.text, c.consented_by, c.for_whom, c.scope, c.verified_how, _utc(c.given_at)
            )
        )
        out.append(PersonView(p.alias, _utc(p.created_at), consent, n_t or 0, n_o or 0, n_f or 0))
    return out


def list_persons(db: Database) -> list[PersonView]:
    """Every enrolled person, by alias."""
    with db.session() as s:
        return _views(s)


def get_person(db: Database, alias: str) -> PersonView:
    """The enrolled person with this alias; raises NotFoundError when there is none."""
    with db.session() as s:
        found = _views(s, alias)
    if not found:
        raise NotFoundError(_("no enrolled person {alias!r}").format(alias=alias))
    return found[0]


@dataclass(frozen=True)
class SelfView:
    """What a victim sees of herself: her enrolment and consent, and her cases' status."""

    person: PersonView | None  # None once she was forgotten
    cases: tuple[CaseSummary, ...]

    def to_json(self) -> dict[str, Any]:
        """What the victim's own page and API answer carry: her record and her cases' status,
        without titles or notes."""
        return {
            "person": self.person.to_json() if self.person else None,
            "cases": [
                {
                    "id": c.id,
                    "status": c.status,
                    "items": c.items,
                    "findings": c.findings,
                    "updated_at": c.updated_at.isoformat(),
                }
                for c in self.cases
            ],
        }


def self_view(db: Database, alias: str | None) -> SelfView:
    """What a victim's account may see of herself; empty (not an error) when the account names
    no person or the person was forgotten."""
    if alias is None:
        return SelfView(None, ())
    with db.session() as s:
        found = _views(s, alias)
    person = found[0] if found else None
    if person is None:
        return SelfView(None, ())
    return SelfView(person, tuple(c for c in list_cases(db) if c.person == alias))
