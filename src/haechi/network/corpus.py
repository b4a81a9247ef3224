"""Reading what the network is built from out of the database: rooms (with their chat-text risk),
messages, the sightings of media in rooms, the PDQ signals of those items, and what else marks
an item (findings about enrolled persons, its sexual score, its synthetic verdict). Read-only."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from haechi.analyzers.chat_text import TextEvidence
from haechi.analyzers.pdq import PdqFrame
from haechi.config import Settings
from haechi.network.clusters import ItemHashes
from haechi.network.model import FindingRef, ForwardOrigin, ItemFacts, RoomRef
from haechi.network.rooms import rank_rooms
from haechi.store.db import Database
from haechi.store.findings import Finding
from haechi.store.models import Item, Message, Room, Sighting, SignalRow, Source
from haechi.store.persons import Person


@dataclass(frozen=True, slots=True)
class Msg:
    """One stored chat message as the network reads it (the network holds every message of
    the corpus: slots, and only the columns it reads)."""

    room: str
    message_id: int
    kind: str
    at: datetime
    author_id: str | None
    author_name: str | None
    forwarded_from: str | None
    reply_to: int | None
    action: str | None
    members: tuple[str, ...]
    text: str
    media_count: int
    reactions: int
    risk: float
    # The chat-text evidence stored with the message (empty when it was not scored), read once.
    evidence: TextEvidence

    @property
    def cats(self) -> Mapping[str, float]:
        """Strength per lexicon category."""
        return self.evidence.cats

    @property
    def context(self) -> float:
        """Strength of the context words (news, support, police) that lower the risk."""
        return self.evidence.ctx


@dataclass(frozen=True)
class Seen:
    """One sighting of an item in a chat room."""

    item: str
    room: str
    message_id: int | None
    at: datetime | None
    poster: str | None
    forward: ForwardOrigin | None


@dataclass(frozen=True)
class Corpus:
    """Everything the network is built from: rooms by node id, messages by (room, message id),
    the sightings of items in rooms, the items' hashes and what else marks each item."""

    rooms: dict[str, RoomRef]
    messages: dict[tuple[str, int], Msg]
    seen: tuple[Seen, ...]
    items: tuple[ItemHashes, ...]
    facts: dict[str, ItemFacts] = field(default_factory=dict)


def room_node_id(source_id: int, key: str) -> str:
    """A Telegram chat id names the same chat in every export of it; other keys (an HTML
    export's chat folder) only mean something inside their source."""
    return key if key.lstrip("-").isdigit() else f"{source_id}:{key}"


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# Structured forward origins (live Telegram) are read when the sightings table has them.
_FORWARD_COLUMNS = ("forwarded_from_id", "forwarded_message_id", "forwarded_at")


def _forward(row: Any, has_ids: bool) -> ForwardOrigin | None:
    name = row.forwarded_from
    origin_id = getattr(row, "forwarded_from_id", None) if has_ids else None
    post = getattr(row, "forwarded_message_id", None) if has_ids else None
    at = getattr(row, "forwarded_at", None) if has_ids else None
    if not (name or origin_id):
        return None
    return ForwardOrigin(name=name, account_id=origin_id, message_id=post, at=_utc(at))


# The columns of a message the network reads (not its media list, links or edits).
MSG_COLUMNS: tuple[Any, ...] = (
    Message.room_id,
    Message.message_id,
    Message.kind,
    Message.posted_at,
    Message.author_id,
    Message.author_name,
    Message.forwarded_from,
    Message.saved_from,
    Message.reply_to,
    Message.action,
    Message.members,
    Message.text,
    Message.media_count,
    Message.reactions,
    Message.risk,
    Message.risk_detail,
)
_STREAM_ROWS = 5000


def _same(value: str | None) -> str | None:
    return value


def msg_of(room: str, m: Any, share: Callable[[str | None], str | None] = _same) -> Msg:
    """A stored message (a Message, or a row of MSG_COLUMNS) as the network reads it, in the
    room node `room`; `share` returns one copy of each repeated name (authors post many lines)."""
    return Msg(
        room=room,
        message_id=int(m.message_id),
        kind=m.kind,
        at=_utc(m.posted_at) or datetime.min.replace(tzinfo=UTC),
        author_id=share(m.author_id),
        author_name=share(m.author_name),
        forwarded_from=share(m.forwarded_from or m.saved_from),
        reply_to=m.reply_to,
        action=m.action,
        members=tuple(m.members or ()),
        text=m.text or "",
        media_count=m.media_count,
        reactions=m.reactions,
        risk=float(m.risk or 0.0),
        evidence=TextEvidence.from_payload(m.risk_detail),
    )


def load_corpus(db: Database, settings: Settings) -> Corpus:
    """Read the corpus out of the database, with each room's risk from the room ranking; a
    room found in several sources keeps the highest risk."""
    ranked = {(r.source, r.id): r for r in rank_rooms(db, settings)}
    rooms: dict[str, RoomRef] = {}
    by_pk: dict[int, str] = {}
    with db.session() as s:
        for room, locator in s.execute(
            select(Room, Source.locator).join(Source, Source.id == Room.source_id)
        ):
            rid = room_node_id(room.source_id, room.room_key)
            by_pk[room.id] = rid
            rank = ranked.get((locator, room.room_key))
            old = rooms.get(rid)
            risk = max(rank.risk if rank else 0.0, old.risk if old else 0.0)
            flagged = bool(rank and rank.flagged) or bool(old and old.flagged)
            context = max(rank.context if rank else 0.0, old.context if old else 0.0)
            rooms[rid] = RoomRef(
                rid, room.room_key, room.name, room.kind, locator, round(risk, 4), flagged, context
            )
        messages: dict[tuple[str, int], Msg] = {}
        rows = s.execute(
            select(*MSG_COLUMNS).order_by(Message.id).execution_options(yield_per=_STREAM_ROWS)
        )
        names: dict[str | None, str | None] = {}

        def share(name: str | None) -> str | None:
            return names.setdefault(name, name)

        for m in rows:
            rid = by_pk[m.room_id]
            messages[(rid, int(m.message_id))] = msg_of(rid, m, share)
        seen = tuple(_sightings(s, _FORWARD_COLUMNS[0] in Sighting.__table__.c))
        shas = sorted({x.item for x in seen})
        items = _hashes(s, shas)
        facts = _facts(s, shas)
    return Corpus(rooms, messages, seen, items, facts)


def _sightings(s: Any, has_ids: bool) -> Iterator[Seen]:
    cols: list[Any] = [
        Sighting.item_sha256,
        Sighting.source_id,
        Sighting.room,
        Sighting.message_id,
        Sighting.posted_at,
        Sighting.poster,
        Sighting.forwarded_from,
    ]
    if has_ids:
        cols += [Sighting.__table__.c[c] for c in _FORWARD_COLUMNS]
    rows = s.execute(select(*cols).where(Sighting.room.is_not(None)).order_by(Sighting.id))
    for row in rows:
        yield Seen(
            item=row.item_sha256,
            room=room_node_id(row.source_id, row.room),
            message_id=_int(row.message_id),
            at=_utc(row.posted_at),
            poster=row.poster,
            forward=_forward(row, has_ids),
        )


def _facts(s: Any, shas: list[str]) -> dict[str, ItemFacts]:
    findings: dict[str, list[FindingRef]] = {}
    signals: dict[tuple[str, str], dict[str, Any]] = {}
    for start in range(0, len(shas), 500):
        chunk = shas[start : start + 500]
        for sha, kind, alias, hi, lo, n in s.execute(
            select(
                Finding.item_sha256,
                Finding.kind,
                Person.alias,
                func.max(Finding.score),
                func.min(Finding.score),
                func.count(),
            )
            .join(Person, Person.id == Finding.person_id, isouter=True)
            .where(Finding.item_sha256.in_(chunk), Finding.status != "dismissed")
            .group_by(Finding.item_sha256, Finding.kind, Finding.subject, Person.alias)
        ):
            best = float(lo if kind == "own_media_match" else hi)  # a distance: lower is closer
            findings.setdefault(sha, []).append(FindingRef(kind, alias, best, int(n)))
        for sha, analyzer, payload in s.execute(
            select(SignalRow.item_sha256, SignalRow.analyzer, SignalRow.payload)
            .where(
                SignalRow.item_sha256.in_(chunk), SignalRow.analyzer.in_(("nudity", "synthetic"))
            )
            .order_by(SignalRow.created_at)
        ):
            signals[(sha, analyzer)] = payload  # the latest version wins
    out: dict[str, ItemFacts] = {}
    for sha in shas:
        nudity = signals.get((sha, "nudity")) or {}
        synthetic = signals.get((sha, "synthetic")) or {}
        facts = ItemFacts(
            tuple(sorted(findings.get(sha, ()), key=lambda f: (f.kind, f.person or ""))),
            nudity.get("score"),
            synthetic.get("verdict"),
        )
        if facts != ItemFacts():
            out[sha] = facts
    return out


def _hashes(s: Any, shas: list[str]) -> tuple[ItemHashes, ...]:
    kinds: dict[str, str | None] = {}
    pdq: dict[str, dict[str, Any]] = {}
    for start in range(0, len(shas), 500):
        chunk = shas[start : start + 500]
        for sha, kind in s.execute(select(Item.sha256, Item.kind).where(Item.sha256.in_(chunk))):
            kinds[sha] = kind
        for sha, payload in s.execute(
            select(SignalRow.item_sha256, SignalRow.payload).where(
                SignalRow.item_sha256.in_(chunk), SignalRow.analyzer == "pdq"
            )
        ):
            pdq[sha] = payload
    out = []
    for sha in shas:
        p = pdq.get(sha, {})
        frames = tuple(PdqFrame(**f) for f in p.get("frames") or ())
        out.append(ItemHashes(sha, kinds.get(sha), p.get("pdq"), p.get("quality"), frames))
    return tuple(out)
