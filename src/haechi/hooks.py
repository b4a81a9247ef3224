"""Call sites for parts built elsewhere, so they plug in without the matchers knowing them.

- `on_finding`: called after new findings are committed (evidence capture into the vault).
- `item_matchers`: run inside a scan batch's transaction for every newly analysed item (hash
  banks); they return the ids of the findings they added, which then reach `on_finding` too.
- `on_forget`: called after a person is erased and the erasure logged (the event carries no
  alias, no template, nothing about who was forgotten).

Each hook receives the database and the event; a failing hook raises (the work it follows is
already committed and is not undone).

The project's own hooks are named in `BUILTIN_HOOKS`, in the order they run, and loaded on
first use; importing a module never registers anything. A plug-in calls `register`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from haechi.config import Settings
    from haechi.matching.findings import ScannedItem
    from haechi.media import Content
    from haechi.store.db import Database


@dataclass(frozen=True)
class FindingsCreated:
    """New findings, committed, and the bytes the scan holds for their items."""

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


HookPoint = Literal["on_finding", "on_forget", "item_matchers"]

# The project's own hooks: (hook point, "module:function"), in the order they run. A new
# finding is preserved in the vault before it joins her cases.
BUILTIN_HOOKS: tuple[tuple[HookPoint, str], ...] = (
    ("on_finding", "haechi.evidence.wiring:capture_findings"),
    ("on_finding", "haechi.evidence.difference:record_difference_pictures"),
    ("on_finding", "haechi.evidence.source_photo:record_source_photos"),
    ("on_finding", "haechi.services.wiring:findings_join_cases"),
    ("item_matchers", "haechi.services.wiring:items_match_banks"),
    ("item_matchers", "haechi.services.wiring:items_match_scenes"),
)
_loaded = False


def register(point: HookPoint, hook: Callable[..., Any]) -> None:
    """Add `hook` to a hook point (once: registering the same function again changes nothing)."""
    hooks: list[Any] = (
        on_finding
        if point == "on_finding"
        else on_forget
        if point == "on_forget"
        else item_matchers
    )
    if hook not in hooks:
        hooks.append(hook)


def _builtins() -> None:
    """Register `BUILTIN_HOOKS` on first use: they import the vault, the cases and the banks,
    which a command that finds nothing need not load."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for point, target in BUILTIN_HOOKS:
        module, _sep, name = target.partition(":")
        register(point, getattr(import_module(module), name))


def findings_created(
    db: Database, ids: Sequence[int], contents: Mapping[str, Content] | None = None
) -> None:
    """Tell the `on_finding` hooks about findings just committed (nothing when there are none)."""
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
    """Tell the `on_forget` hooks that a person was erased (after the erasure is committed)."""
    _builtins()
    for hook in list(on_forget):
        hook(db, event)
