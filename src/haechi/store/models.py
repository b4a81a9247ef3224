"""Stored tables. Portable SQL only: the same models run on SQLite and PostgreSQL.

Items are keyed by SHA-256 so a file seen a thousand times is one item with many sightings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC: the default of every stored timestamp."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """The declarative base of every table: `dict[str, Any]` columns are stored as JSON and
    datetimes with their time zone."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        datetime: DateTime(timezone=True),
    }


class Source(Base):
    """Something a person pointed haechi at: a folder, an export, a channel, a URL."""

    __tablename__ = "sources"
    __table_args__ = (UniqueConstraint("kind", "locator", name="uq_sources_kind_locator"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    locator: Mapped[str] = mapped_column(String(2048))
    name: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Scan(Base):
    """One row: one scan of a source, its status, counts and the cursor a resumed scan starts
    after."""

    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # The last locator whose result is committed, in the source's own order.
    cursor: Mapped[str | None] = mapped_column(String(2048), default=None)
    seen: Mapped[int] = mapped_column(Integer, default=0)
    new_items: Mapped[int] = mapped_column(Integer, default=0)
    known_items: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    analyzers: Mapped[dict[str, Any]] = mapped_column(default=dict)

    source: Mapped[Source] = relationship()


class Item(Base):
    """One row: a distinct file, keyed by its SHA-256, with what was learnt of its media; its
    sightings say where it was seen."""

    __tablename__ = "items"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    md5: Mapped[str] = mapped_column(String(32), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str | None] = mapped_column(String(16), default=None)
    format: Mapped[str | None] = mapped_column(String(32), default=None)
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    duration: Mapped[float | None] = mapped_column(Float, default=None)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    sightings: Mapped[list[Sighting]] = relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="Sighting.id"
    )
    signals: Mapped[list[SignalRow]] = relationship(
        back_populates="item", cascade="all, delete-orphan"
    )


class Sighting(Base):
    """One place and time an item was seen, in the source's own terms."""

    __tablename__ = "sightings"
    __table_args__ = (
        UniqueConstraint("source_id", "locator", "item_sha256", name="uq_sightings_place"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_sha256: Mapped[str] = mapped_column(
        ForeignKey("items.sha256", ondelete="CASCADE"), index=True
    )
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    scan_id: Mapped[int | None] = mapped_column(
        ForeignKey("scans.id", ondelete="SET NULL"), default=None
    )
    locator: Mapped[str] = mapped_column(String(2048))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_at: Mapped[datetime | None] = mapped_column(default=None)
    room: Mapped[str | None] = mapped_column(String(512), default=None)
    message_id: Mapped[str | None] = mapped_column(String(64), default=None)
    url: Mapped[str | None] = mapped_column(String(4096), default=None)
    poster: Mapped[str | None] = mapped_column(String(512), default=None)
    forwarded_from: Mapped[str | None] = mapped_column(String(512), default=None)
    # The forward header's origin, spelled as an export spells accounts ("channel123", "user42"),
    # and the original post's id and date: what the network analysis follows back to a first
    # poster.
    forwarded_from_id: Mapped[str | None] = mapped_column(String(64), default=None)
    forwarded_message_id: Mapped[str | None] = mapped_column(String(64), default=None)
    forwarded_at: Mapped[datetime | None] = mapped_column(default=None)
    context: Mapped[str | None] = mapped_column(Text, default=None)
    # File size and mtime let a rescan skip unchanged files without reading them.
    file_size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    file_mtime_ns: Mapped[int | None] = mapped_column(BigInteger, default=None)

    item: Mapped[Item] = relationship(back_populates="sightings")
    source: Mapped[Source] = relationship()


class SignalRow(Base):
    """One row: one analyzer's result for an item (a JSON payload), unique per item, analyzer and
    version."""

    __tablename__ = "signals"
    __table_args__ = (
        UniqueConstraint("item_sha256", "analyzer", "version", name="uq_signals_item_analyzer"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_sha256: Mapped[str] = mapped_column(
        ForeignKey("items.sha256", ondelete="CASCADE"), index=True
    )
    analyzer: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[Item] = relationship(back_populates="signals")


class ItemError(Base):
    """Why a file could not be used. Kept per place, replaced when the place is rescanned."""

    __tablename__ = "item_errors"
    __table_args__ = (
        UniqueConstraint("source_id", "locator", "stage", name="uq_item_errors_place"),
        Index("ix_item_errors_item", "item_sha256"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    scan_id: Mapped[int | None] = mapped_column(
        ForeignKey("scans.id", ondelete="SET NULL"), default=None
    )
    locator: Mapped[str] = mapped_column(String(2048))
    item_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    stage: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Room(Base):
    """A chat room (group, channel, personal chat) as a chat source names it."""

    __tablename__ = "rooms"
    __table_args__ = (UniqueConstraint("source_id", "room_key", name="uq_rooms_source_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    # The source's own key for the room: Telegram's chat id, or an HTML export's chat folder.
    room_key: Mapped[str] = mapped_column(String(512))
    name: Mapped[str] = mapped_column(String(512), default="")
    kind: Mapped[str] = mapped_column(String(64), default="")

    source: Mapped[Source] = relationship()


class Message(Base):
    """One chat message or service event. Kept whole (authors' ids, forwards, replies, joins and
    invites) because the distribution network is read from these rows; `risk` is the chat-text
    analyzer's score of `text`, with the evidence behind it in `risk_detail`."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("room_id", "message_id", name="uq_messages_room_message"),
        Index("ix_messages_room_risk", "room_id", "risk"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(BigInteger)
    scan_id: Mapped[int | None] = mapped_column(
        ForeignKey("scans.id", ondelete="SET NULL"), default=None
    )
    kind: Mapped[str] = mapped_column(String(16))  # message | service
    posted_at: Mapped[datetime] = mapped_column()
    edited_at: Mapped[datetime | None] = mapped_column(default=None)
    author_id: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    author_name: Mapped[str | None] = mapped_column(String(512), default=None)
    forwarded_from: Mapped[str | None] = mapped_column(String(512), default=None)
    saved_from: Mapped[str | None] = mapped_column(String(512), default=None)
    reply_to: Mapped[int | None] = mapped_column(BigInteger, default=None)
    via_bot: Mapped[str | None] = mapped_column(String(256), default=None)
    action: Mapped[str | None] = mapped_column(String(64), default=None)
    members: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    text: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    # [{path, type, mime, status}] with status present | not_included | absent | refused.
    media: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    media_count: Mapped[int] = mapped_column(Integer, default=0)
    media_missing: Mapped[int] = mapped_column(Integer, default=0)
    reactions: Mapped[int] = mapped_column(Integer, default=0)
    risk: Mapped[float | None] = mapped_column(Float, default=None)
    risk_version: Mapped[str | None] = mapped_column(String(64), default=None)
    risk_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    room: Mapped[Room] = relationship()


# The evidence tables live in their own module; importing it here puts them on Base.metadata.
from haechi.store import banks as _banks  # noqa: E402, F401
from haechi.store import cases as _cases  # noqa: E402, F401
from haechi.store import evidence_models as _evidence_models  # noqa: E402, F401

# Tables kept in modules of their own; imported here so Base.metadata knows every table.
from haechi.store import findings as _findings  # noqa: E402, F401
from haechi.store import leads as _leads  # noqa: E402, F401
from haechi.store import persons as _persons  # noqa: E402, F401
from haechi.store import takedown as _takedown  # noqa: E402, F401
from haechi.store import users as _users  # noqa: E402, F401
