"""Deleting preserved items on purpose (an erasure request): the vault blob and the
`evidence_items` row go, and a `deleted` custody entry per item says so, by hash only. Verify
then reports a logged deletion, not a missing blob.

The entries are committed before the files are removed: a crash in between leaves a blob whose
deletion is logged (verify notes it; deleting again finishes the job), never a blob gone
without a record. Pictures derived from a deleted item (a face-changed pair's difference
picture, which shows its face region) go with it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from haechi.store.custody import CustodyAction, CustodyEvent, append
from haechi.store.db import Database
from haechi.store.evidence_models import CustodyLogEntry, EvidenceItem
from haechi.store.vault import Vault

WHY = "erasure request"


def delete_preserved(
    db: Database, vault: Vault, shas: Sequence[str], actor: str, why: str = WHY
) -> list[int]:
    """Delete these preserved items from the vault; returns the custody seqs of the entries.
    `why` goes into the log in plain: never a name."""
    seqs: list[int] = []
    with db.session() as s:
        for sha in shas:
            row = s.get(EvidenceItem, sha)
            rec = append(
                s,
                CustodyEvent(
                    actor,
                    CustodyAction.DELETED,
                    f"item:{sha}",
                    {"why": why, "size": row.size if row is not None else None},
                ),
            )
            seqs.append(rec.seq)
            if row is not None:
                s.delete(row)
        derived = _derived_from(s, shas)
        for sha in derived:
            rec = append(
                s,
                CustodyEvent(actor, CustodyAction.DELETED, f"derived:{sha}", {"why": why}),
            )
            seqs.append(rec.seq)
    for sha in [*shas, *derived]:
        vault.delete(sha)
    return seqs


def _derived_from(s: Session, shas: Sequence[str]) -> list[str]:
    """The derived pictures (custody `derived` entries) made from any of `shas`."""
    gone = set(shas)
    out = []
    for obj, details in s.execute(
        select(CustodyLogEntry.object_ref, CustodyLogEntry.details).where(
            CustodyLogEntry.action == CustodyAction.DERIVED
        )
    ):
        if gone & set((details or {}).get("from_items") or ()):
            out.append(obj.removeprefix("derived:"))
    return sorted(set(out))
