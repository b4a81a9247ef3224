"""Call sites for parts built elsewhere, so they plug in without the matchers knowing them.

- `on_finding`: called after new findings are committed (evidence capture into the vault).
- `item_matchers`: run inside a scan batch's transaction for every newly analysed item (hash
  banks); they return the ids of the findings they added, which then reach `on_finding` too.
- `on_forget`: called after a person is erased and the erasure logged (the event carries no
  alias, no template, nothing about who was forgotten).

Each hook receives the database and the event; a failing hook raises (the work it follows is
already committed and is not undone)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from haechi.config import Settings
    from haechi.matching.findings import ScannedItem
    from haechi.media import Content
    from haechi.store.db import Database


@dataclass(frozen=True)
class FindingsCreated:
    finding_ids: tuple[int, ...]
    # SHA-256 -> the bytes the scan holds for it right now: capture reads them from here, so
    # an item whose source keeps no copy (a live chat's download) is still preserved.
    contents: Mapping[str, Content] = field(default_factory=dict)


@dataclass(frozen=True)
class PersonForgotten:
    """That a forget happened and when; deliberately nothing that identifies the person."""

    at: datetime
    removed_counts: tuple[tuple[str, int], ...]  # ("templates", 3), ("findings", 2) …


on_finding: list[Callable[[Database, FindingsCreated], None]] = []
on_forget: list[Callable[[Database, PersonForgotten], None]] = []
item_matchers: list[Callable[[Session, Settings, Sequence[ScannedItem]], list[int]]] = []


def _builtins() -> None:
    """The project's own hooks register on first use, like a plug-in would."""
    import haechi.evidence.wiring
    import haechi.services.wiring  # noqa: F401


def findings_created(
    db: Database, ids: Sequence[int], contents: Mapping[str, Content] | None = None
) -> None:
    if not ids:
        return
    _builtins()
    event = FindingsCreated(tuple(ids), contents or {})
    for hook in list(on_finding):
        hook(db, event)


def match_items(session: Session, settings: Settings, items: Sequence[ScannedItem]) -> list[int]:
    """Run the registered item matchers in the caller's transaction; the new findings' ids."""
    if not items:
        return []
    _builtins()
    new: list[int] = []
    for matcher in list(item_matchers):
        new.extend(matcher(session, settings, items))
    return new


def person_forgotten(db: Database, event: PersonForgotten) -> None:
    _builtins()
    for hook in list(on_forget):
        hook(db, event)
