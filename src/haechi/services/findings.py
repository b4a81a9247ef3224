"""Findings as a counsellor reviews them: one per item and person, highest risk first, with
where the item was seen (files and chat rooms)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from haechi.errors import InputError
from haechi.i18n import _
from haechi.matching.review import ChatPlace, Grouped, chat_places, group_findings
from haechi.risk import Risk
from haechi.services.items import item_risk
from haechi.store.db import Database
from haechi.store.findings import KINDS, STATUSES, Finding
from haechi.store.items import get_items
from haechi.store.persons import Person


@dataclass(frozen=True)
class FindingView:
    """One grouped finding with its item's risk and the places the item was seen."""

    group: Grouped
    risk: Risk
    files: tuple[str, ...]
    chats: tuple[ChatPlace, ...]


def list_findings(
    db: Database,
    *,
    person: str | None = None,
    kind: str | None = None,
    status: str | None = None,
) -> list[FindingView]:
    """Findings (about `person`, of `kind`, in `status`), one per item, kind and subject,
    highest risk first (enrolled face × sexual score × synthetic evidence): what a counsellor
    should look at first."""
    # A misspelt filter would list nothing, which reads as "no findings".
    if status is not None and status not in STATUSES:
        raise InputError(
            _("--status {value}: use one of {choices}").format(
                value=repr(status), choices=", ".join(STATUSES)
            )
        )
    if kind is not None and kind not in KINDS:
        raise InputError(
            _("--kind {value}: use one of {choices}").format(
                value=repr(kind), choices=", ".join(KINDS)
            )
        )
    with db.session() as s:
        q = (
            select(Finding, Person.alias)
            .join(Person, Person.id == Finding.person_id, isouter=True)
            .order_by(Finding.item_sha256, Finding.id)
        )
        if person:
            q = q.where(Person.alias == person)
        if kind:
            q = q.where(Finding.kind == kind)
        if status:
            q = q.where(Finding.status == status)
        rows = [(f, alias) for f, alias in s.execute(q)]
        views = get_items(s, (f.item_sha256 for f, _alias in rows))
        chats = {sha: tuple(chat_places(s, sha)) for sha in views}
    groups = group_findings(rows)
    groups.sort(key=lambda g: (-item_risk(views[g.item_sha256]).score, g.item_sha256, g.best.id))
    return [
        FindingView(
            g,
            item_risk(views[g.item_sha256]),
            tuple(sg.path for sg in views[g.item_sha256].sightings),
            chats[g.item_sha256],
        )
        for g in groups
    ]
