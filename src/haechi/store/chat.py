"""Reading and writing chat rooms and messages (the text side of chat sources). Rows come in
as the table's columns: what a source's message becomes is the scan's business
(`haechi.scan.rows`), so the store knows nothing of sources."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from haechi.store.models import Message, Room, Source
from haechi.store.upsert import upsert, upsert_many

_UPDATED = (
    "scan_id", "kind", "posted_at", "edited_at", "author_id", "author_name", "forwarded_from",
    "saved_from", "reply_to", "via_bot", "action", "members", "text", "links", "media",
    "media_count", "media_missing", "reactions", "risk", "risk_version", "risk_detail",
)  # fmt: skip


def room_id(session: Session, source_id: int, key: str, name: str, kind: str) -> int:
    """The stored room for a source's room key; its name and kind follow the latest scan."""
    upsert(
        session,
        Room.__table__,
        {"source_id": source_id, "room_key": key, "name": name, "kind": kind},
        ["source_id", "room_key"],
        ["name", "kind"],
    )
    return session.execute(
        select(Room.id).where(Room.source_id == source_id, Room.room_key == key)
    ).scalar_one()


def last_message_ids(session: Session, source_id: int) -> dict[str, int]:
    """room key → highest stored message id: where a resumed scan of the source picks up."""
    rows = session.execute(
        select(Room.room_key, func.max(Message.message_id))
        .join(Message, Message.room_id == Room.id)
        .where(Room.source_id == source_id)
        .group_by(Room.room_key)
    )
    return {key: int(mid) for key, mid in rows if mid is not None}


def record_messages(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or refresh messages keyed by (room, message id): repeating a batch is harmless."""
    if rows:
        upsert_many(session, Message.__table__, rows, ["room_id", "message_id"], _UPDATED)


def stale_risk(session: Session, version: str, batch: int = 2000) -> list[tuple[int, str]]:
    """Messages scored by another analyzer or lexicon version (or never): (row id, text)."""
    rows = session.execute(
        select(Message.id, Message.text)
        .where((Message.risk_version != version) | Message.risk_version.is_(None))
        .order_by(Message.id)
        .limit(batch)
    )
    return [(i, t) for i, t in rows]


def set_risk(session: Session, pk: int, score: float, version: str, detail: dict[str, Any]) -> None:
    """Store one message's text risk score, the analyzer version that gave it and its evidence."""
    session.execute(
        update(Message)
        .where(Message.id == pk)
        .values(risk=score, risk_version=version, risk_detail=detail)
    )


@dataclass(frozen=True)
class RoomSummary:
    """One stored room as `haechi rooms` lists it: its keys and source, and counts of its messages,
    media and missing media."""

    pk: int
    key: str
    name: str
    kind: str
    source: str
    messages: int
    media: int
    media_missing: int


def room_summaries(session: Session) -> list[RoomSummary]:
    """Every stored room with its message and media counts, in the order rooms were first stored
    (one query)."""
    counts = (
        select(
            Message.room_id,
            func.count().label("n"),
            func.coalesce(func.sum(Message.media_count), 0).label("media"),
            func.coalesce(func.sum(Message.media_missing), 0).label("missing"),
        )
        .group_by(Message.room_id)
        .subquery()
    )
    rows = session.execute(
        select(Room, Source.locator, counts.c.n, counts.c.media, counts.c.missing)
        .join(Source, Source.id == Room.source_id)
        .outerjoin(counts, counts.c.room_id == Room.id)
        .order_by(Room.id)
    )
    return [
        RoomSummary(r.id, r.room_key, r.name, r.kind, loc, int(n or 0), int(m or 0), int(x or 0))
        for r, loc, n, m, x in rows
    ]


def room_evidence(session: Session, room_pk: int) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(message id, text, stored evidence) of a room's scored messages, in message order."""
    rows = session.execute(
        select(Message.message_id, Message.text, Message.risk_detail)
        .where(Message.room_id == room_pk)
        .order_by(Message.message_id)
        .execution_options(yield_per=2000)
    )
    for mid, text, detail in rows:
        yield int(mid), text, detail or {}
