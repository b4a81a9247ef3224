"""The append-only, hash-chained custody log: who did what to which evidence, and when.
Nothing here ever rewrites an entry; redaction clears stored details only (see below).

Every entry commits to its predecessor::

    details_hash = SHA-256(canonical_json(details))
    entry_hash   = SHA-256(canonical_json(["haechi-custody/1", seq, at, actor, action,
                                           object, details_hash, prev_hash]))

``canonical_json`` = UTF-8 JSON, keys sorted, no whitespace, no NaN/Infinity;
``at`` = UTC ISO-8601 with microseconds and a ``Z`` suffix; the first entry's
``prev_hash`` is 64 zeros.  The newest ``seq`` and ``entry_hash`` are also kept
in the one-row ``custody_head`` table (and, if the caller wants, in a head file
kept elsewhere / an RFC 3161 token, see ``tsa.py``) so that deleting the newest
entries is detected.

Because ``entry_hash`` covers ``details_hash`` and not ``details``, the stored
details of an entry can later be *redacted* (set to NULL) for a person's
erasure request without breaking the chain; ``verify`` reports redactions and
flags any that no ``forgotten`` entry accounts for.

What the chain can and cannot prove: anybody with write access to the database
can rewrite the *whole* chain and the head row consistently (there is no secret
in a hash chain).  That is only detected against an anchor kept elsewhere: a
head file on other media, a head hash given to police/lawyer, or an RFC 3161
timestamp token.  Export an anchor after important events.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from haechi.errors import IntegrityError
from haechi.private import create_private
from haechi.store.evidence_models import CustodyHead, CustodyLogEntry

if TYPE_CHECKING:
    from haechi.store.vault import Vault

__all__ = [
    "GENESIS_HASH",
    "CustodyAction",
    "CustodyError",
    "CustodyEvent",
    "CustodyHead",
    "CustodyLogEntry",
    "CustodyRecord",
    "HeadAnchor",
    "Problem",
    "ProblemKind",
    "VerifyReport",
    "append",
    "canonical_json",
    "compute_entry_hash",
    "current_anchor",
    "details_hash",
    "entries",
    "read_head_file",
    "record_json",
    "redact_details",
    "verify",
    "write_head_file",
]

JSONValue: TypeAlias = (
    str | int | float | bool | Sequence["JSONValue"] | Mapping[str, "JSONValue"] | None
)

GENESIS_HASH: Final = "0" * 64
HASH_VERSION: Final = "haechi-custody/1"
HEAD_ROW_ID: Final = 1
# Key of the PostgreSQL transaction-level advisory lock serialising writers:
# first 8 bytes of SHA-256("haechi.custody_log"), as a signed bigint.
ADVISORY_LOCK_KEY: Final = int.from_bytes(
    hashlib.sha256(b"haechi.custody_log").digest()[:8], "big", signed=True
)
_OBJECT_RE: Final = re.compile(r"^[a-z][a-z0-9_]*:[A-Za-z0-9._~:@/+=-]{1,250}$")
_ITEM_RE: Final = re.compile(r"^item:([0-9a-f]{64})$")
_HEX64_RE: Final = re.compile(r"^[0-9a-f]{64}$")


class CustodyError(IntegrityError):
    """The log cannot be appended to (it is inconsistent with its head record)."""


class CustodyAction(StrEnum):
    CAPTURED = "captured"
    IMPORTED = "imported"
    ANALYSED = "analysed"
    VIEWED = "viewed"
    ANNOTATED = "annotated"
    EXPORTED = "exported"
    SHARED = "shared"
    REPORTED = "reported"
    VERIFIED = "verified"
    TIMESTAMPED = "timestamped"
    DELETED = "deleted"
    FORGOTTEN = "forgotten"
    ENROLLED = "enrolled"  # templates or own-media hashes added to a person (counts only)
    CASE = "case"  # a case opened or changed (free text only by its SHA-256)
    KEY_ROTATED = "key_rotated"


# --------------------------------------------------------------------------- hashing
def canonical_json(value: object) -> bytes:
    """Deterministic JSON bytes (sorted keys, no whitespace, UTF-8, finite numbers)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def details_hash(details: object) -> str:
    return hashlib.sha256(canonical_json(details)).hexdigest()


def _utc(at: datetime) -> datetime:
    # SQLite hands back naive datetimes: everything stored here is UTC.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def format_time(at: datetime) -> str:
    return _utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compute_entry_hash(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    object_ref: str,
    details_hash_hex: str,
    prev_hash: str,
) -> str:
    payload = [
        HASH_VERSION,
        seq,
        format_time(at),
        actor,
        action,
        object_ref,
        details_hash_hex,
        prev_hash,
    ]
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def _row_hash(row: CustodyLogEntry, seq: int | None = None) -> str:
    return compute_entry_hash(
        row.seq if seq is None else seq,
        row.at,
        row.actor,
        row.action,
        row.object_ref,
        row.details_hash,
        row.prev_hash,
    )


def _check_json(value: object, path: str = "details") -> None:
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path}: NaN/Infinity cannot be hashed canonically")
        return
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_json(v, f"{path}[{i}]")
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{path}: keys must be strings, got {k!r}")
            _check_json(v, f"{path}.{k}")
        return
    raise ValueError(f"{path}: {type(value).__name__} is not JSON")


# --------------------------------------------------------------------------- input / output
@dataclass(frozen=True)
class CustodyEvent:
    """What happened; ``append`` adds seq, time and the hashes.

    ``object``: ``item:<sha256>`` (the blob's plaintext SHA-256 for ``captured``),
    ``case:<id>``, ``person:<opaque id>`` ...  Never put names or other personal
    data in ``object`` or ``actor``: those cannot be redacted later.
    ``forgotten`` events must carry no details (the log is permanent).
    """

    actor: str
    action: CustodyAction
    object: str
    details: Mapping[str, JSONValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.action, CustodyAction):
            raise ValueError(f"unknown custody action {self.action!r}")
        if not self.actor or len(self.actor) > 200:
            raise ValueError("actor must be 1..200 characters")
        if not _OBJECT_RE.match(self.object):
            raise ValueError(f"object must look like 'kind:id', got {self.object!r}")
        if self.action is CustodyAction.CAPTURED and not _ITEM_RE.match(self.object):
            raise ValueError("captured events need object 'item:<sha256 of the blob>'")
        if self.action is CustodyAction.FORGOTTEN and self.details:
            raise ValueError(
                "forgotten events must not carry details: they would keep personal data "
                "in the permanent log"
            )
        _check_json(dict(self.details))


@dataclass(frozen=True)
class CustodyRecord:
    seq: int
    at: datetime
    actor: str
    action: str
    object: str
    details: Any
    details_hash: str
    prev_hash: str
    entry_hash: str

    @classmethod
    def from_row(cls, row: CustodyLogEntry) -> CustodyRecord:
        return cls(
            row.seq,
            _utc(row.at),
            row.actor,
            row.action,
            row.object_ref,
            row.details,
            row.details_hash,
            row.prev_hash,
            row.entry_hash,
        )


@dataclass(frozen=True)
class HeadAnchor:
    """A copy of the chain head kept somewhere else (file, TSA token, printout)."""

    seq: int
    head_hash: str
    source: str = "anchor"

    def to_json(self) -> str:
        return (
            json.dumps(
                {
                    "format": "haechi-custody-head",
                    "version": 1,
                    "seq": self.seq,
                    "head_hash": self.head_hash,
                },
                indent=2,
            )
            + "\n"
        )


# --------------------------------------------------------------------------- writing
def _acquire_writer_lock(session: Session) -> None:
    """Serialise appenders for the rest of the current transaction.

    The chain is a strict sequence: two writers reading the same head would both
    write ``seq = n+1`` with the same ``prev_hash``.  ``seq`` is the primary key
    so one would fail, but we prefer waiting to failing, so we take the write
    lock *before* reading the head:

    * PostgreSQL: ``pg_advisory_xact_lock`` (released at COMMIT/ROLLBACK).  It
      also covers the very first append, when there is no head row yet to lock
      with ``SELECT ... FOR UPDATE``.
    * SQLite: ``BEGIN IMMEDIATE`` takes the database write lock up front.  A
      deferred transaction would read under a shared lock and then fail with
      SQLITE_BUSY when upgrading, whatever the busy timeout.  If the caller's
      transaction is already open at the driver level (it wrote something),
      it already holds the write lock; a no-op UPDATE of the head row makes sure.
    * anything else: ``SELECT ... FOR UPDATE`` of the head row.
    """
    conn = session.connection()
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
    elif dialect == "sqlite":
        dbapi_conn = conn.connection.dbapi_connection
        if dbapi_conn is not None and not getattr(dbapi_conn, "in_transaction", True):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.execute(
                update(CustodyHead)
                .where(CustodyHead.id == HEAD_ROW_ID)
                .values(last_seq=CustodyHead.last_seq)
            )
    else:
        conn.execute(select(CustodyHead.id).where(CustodyHead.id == HEAD_ROW_ID).with_for_update())


def _now() -> datetime:
    return datetime.now(UTC)


def append(session: Session, event: CustodyEvent, *, at: datetime | None = None) -> CustodyRecord:
    """Append one event; flushes but does NOT commit (commit it together with
    whatever it records, so both land or neither does).  The writer lock is
    held until the caller's COMMIT/ROLLBACK: keep that transaction short.
    """
    _acquire_writer_lock(session)
    head = session.execute(
        select(CustodyHead)
        .where(CustodyHead.id == HEAD_ROW_ID)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    last = session.execute(
        select(CustodyLogEntry.seq, CustodyLogEntry.entry_hash)
        .order_by(CustodyLogEntry.seq.desc())
        .limit(1)
    ).one_or_none()
    head_seq, head_hash = (head.last_seq, head.head_hash) if head else (0, GENESIS_HASH)
    last_seq, last_hash = (last[0], last[1]) if last else (0, GENESIS_HASH)
    if (head_seq, head_hash) != (last_seq, last_hash):
        raise CustodyError(
            f"custody log is inconsistent with its head record (log ends at seq {last_seq}, "
            f"head says seq {head_seq}); run custody.verify() and investigate before appending"
        )
    seq = head_seq + 1
    when = _utc(at if at is not None else _now())
    is_forgotten = event.action is CustodyAction.FORGOTTEN
    stored_details: dict[str, JSONValue] | None = None if is_forgotten else dict(event.details)
    dh = details_hash(dict(event.details))
    eh = compute_entry_hash(seq, when, event.actor, event.action.value, event.object, dh, head_hash)
    row = CustodyLogEntry(
        seq=seq,
        at=when,
        actor=event.actor,
        action=event.action.value,
        object_ref=event.object,
        details=stored_details,
        details_hash=dh,
        prev_hash=head_hash,
        entry_hash=eh,
    )
    session.add(row)
    if head is None:
        session.add(CustodyHead(id=HEAD_ROW_ID, last_seq=seq, head_hash=eh, updated_at=when))
    else:
        head.last_seq, head.head_hash, head.updated_at = seq, eh, when
    session.flush()
    return CustodyRecord.from_row(row)


def redact_details(session: Session, object_ref: str, actor: str) -> int:
    """Erase the stored details of every entry about ``object_ref`` (e.g.
    ``person:<id>``) and log a ``forgotten`` event.  The chain still verifies:
    ``entry_hash`` covers ``details_hash`` only.  Does not commit.  Returns the
    number of entries redacted.
    """
    event = CustodyEvent(actor=actor, action=CustodyAction.FORGOTTEN, object=object_ref)
    _acquire_writer_lock(session)
    rows = session.scalars(
        select(CustodyLogEntry).where(CustodyLogEntry.object_ref == object_ref)
    ).all()
    n = 0
    for row in rows:
        if row.details is not None:
            row.details = None
            n += 1
    session.flush()
    append(session, event)
    return n


# --------------------------------------------------------------------------- anchors
def current_anchor(session: Session) -> HeadAnchor | None:
    head = session.get(CustodyHead, HEAD_ROW_ID)
    return None if head is None else HeadAnchor(head.last_seq, head.head_hash, "custody_head")


def write_head_file(session: Session, path: str | Path) -> HeadAnchor:
    """Write the current head (seq + hash) to a small JSON file to keep elsewhere."""
    cur = current_anchor(session) or HeadAnchor(0, GENESIS_HASH)
    anchor = HeadAnchor(cur.seq, cur.head_hash, f"head file {path}")
    _write_text_durably(Path(path), anchor.to_json())
    return anchor


def _write_text_durably(path: Path, content: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    with os.fdopen(create_private(tmp), "w", encoding="utf-8") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def read_head_file(path: str | Path) -> HeadAnchor:
    data = json.loads(Path(path).read_text("utf-8"))
    if data.get("format") != "haechi-custody-head":
        raise ValueError(f"{path} is not a custody head file")
    seq, head_hash = data["seq"], data["head_hash"]
    if not isinstance(seq, int) or not isinstance(head_hash, str) or not _HEX64_RE.match(head_hash):
        raise ValueError(f"{path}: malformed head file")
    return HeadAnchor(seq, head_hash, f"head file {path}")


# --------------------------------------------------------------------------- verification
class ProblemKind(StrEnum):
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
    kind: ProblemKind
    message: str
    seq: int | None = None
    blob: str | None = None

    def __str__(self) -> str:
        return f"[{self.kind.value}] {self.message}"


@dataclass
class VerifyReport:
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
        return not self.problems

    def kinds(self) -> set[ProblemKind]:
        return {p.kind for p in self.problems}

    @property
    def fully_anchored(self) -> bool:
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
        def t(d: datetime | None) -> str:
            return "-" if d is None else _utc(d).strftime("%Y-%m-%d %H:%M:%S.%f UTC")

        lines = [
            f"haechi custody log verification: {self.verdict()}",
            f"  checked at:        {t(_now())}",
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


def _candidate_seqs(seq: int, others: Iterable[int], max_seq: int) -> list[int]:
    near = [s for s in range(seq - 3, seq + 4) if s != seq and 1 <= s <= max_seq + 3]
    return near + [s for s in others if s != seq and s not in near]


def verify(
    session: Session,
    vault: Vault | None = None,
    *,
    anchors: Sequence[HeadAnchor] = (),
) -> VerifyReport:
    """Walk the chain (and the blobs of ``captured`` entries) and name what is wrong."""
    rows = list(session.scalars(select(CustodyLogEntry).order_by(CustodyLogEntry.seq)))
    head = session.get(CustodyHead, HEAD_ROW_ID)
    rep = VerifyReport(entries=len(rows))
    problems = rep.problems
    if rows:
        rep.first_seq, rep.last_seq = rows[0].seq, rows[-1].seq
        rep.first_at, rep.last_at = _utc(rows[0].at), _utc(rows[-1].at)
        rep.head_hash = rows[-1].entry_hash
    if head is not None:
        rep.head_record = HeadAnchor(head.last_seq, head.head_hash, "custody_head")
    by_seq = {r.seq: r for r in rows}
    by_hash = {r.entry_hash: r for r in rows}
    max_seq = rows[-1].seq if rows else 0

    # --- pass 1: every entry on its own --------------------------------------
    self_ok: dict[int, bool] = {}
    for r in rows:
        self_ok[r.seq] = _row_hash(r) == r.entry_hash
    bad = [s for s, ok in self_ok.items() if not ok]
    moved: dict[int, int] = {}  # stored seq -> seq it was written with
    for s in bad:
        r = by_seq[s]
        others = bad if len(bad) <= 200 else []
        for cand in _candidate_seqs(s, others, max_seq):
            if _row_hash(r, cand) == r.entry_hash:
                moved[s] = cand
                break
    explained: set[int] = set()
    forgotten_objects = {r.object_ref: r.seq for r in rows if r.action == CustodyAction.FORGOTTEN}

    # insertion with renumbering: entries k+1.. were written as k.., entry k is new
    shifted_up = sorted(s for s, o in moved.items() if o == s - 1)
    if shifted_up:
        k = shifted_up[0] - 1
        run = [s for s in shifted_up if s - shifted_up[0] == shifted_up.index(s)]
        forged = by_seq.get(k)
        if forged is not None and self_ok.get(k) and k not in moved:
            displaced = by_seq[shifted_up[0]]
            before = by_seq.get(k - 1)
            chains_past = displaced.prev_hash == (before.entry_hash if before else GENESIS_HASH)
            problems.append(
                Problem(
                    ProblemKind.ENTRY_INSERTED,
                    f"entry {k} was inserted (forged): the {len(run)} entries after it were "
                    f"renumbered +1"
                    + (
                        f", and entry {k + 1} (written as {k}) chains to entry {k - 1}, not to {k}"
                        if chains_past
                        else ""
                    ),
                    seq=k,
                )
            )
            explained.update(run)
            explained.add(k)
    # deletion with renumbering: entries k.. were written as k+1..
    shifted_down = sorted(s for s, o in moved.items() if o == s + 1 and s not in explained)
    if shifted_down and shifted_down[-1] == max_seq and (shifted_down[0] - 1) not in moved:
        k = shifted_down[0]
        run = [s for s in shifted_down if s >= k]
        if len(run) == max_seq - k + 1:
            problems.append(
                Problem(
                    ProblemKind.ENTRY_DELETED,
                    f"entry {k} was deleted and the {len(run)} entries after it renumbered -1",
                    seq=k,
                )
            )
            explained.update(run)
    # swaps / other moves
    for s in sorted(moved):
        if s in explained:
            continue
        o = moved[s]
        if moved.get(o) == s and o not in explained:
            a, b = sorted((s, o))
            problems.append(
                Problem(
                    ProblemKind.ENTRIES_REORDERED,
                    f"entries {a} and {b} were reordered (their seq numbers were swapped)",
                    seq=a,
                )
            )
            explained.update((a, b))
        else:
            problems.append(
                Problem(
                    ProblemKind.ENTRIES_REORDERED,
                    f"entry stored at seq {s} was written as seq {o} (entries reordered)",
                    seq=s,
                )
            )
            explained.add(s)
    for s in bad:
        if s not in moved:
            problems.append(
                Problem(
                    ProblemKind.ENTRY_ALTERED,
                    f"entry {s} was altered: its fields no longer match its entry_hash "
                    f"(action={by_seq[s].action!r}, actor={by_seq[s].actor!r})",
                    seq=s,
                )
            )
            explained.add(s)
    for r in rows:
        if r.details is None:
            if r.action == CustodyAction.FORGOTTEN:
                continue
            f_seq = forgotten_objects.get(r.object_ref)
            if f_seq is not None and f_seq > r.seq:
                rep.notes.append(f"entry {r.seq}: details redacted (forgotten at entry {f_seq})")
            else:
                problems.append(
                    Problem(
                        ProblemKind.DETAILS_REMOVED,
                        f"entry {r.seq}: details were removed but no later 'forgotten' entry "
                        f"accounts for it",
                        seq=r.seq,
                    )
                )
        elif details_hash(r.details) != r.details_hash:
            problems.append(
                Problem(
                    ProblemKind.ENTRY_ALTERED,
                    f"entry {r.seq} was altered: its details no longer match details_hash",
                    seq=r.seq,
                )
            )

    # --- pass 2: the links between entries -------------------------------------
    prev: CustodyLogEntry | None = None
    for r in rows:
        expected_seq = 1 if prev is None else prev.seq + 1
        if r.seq != expected_seq:
            if r.seq > expected_seq:
                missing = (
                    f"entry {expected_seq}"
                    if r.seq - expected_seq == 1
                    else f"entries {expected_seq}..{r.seq - 1}"
                )
                problems.append(
                    Problem(
                        ProblemKind.ENTRY_DELETED,
                        f"{missing} deleted (gap in seq before entry {r.seq})",
                        seq=expected_seq,
                    )
                )
        else:
            want = prev.entry_hash if prev is not None else GENESIS_HASH
            if (
                r.prev_hash != want
                and r.seq not in explained
                and (prev is None or prev.seq not in explained)
            ):
                target = by_hash.get(r.prev_hash)
                if prev is not None and target is not None and target.seq == prev.seq - 1:
                    msg = (
                        f"chain break at entry {r.seq}: it chains to entry {target.seq}, "
                        f"so entry {prev.seq} was inserted (forged) or replaced"
                    )
                    kind = ProblemKind.ENTRY_INSERTED
                elif prev is not None:
                    msg = (
                        f"chain break at entry {r.seq}: its prev_hash does not match entry "
                        f"{prev.seq}, so entry {prev.seq} was replaced or forged "
                        f"(hash recomputed) or an entry was inserted"
                    )
                    kind = ProblemKind.CHAIN_BREAK
                else:
                    msg = "chain break at entry 1: it does not start from the genesis hash"
                    kind = ProblemKind.CHAIN_BREAK
                problems.append(Problem(kind, msg, seq=r.seq))
        prev = r

    # --- pass 3: head record and external anchors -----------------------------
    if head is None:
        if rows:
            problems.append(Problem(ProblemKind.HEAD_MISSING, "the custody_head record is missing"))
    else:
        _check_anchor(
            rep,
            HeadAnchor(head.last_seq, head.head_hash, "custody_head"),
            by_seq,
            by_hash,
            max_seq,
            explained,
            is_head=True,
        )
    for anchor in anchors:
        n_problems = len(problems)
        _check_anchor(rep, anchor, by_seq, by_hash, max_seq, explained, is_head=False)
        if len(problems) == n_problems and anchor.seq > 0:
            rep.anchored_seq = max(rep.anchored_seq, anchor.seq)

    # --- pass 4: evidence blobs ------------------------------------------------
    if vault is not None:
        _check_blobs(rep, rows, vault, forgotten_objects)
    elif any(r.action == CustodyAction.CAPTURED for r in rows):
        rep.notes.append("blobs not checked (no vault given)")
    problems.sort(key=lambda p: (p.seq is None, p.seq or 0, p.kind.value))
    return rep


def _check_anchor(
    rep: VerifyReport,
    anchor: HeadAnchor,
    by_seq: Mapping[int, CustodyLogEntry],
    by_hash: Mapping[str, CustodyLogEntry],
    max_seq: int,
    explained: set[int],
    *,
    is_head: bool,
) -> None:
    src = anchor.source
    kind_mismatch = ProblemKind.HEAD_MISMATCH if is_head else ProblemKind.ANCHOR_MISMATCH
    found = by_hash.get(anchor.head_hash)
    if not is_head:
        rep.anchors_checked.append(f"{src}: seq {anchor.seq}, {anchor.head_hash}")
    if anchor.seq == 0 and anchor.head_hash == GENESIS_HASH:
        return
    if found is not None and found.seq != anchor.seq:
        if found.seq in explained:
            return  # renumbering already reported
        rep.problems.append(
            Problem(
                kind_mismatch,
                f"{src} names entry {anchor.seq} but that hash is stored at seq {found.seq}",
                seq=found.seq,
            )
        )
        return
    if max_seq < anchor.seq:
        first_missing = max_seq + 1
        rng = (
            f"entry {anchor.seq}"
            if first_missing == anchor.seq
            else f"entries {first_missing}..{anchor.seq}"
        )
        rep.problems.append(
            Problem(
                ProblemKind.LOG_TRUNCATED,
                f"log truncated: it ends at seq {max_seq} but {src} records seq {anchor.seq} "
                f"({rng} removed)",
                seq=first_missing,
            )
        )
        return
    row = by_seq.get(anchor.seq)
    if row is not None and row.entry_hash != anchor.head_hash:
        if anchor.seq in explained:
            return
        rep.problems.append(
            Problem(
                kind_mismatch,
                f"entry {anchor.seq} does not match the hash in {src}: it was replaced or the "
                "log was rewritten from there on",
                seq=anchor.seq,
            )
        )
        return
    if is_head and max_seq > anchor.seq:
        rng = (
            f"entry {max_seq}"
            if max_seq == anchor.seq + 1
            else f"entries {anchor.seq + 1}..{max_seq}"
        )
        rep.problems.append(
            Problem(
                ProblemKind.ENTRY_INSERTED,
                f"{rng} appended without going through the custody writer "
                f"(the head record ends at seq {anchor.seq})",
                seq=anchor.seq + 1,
            )
        )


def _check_blobs(
    rep: VerifyReport,
    rows: Sequence[CustodyLogEntry],
    vault: Vault,
    forgotten_objects: Mapping[str, int],
) -> None:
    kinds = {
        "missing": ProblemKind.BLOB_MISSING,
        "swapped": ProblemKind.BLOB_SWAPPED,
    }
    seen: set[str] = set()
    last_capture = {r.object_ref: r.seq for r in rows if r.action == CustodyAction.CAPTURED}
    deleted = {r.object_ref: r.seq for r in rows if r.action == CustodyAction.DELETED}
    for r in rows:
        if r.action != CustodyAction.CAPTURED:
            continue
        m = _ITEM_RE.match(r.object_ref)
        if m is None or m.group(1) in seen:
            continue
        sha = m.group(1)
        seen.add(sha)
        f_seq = forgotten_objects.get(r.object_ref)
        if f_seq is not None and f_seq > r.seq and not vault.has(sha):
            rep.notes.append(f"blob {sha}: deleted on purpose (forgotten at entry {f_seq})")
            continue
        d_seq = deleted.get(r.object_ref)
        if d_seq is not None and d_seq > last_capture[r.object_ref]:
            rep.deletions_logged += 1
            if not vault.has(sha):
                rep.notes.append(f"blob {sha}: deleted on record (entry {d_seq})")
                continue
            rep.notes.append(
                f"blob {sha}: its deletion was logged (entry {d_seq}) but the file is still "
                "in the vault (the deletion was interrupted); it is checked below"
            )
        rep.blobs_checked += 1
        found = vault.verify_blob(sha)
        if not found:
            rep.blobs_intact += 1
        for bp in found:
            rep.problems.append(
                Problem(
                    kinds.get(bp.kind, ProblemKind.BLOB_ALTERED),
                    f"{bp.message} (captured at entry {r.seq})",
                    seq=r.seq,
                    blob=sha,
                )
            )


def entries(
    session: Session,
    *,
    objects: Iterable[str] | None = None,
    actions: Iterable[str] | None = None,
    after_seq: int = 0,
    limit: int | None = None,
) -> list[CustodyRecord]:
    """Entries in seq order, optionally only those about some objects or of some actions."""
    q = select(CustodyLogEntry).where(CustodyLogEntry.seq > after_seq)
    if objects is not None:
        q = q.where(CustodyLogEntry.object_ref.in_(list(objects)))
    if actions is not None:
        q = q.where(CustodyLogEntry.action.in_(list(actions)))
    q = q.order_by(CustodyLogEntry.seq)
    if limit is not None:
        q = q.limit(limit)
    return [CustodyRecord.from_row(r) for r in session.scalars(q)]


def record_json(rec: CustodyRecord) -> dict[str, Any]:
    """One entry as investigators get it (custody.jsonl lines): every hashed field, so each
    entry hash can be recomputed from the line alone."""
    return {
        "seq": rec.seq,
        "at": format_time(rec.at),
        "actor": rec.actor,
        "action": rec.action,
        "object": rec.object,
        "details": rec.details,
        "details_hash": rec.details_hash,
        "prev_hash": rec.prev_hash,
        "entry_hash": rec.entry_hash,
    }
