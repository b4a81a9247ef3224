"""Leads: rooms named in what haechi read (a link, an invite, an @name in a message or on a
captured page) or found by a deliberate public search, one row per room however often it is
named, with every place it was named. A place is stored once (its `place` key), so reading the
same messages and pages again adds nothing; `lead_harvests` remembers how far each was read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from haechi.store.models import Base, utcnow
from haechi.store.upsert import (
    insert_ignore,
    insert_ignore_many,
    insert_ignore_returning,
    upsert,
)

if TYPE_CHECKING:
    from haechi.discover.links import TelegramRef


class Lead(Base):
    """One row: a Telegram room named somewhere in what was scanned (or found by a public search),
    one per room however it was written, with what a search said about it."""

    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "@name" (a public username, lowercased), "+hash" (an invite link), "c/123" (a private
    # channel by id): one row per room however it was written.
    key: Mapped[str] = mapped_column(String(256), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # public | invite | private
    url: Mapped[str] = mapped_column(String(512))
    # What a public search said about the room (empty until one has).
    title: Mapped[str] = mapped_column(String(512), default="")
    members: Mapped[int | None] = mapped_column(Integer, default=None)
    description: Mapped[str] = mapped_column(Text, default="")
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    own_risk: Mapped[float | None] = mapped_column(Float, default=None)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The WARC of its public preview, once captured (`haechi discover capture`).
    captured_warc: Mapped[str | None] = mapped_column(String(2048), default=None)
    captured_at: Mapped[datetime | None] = mapped_column(default=None)

    sightings: Mapped[list[LeadSighting]] = relationship(
        back_populates="lead", cascade="all, delete-orphan", order_by="LeadSighting.id"
    )


class LeadSighting(Base):
    """One place a lead was named: a stored message, a captured page (or a post on it), or a
    search that found it."""

    __tablename__ = "lead_sightings"
    __table_args__ = (UniqueConstraint("lead_id", "place", name="uq_lead_sightings_place"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    # message:<rooms.id>:<message id> | page:<warc path>#<record id>[/<post>] | search:<query>
    place: Mapped[str] = mapped_column(String(2048))
    kind: Mapped[str] = mapped_column(String(16))  # message | page | search
    room_pk: Mapped[int | None] = mapped_column(
        ForeignKey("rooms.id", ondelete="SET NULL"), default=None, index=True
    )
    room: Mapped[str] = mapped_column(String(512), default="")  # room name, page URL or query
    message_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    posted_at: Mapped[datetime | None] = mapped_column(default=None)
    url: Mapped[str | None] = mapped_column(String(4096), default=None)
    author: Mapped[str | None] = mapped_column(String(512), default=None)
    excerpt: Mapped[str] = mapped_column(Text, default="")
    # The page's or the search result's own risk; a message's is its room's, read when ranked.
    risk: Mapped[float | None] = mapped_column(Float, default=None)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    lead: Mapped[Lead] = relationship(back_populates="sightings")


class LeadHarvest(Base):
    """How far leads were read from one thing: "messages" (the highest messages.id read) or a
    WARC ("warc:<path>", its size and mtime when read)."""

    __tablename__ = "lead_harvests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    what: Mapped[str] = mapped_column(String(2048), unique=True)
    cursor: Mapped[str] = mapped_column(String(256))
    at: Mapped[datetime] = mapped_column(default=utcnow)


def lead_pk(session: Session, ref: TelegramRef, at: datetime) -> int:
    """The stored lead for a reference: made on first sight, its last sighting moved on."""
    insert_ignore(
        session,
        Lead.__table__,
        {
            "key": ref.key,
            "kind": ref.kind,
            "url": ref.url,
            "title": "",
            "description": "",
            "first_seen_at": at,
            "last_seen_at": at,
        },
        ["key"],
    )
    pk, last = session.execute(select(Lead.id, Lead.last_seen_at).where(Lead.key == ref.key)).one()
    if _aware(last) < _aware(at):
        session.execute(update(Lead).where(Lead.id == pk).values(last_seen_at=at))
    return int(pk)


def add_sighting(session: Session, lead: int, place: str, values: dict[str, Any]) -> bool:
    """Record one place a lead was named; False when that place was recorded before."""
    row = {"lead_id": lead, "place": place, "excerpt": "", "room": "", **values}
    new = insert_ignore_returning(
        session, LeadSighting.__table__, row, ["lead_id", "place"], LeadSighting.id
    )
    return new is not None


def harvest_cursor(session: Session, what: str) -> str | None:
    """How far the lead reading of `what` (messages or pages) got, or None before the first
    reading."""
    return session.execute(
        select(LeadHarvest.cursor).where(LeadHarvest.what == what)
    ).scalar_one_or_none()


def set_harvest_cursor(session: Session, what: str, cursor: str) -> None:
    """Record how far the lead reading of `what` got."""
    upsert(
        session,
        LeadHarvest.__table__,
        {"what": what, "cursor": cursor, "at": utcnow()},
        ["what"],
        ["cursor", "at"],
    )


def forget_cursors(session: Session) -> None:
    """Forget how far every lead reading got, so the next reading starts again from the
    beginning."""
    session.execute(delete(LeadHarvest))


def _aware(when: datetime) -> datetime:
    # SQLite hands datetimes back without their zone; they were stored in UTC.
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def lead_pks(session: Session, seen: dict[str, tuple[TelegramRef, datetime]]) -> dict[str, int]:
    """`lead_pk` for many references at once (key → (reference, latest sighting)): one insert,
    one select, and an update only for leads whose last sighting moves on."""
    if not seen:
        return {}
    rows = [
        {"key": ref.key, "kind": ref.kind, "url": ref.url, "title": "", "description": "",
         "first_seen_at": at, "last_seen_at": at}
        for ref, at in seen.values()
    ]  # fmt: skip
    insert_ignore_many(session, Lead.__table__, rows, ["key"])
    pks: dict[str, int] = {}
    for pk, key, last in session.execute(
        select(Lead.id, Lead.key, Lead.last_seen_at).where(Lead.key.in_(list(seen)))
    ):
        pks[key] = int(pk)
        at = seen[key][1]
        if _aware(last) < _aware(at):
            session.execute(update(Lead).where(Lead.id == pk).values(last_seen_at=at))
    return pks


def add_sightings(session: Session, rows: list[dict[str, Any]]) -> int:
    """Record many places at once (each row a full lead_sightings row); returns how many were
    new."""
    if not rows:
        return 0
    count = select(func.count(LeadSighting.id))
    before = int(session.execute(count).scalar_one())
    insert_ignore_many(session, LeadSighting.__table__, rows, ["lead_id", "place"])
    return int(session.execute(count).scalar_one()) - before
