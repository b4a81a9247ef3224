"""Photos posted in a request: the network's "someone's source photo". A chat message that asks
for something to be made ("이 사람으로 합성해 주세요"), with a photo on it or right beside it
by the same author, names that photo as what a fake is to be made from
(haechi.network.roles.requests reads it the same way). The source-photo comparison
(evidence.source_photo) takes these photos as candidate sources for a face matched to an
enrolled person, whether or not the photo's own face matched her.

Read-only; reads only messages that scored as risky (a request always does)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from haechi.network.corpus import Msg, msg_of
from haechi.network.roles.language import REQUEST_IDS, is_request
from haechi.network.roles.requests import asks_beside
from haechi.store.db import Database
from haechi.store.models import Message, Room, Sighting


@dataclass(frozen=True)
class RequestPost:
    """Where a photo was posted with a request: who asked, in which room, when."""

    item: str  # the photo's SHA-256
    author: str | None  # display name (the account id when the export has no name)
    author_id: str | None
    room: str  # the room's name (its key when it has none)
    room_key: str
    at: datetime | None
    message_id: int  # the message that carries the photo
    request_message_id: int  # the message that asks: the same one, or one right beside it
    link: str | None  # the message's address, where the source has one

    def to_json(self) -> dict[str, Any]:
        """As stored in a finding's details (machine output: never translated)."""
        return {
            "author": self.author,
            "author_id": self.author_id,
            "room": self.room,
            "room_key": self.room_key,
            "at": self.at.isoformat() if self.at else None,
            "message_id": self.message_id,
            "request_message_id": self.request_message_id,
            "link": self.link,
        }


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else (at if at.tzinfo else at.replace(tzinfo=UTC))


def request_photos(db: Database) -> dict[str, RequestPost]:
    """Every photo posted with a request, by SHA-256: its earliest such post."""
    with db.session() as s:
        rooms = {r.id: r for r in s.scalars(select(Room))}
        # The photo's message (room pk, id) -> the request that asks for it.
        posts: dict[tuple[int, int], Msg] = {}
        risky = select(Message).where(Message.kind == "message", Message.risk > 0)
        for row in s.scalars(risky.order_by(Message.id)):
            ask = msg_of(str(row.room_id), row)
            if not is_request(ask):
                continue
            if ask.media_count > 0:
                posts.setdefault((row.room_id, ask.message_id), ask)
                continue
            beside = select(Message).where(
                Message.room_id == row.room_id,
                Message.media_count > 0,
                Message.message_id.between(
                    ask.message_id - REQUEST_IDS, ask.message_id + REQUEST_IDS
                ),
            )
            for n in s.scalars(beside):
                photo = msg_of(str(row.room_id), n)
                if asks_beside(photo, ask):
                    posts.setdefault((row.room_id, photo.message_id), ask)
        out: dict[str, RequestPost] = {}
        for (pk, mid), ask in posts.items():
            room = rooms[pk]
            sightings = select(Sighting).where(
                Sighting.source_id == room.source_id,
                Sighting.room == room.room_key,
                Sighting.message_id == str(mid),
            )
            for sg in s.scalars(sightings):
                post = RequestPost(
                    item=sg.item_sha256,
                    author=ask.author_name or ask.author_id,
                    author_id=ask.author_id,
                    room=room.name or room.room_key,
                    room_key=room.room_key,
                    at=_utc(sg.posted_at) or ask.at,
                    message_id=mid,
                    request_message_id=ask.message_id,
                    link=sg.url,
                )
                old = out.get(post.item)
                if old is None or (post.at and old.at and post.at < old.at):
                    out[post.item] = post
    return out


def first_posted(db: Database, sha: str) -> datetime | None:
    """When the item was first posted in a chat; None when no post time is known."""
    with db.session() as s:
        times = s.scalars(
            select(Sighting.posted_at).where(
                Sighting.item_sha256 == sha, Sighting.posted_at.is_not(None)
            )
        )
        return min((t for t in map(_utc, times) if t is not None), default=None)
