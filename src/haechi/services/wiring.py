"""The services' side of the hooks in `haechi.hooks` (registered there, in `BUILTIN_HOOKS`): new
findings about an enrolled person join her active cases as they are found; every newly scanned
item is matched against the hash banks and against stored pictures of the same scene with
another face."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from haechi import hooks
from haechi.config import Settings
from haechi.evidence.context import actor_name
from haechi.matching.findings import ScannedItem
from haechi.services.cases import join_findings
from haechi.store.db import Database


def findings_join_cases(db: Database, event: hooks.FindingsCreated) -> None:
    """Hook for new findings: those about a person with active cases join those cases,
    recorded as done by the configured actor."""
    join_findings(db, event.finding_ids, actor_name(db.settings))


def items_match_banks(
    session: Session, settings: Settings, items: Sequence[ScannedItem]
) -> list[int]:
    """Hook for newly scanned items: match them against the enabled hash banks inside the
    scan's transaction; returns the ids of new findings."""
    from haechi.matching.banks import record_matches

    return record_matches(
        session, settings, session.get_bind().engine.url.render_as_string(), items
    )


def items_match_scenes(
    session: Session, settings: Settings, items: Sequence[ScannedItem]
) -> list[int]:
    """Same scene, face changed: a new picture and a stored one (matching.manipulation)."""
    from haechi.matching.manipulation import record_face_changes

    return record_face_changes(session, settings, items)
