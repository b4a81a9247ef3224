"""Tables of the evidence side: the custody log and its head, RFC 3161 tokens over the head,
the items preserved in the vault, and the keys of the log's sealed free-text notes. Imported
by `haechi.store.models` so one metadata holds every table.

The custody tables are written only through `haechi.store.custody.append`; nothing else may
update or delete their rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from haechi.store.models import Base, utcnow


class CustodyLogEntry(Base):
    """One row: one entry of the hash-chained custody log; `entry_hash` covers its fields,
    `details_hash` (not the details) and `prev_hash`, so details may be redacted without breaking
    the chain."""

    __tablename__ = "custody_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32), index=True)
    object_ref: Mapped[str] = mapped_column("object", String(300), index=True)
    # NULL once redacted (a person was forgotten); the entry hash covers details_hash only.
    details: Mapped[Any | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    details_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class CustodyHead(Base):
    """One row (id=1): the newest seq and entry hash, updated with every append, so that
    removing the newest entries shows."""

    __tablename__ = "custody_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CustodyTimestamp(Base):
    """A stored RFC 3161 token over the custody head hash at `seq`."""

    __tablename__ = "custody_timestamp"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    tsa_url: Mapped[str] = mapped_column(String(500))
    gen_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    serial: Mapped[str] = mapped_column(String(80))
    policy: Mapped[str] = mapped_column(String(200))
    token: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EvidenceItem(Base):
    """An item whose evidentiary copy is in the vault. Keyed by the plaintext SHA-256, which is
    also the blob's address. No foreign key to `items`: the evidence outlives a rescan."""

    __tablename__ = "evidence_items"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    captured_at: Mapped[datetime] = mapped_column(default=utcnow)
    captured_by: Mapped[str] = mapped_column(String(200))
    # Seq of the custody entry of the first capture, and ids of every sighting recorded so far.
    custody_seq: Mapped[int] = mapped_column(BigInteger)
    sighting_ids: Mapped[list[int]] = mapped_column(JSON, default=list)


class NoteKey(Base):
    """The key of one sealed free-text note in the custody log (a reason, a title), wrapped by
    the vault key. Deleting the row erases the note for good (crypto-shredding): the log keeps
    the ciphertext, which its hash chain covers, and no key to read it."""

    __tablename__ = "note_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class NoteKeyPerson(Base):
    """The enrolled persons a note is about (their items' findings): forgetting any of them
    deletes the note's key."""

    __tablename__ = "note_key_persons"

    key_id: Mapped[str] = mapped_column(
        ForeignKey("note_keys.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True, index=True
    )
