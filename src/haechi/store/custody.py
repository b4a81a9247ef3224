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
flags any that no ``forgotten`` entry accounts for (``custody_verify.py`` walks the chain).

What the chain can and cannot prove: anybody with write access to the database
can rewrite the *whole* chain and the head row consistently (there is no secret
in a hash chain).  That is only detected against an anchor kept elsewhere: a
head file on other media, a head hash given to police/lawyer, or an RFC 3161
timestamp token.  Export an anchor after important events.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, TypeAlias

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from haechi.errors import IntegrityError
from haechi.i18n import _
from haechi.store.custody_anchor import (
    HEAD_ROW_ID,
)
from haechi.store.custody_hash import (
    GENESIS_HASH,
    as_utc,
    check_json,
    compute_entry_hash,
    details_hash,
    format_time,
)
from haechi.store.evidence_models import CustodyHead, CustodyLogEntry

__all__ = [
    "CustodyAction",
    "CustodyError",
    "CustodyEvent",
    "CustodyHead",
    "CustodyLogEntry",
    "CustodyRecord",
    "append",
    "entries",
    "record_json",
    "redact_details",
]

JSONValue: TypeAlias = (
    str | int | float | bool | Sequence["JSONValue"] | Mapping[str, "JSONValue"] | None
)

# Key of the PostgreSQL transaction-level advisory lock serialising writers:
# first 8 bytes of SHA-256("haechi.custody_log"), as a signed bigint.
ADVISORY_LOCK_KEY: Final = int.from_bytes(
    hashlib.sha256(b"haechi.custody_log").digest()[:8], "big", signed=True
)
_OBJECT_RE: Final = re.compile(r"^[a-z][a-z0-9_]*:[A-Za-z0-9._~:@/+=-]{1,250}$")
ITEM_REF_RE: Final = re.compile(r"^item:([0-9a-f]{64})$")


class CustodyError(IntegrityError):
    """The log cannot be appended to (it is inconsistent with its head record)."""


class CustodyAction(StrEnum):
    """What was done to the object: the action names stored in the log (stable: the hash covers
    them)."""

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
    BANKED = "banked"  # hashes added to or removed from a hash bank (hashes only)
    DERIVED = "derived"  # a picture made from preserved items (a face-changed pair's difference)


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
        if self.action is CustodyAction.CAPTURED and not ITEM_REF_RE.match(self.object):
            raise ValueError("captured events need object 'item:<sha256 of the blob>'")
        if self.action is CustodyAction.FORGOTTEN and self.details:
            raise ValueError(
                "forgotten events must not carry details: they would keep personal data "
                "in the permanent log"
            )
        check_json(dict(self.details))


@dataclass(frozen=True)
class CustodyRecord:
    """One stored entry as read back, details included unless redacted (None)."""

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
        """The record of a stored row, its time as aware UTC."""
        return cls(
            row.seq,
            as_utc(row.at),
            row.actor,
            row.action,
            row.object_ref,
            row.details,
            row.details_hash,
            row.prev_hash,
            row.entry_hash,
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


def now_utc() -> datetime:
    """The current time as aware UTC, as entries are stamped."""
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
            _(
                "custody log is inconsistent with its head record (log ends "
                "at seq {last_seq}, head says seq {head_seq}); run "
                "custody.verify() and investigate before appending"
            ).format(last_seq=last_seq, head_seq=head_seq)
        )
    seq = head_seq + 1
    when = as_utc(at if at is not None else now_utc())
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
