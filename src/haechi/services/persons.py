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
    text: str
    by: str
    for_whom: str
    scope: str
    verified_how: str
    given_at: datetime


@dataclass(frozen=True)
class PersonView:
    alias: str
    enrolled_at: datetime
    consent: ConsentView | None
    templates: int
    own_media: int
    findings: int

    def to_json(self) -> dict[str, Any]:
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


def _view(s: Session, p: Person) -> PersonView:
    c = s.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.person_id == p.id)
        .order_by(ConsentRecord.id)
        .limit(1)
    ).first()
    n_t = s.scalar(select(func.count()).where(FaceTemplate.person_id == p.id)) or 0
    n_o = s.scalar(select(func.count()).where(OwnMediaHash.person_id == p.id)) or 0
    n_f = s.scalar(select(func.count()).where(Finding.person_id == p.id)) or 0
    consent = (
        None
        if c is None
        else ConsentView(
            c.text, c.consented_by, c.for_whom, c.scope, c.verified_how, _utc(c.given_at)
        )
    )
    return PersonView(p.alias, _utc(p.created_at), consent, n_t, n_o, n_f)


def list_persons(db: Database) -> list[PersonView]:
    with db.session() as s:
        return [_view(s, p) for p in s.scalars(select(Person).order_by(Person.alias))]


def get_person(db: Database, alias: str) -> PersonView:
    with db.session() as s:
        p = s.scalar(select(Person).where(Person.alias == alias))
        if p is None:
            raise NotFoundError(_("no enrolled person {alias!r}").format(alias=alias))
        return _view(s, p)


@dataclass(frozen=True)
class SelfView:
    """What a victim sees of herself: her enrolment and consent, and her cases' status."""

    person: PersonView | None  # None once she was forgotten
    cases: tuple[CaseSummary, ...]

    def to_json(self) -> dict[str, Any]:
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
    if alias is None:
        return SelfView(None, ())
    with db.session() as s:
        p = s.scalar(select(Person).where(Person.alias == alias))
        person = _view(s, p) if p is not None else None
    if person is None:
        return SelfView(None, ())
    return SelfView(person, tuple(c for c in list_cases(db) if c.person == alias))
