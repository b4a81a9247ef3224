"""What a custody verification reports: each problem with its kind (altered, deleted, reordered,
inserted entries; a truncated log; missing or swapped blobs...), and the report's verdict for
people."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from haechi.store.custody import now_utc
from haechi.store.custody_anchor import HeadAnchor
from haechi.store.custody_hash import HASH_VERSION, as_utc


class ProblemKind(StrEnum):
    """What is wrong, as a stable machine name (in --json and the verify report)."""

    ENTRY_ALTERED = "entry_altered"
    ENTRY_DELETED = "entry_deleted"
    ENTRIES_REORDERED = "entries_reordered"
    ENTRY_INSERTED = "entry_inserted"
    CHAIN_BREAK = "chain_break"
    LOG_TRUNCATED = "log_truncated"
    HEAD_MISMATCH = "head_mismatch"
    HEAD_MISSING = "head_missing"
    ANCHOR_MISMATCH = "anchor_mismatch"
    DETAILS_REMOVED = "details_removed"
    BLOB_MISSING = "blob_missing"
    BLOB_ALTERED = "blob_altered"
    BLOB_SWAPPED = "blob_swapped"
    # Found by haechi.evidence.verify, which checks the database and the vault around the log.
    DATABASE_MISSING = "database_missing"
    DATABASE_DAMAGED = "database_damaged"
    LOG_MISSING = "log_missing"
    VAULT_MISSING = "vault_missing"
    BLOB_UNLOGGED = "blob_unlogged"
    EVIDENCE_UNLOGGED = "evidence_unlogged"
    EVIDENCE_ROW_MISSING = "evidence_row_missing"


@dataclass(frozen=True)
class Problem:
    """One problem found, with the entry (seq) or blob it concerns when there is one."""

    kind: ProblemKind
    message: str
    seq: int | None = None
    blob: str | None = None

    def __str__(self) -> str:
        return f"[{self.kind.value}] {self.message}"


@dataclass
class VerifyReport:
    """Everything one verification checked and found: counts, the head and anchors checked, notes
    and problems."""

    entries: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    first_at: datetime | None = None
    last_at: datetime | None = None
    head_hash: str | None = None
    head_record: HeadAnchor | None = None
    anchors_checked: list[str] = field(default_factory=list)
    blobs_checked: int = 0
    blobs_intact: int = 0
    # Blobs in the vault that no capture entry records (checked all the same).
    blobs_unlogged: int = 0
    # Blobs whose deletion the log records (forget --delete-evidence, evidence delete).
    deletions_logged: int = 0
    # The highest seq an external anchor (head file, timestamp token) vouched for; 0: none.
    anchored_seq: int = 0
    database: str | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found (the verdict says how far that can be trusted)."""
        return not self.problems

    def kinds(self) -> set[ProblemKind]:
        """The kinds of problem found, for callers that react to some of them."""
        return {p.kind for p in self.problems}

    @property
    def fully_anchored(self) -> bool:
        """Whether an external anchor vouches for the log up to its last entry."""
        return self.anchored_seq > 0 and self.anchored_seq >= (self.last_seq or 0)

    def verdict(self) -> str:
        """One line that says how far the result can be trusted."""
        if not self.ok:
            return f"FAILED ({len(self.problems)} problem(s))"
        if self.fully_anchored:
            return (
                "INTACT, anchored: an external anchor vouches for the log up to seq "
                f"{self.anchored_seq}"
            )
        if self.anchored_seq:
            return (
                f"INTACT; anchored up to seq {self.anchored_seq} only: entries "
                f"{self.anchored_seq + 1}..{self.last_seq} could have been rewritten without trace"
            )
        return (
            "INTACT as far as the database goes; no external anchor was checked: "
            "a rewritten log cannot be detected without one"
        )

    def render(self) -> str:
        """The report as plain text for people (and for an evidence package), verdict first."""

        def t(d: datetime | None) -> str:
            return "-" if d is None else as_utc(d).strftime("%Y-%m-%d %H:%M:%S.%f UTC")

        lines = [
            f"haechi custody log verification: {self.verdict()}",
            f"  checked at:        {t(now_utc())}",
            *([f"  database:          {self.database}"] if self.database else []),
            f"  entries:           {self.entries}"
            + (f" (seq {self.first_seq}..{self.last_seq})" if self.entries else ""),
            f"  first entry:       {t(self.first_at)}",
            f"  last entry:        {t(self.last_at)}",
            f"  head hash:         {self.head_hash or '-'}",
        ]
        if self.head_record is not None:
            lines.append(
                f"  head record:       seq {self.head_record.seq}, {self.head_record.head_hash}"
            )
        for a in self.anchors_checked:
            lines.append(f"  anchor checked:    {a}")
        lines.append(
            f"  blobs checked:     {self.blobs_checked} ({self.blobs_intact} intact)"
            + (f", {self.blobs_unlogged} not in the log" if self.blobs_unlogged else "")
        )
        if self.deletions_logged:
            lines.append(f"  logged deletions:  {self.deletions_logged} blob(s) deleted on record")
        lines.append(f"  hash scheme:       {HASH_VERSION}, SHA-256 chain, canonical JSON")
        lines.extend(f"  note: {n}" for n in self.notes)
        if self.problems:
            lines.append("problems:")
            lines.extend(f"  - {p}" for p in self.problems)
        return "\n".join(lines) + "\n"
