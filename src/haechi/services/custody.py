"""The custody log as people read it (the web app's custody and audit pages), and the same
integrity check as `haechi evidence verify`. Nothing here writes to the log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from haechi.config import Settings
from haechi.evidence.verify import verify_evidence
from haechi.store.custody import CustodyAction, entries
from haechi.store.custody_hash import as_utc
from haechi.store.custody_problems import VerifyReport
from haechi.store.db import Database
from haechi.store.notes import open_details


@dataclass(frozen=True)
class LogLine:
    """One custody log entry as a person reads it; `details` has its sealed notes opened when
    the vault can be opened, else left sealed."""

    seq: int
    at: datetime
    actor: str
    action: str
    object: str
    details: Any  # sealed notes opened when the vault can be opened, else shown sealed
    entry_hash: str

    def to_json(self) -> dict[str, Any]:
        """The entry as the API carries it (time in ISO 8601)."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "object": self.object,
            "details": self.details,
            "entry_hash": self.entry_hash,
        }


def _vault(settings: Settings) -> Any:
    from haechi.evidence.context import open_vault, vault_exists
    from haechi.store.vault import VaultError

    if not vault_exists(settings):
        return None
    try:
        return open_vault(settings)
    except VaultError:
        return None  # sealed notes stay sealed; the entries themselves are still shown


def custody_lines(
    db: Database, settings: Settings, *, action: str | None = None, newest_first: bool = True
) -> list[LogLine]:
    """Every entry (or those of one action), newest first for reading on a screen."""
    vault = _vault(settings)
    with db.session() as s:
        rows = entries(s, actions=[action] if action else None)
        lines = [
            LogLine(
                r.seq,
                as_utc(r.at),
                r.actor,
                r.action,
                r.object,
                open_details(s, vault, r.details),
                r.entry_hash,
            )
            for r in rows
        ]
    return lines[::-1] if newest_first else lines


def reveals(db: Database, settings: Settings) -> list[LogLine]:
    """Every look at media without the blur: who revealed which item, when."""
    return [
        line
        for line in custody_lines(db, settings, action=CustodyAction.VIEWED.value)
        if isinstance(line.details, dict) and line.details.get("mode") == "unblurred"
    ]


def verify(settings: Settings) -> VerifyReport:
    """`haechi evidence verify` without head files: read-only, creates nothing."""
    return verify_evidence(settings, [])
