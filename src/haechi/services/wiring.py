"""The cases side of the hooks in `haechi.hooks`: new findings about an enrolled person join
her active cases as they are found."""

from __future__ import annotations

from haechi import hooks
from haechi.evidence.context import actor_name
from haechi.services.cases import join_findings
from haechi.store.db import Database


def findings_join_cases(db: Database, event: hooks.FindingsCreated) -> None:
    join_findings(db, event.finding_ids, actor_name(db.settings))


hooks.on_finding.append(findings_join_cases)
