"""The evidence side of the hooks in `haechi.hooks` (registered there, in `BUILTIN_HOOKS`): a
new finding preserves its item in the vault. (A forget writes its own custody entry, in the
transaction that erases her.)"""

from __future__ import annotations

import logging

from sqlalchemy import select

from haechi import hooks
from haechi.errors import HaechiError
from haechi.evidence.capture import capture_item
from haechi.evidence.context import actor_name
from haechi.store.db import Database
from haechi.store.findings import Finding

log = logging.getLogger("haechi.evidence")


def capture_findings(db: Database, event: hooks.FindingsCreated) -> None:
    """Preserve each item a new finding points at. An item whose bytes are no longer readable
    is reported and skipped: the finding stands, and `haechi evidence capture` can retry."""
    settings = db.settings
    if not settings.vault.capture_findings:
        return
    with db.session() as s:
        rows = s.execute(
            select(Finding.id, Finding.item_sha256, Finding.kind).where(
                Finding.id.in_(event.finding_ids)
            )
        ).all()
    actor = actor_name(settings)
    for fid, sha, kind in sorted(rows):
        try:
            capture_item(
                db,
                settings,
                sha,
                actor,
                reason=f"finding {fid} ({kind})",
                content=event.contents.get(sha),
            )
        except HaechiError as exc:
            log.warning("finding %s: item %s not preserved: %s", fid, sha[:12], exc)
