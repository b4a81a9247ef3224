"""A FAKE OF TELEGRAM'S SERVERS for the live watcher's tests: the edge of the world the tests
cannot reach. `FakeTelegram` stands in for Telegram's servers (and for the network half of
Telethon's client), implementing only the client methods the watcher calls; the messages it
serves are Telethon's own types, built here (a photo, a video, a text in ROOM, sent at WHEN).
Everything on haechi's side stays real in the tests that use it: `watch` runs the real watcher."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from telethon import events
from telethon.errors import FloodWaitError
from telethon.tl import types

from haechi.config import Settings
from haechi.services.watch import watch_telegram
from haechi.store.db import Database

WHEN = datetime(2024, 9, 1, 12, 0, tzinfo=UTC)
ROOM = types.Channel(
    id=1234567890, title="겹지인 room", photo=types.ChatPhotoEmpty(), date=WHEN, access_hash=1,
    username=None, megagroup=True,
)  # fmt: skip
OTHER = types.Channel(
    id=1987654321, title="unwatched", photo=types.ChatPhotoEmpty(), date=WHEN, access_hash=2
)


def photo_message(msg_id: int, data: bytes, **kw: Any) -> types.Message:
    """A photo of `data`'s size posted in ROOM (or `channel`) at WHEN, with `text` as caption;
    other keywords go to Telethon's Message."""
    photo = types.Photo(
        id=msg_id, access_hash=0, file_reference=b"", date=WHEN, dc_id=1,
        sizes=[types.PhotoSize(type="y", w=320, h=240, size=len(data))],
    )  # fmt: skip
    return types.Message(
        id=msg_id, peer_id=types.PeerChannel(kw.pop("channel", ROOM.id)), date=WHEN,
        message=kw.pop("text", ""), media=types.MessageMediaPhoto(photo=photo), **kw,
    )  # fmt: skip


def video_message(msg_id: int, size: int, **kw: Any) -> types.Message:
    """A 2 s video of `size` bytes posted in ROOM at WHEN."""
    doc = types.Document(
        id=msg_id, access_hash=0, file_reference=b"", date=WHEN, mime_type="video/mp4",
        size=size, dc_id=1,
        attributes=[types.DocumentAttributeVideo(duration=2, w=160, h=120)],
    )  # fmt: skip
    return types.Message(
        id=msg_id, peer_id=types.PeerChannel(ROOM.id), date=WHEN, message=kw.pop("text", ""),
        media=types.MessageMediaDocument(document=doc), **kw,
    )  # fmt: skip


def text_message(msg_id: int, text: str) -> types.Message:
    """A message without media posted in ROOM at WHEN."""
    return types.Message(id=msg_id, peer_id=types.PeerChannel(ROOM.id), date=WHEN, message=text)


class FakeTelegram:
    """A FAKE OF TELEGRAM'S SERVERS: chats, their history, media bytes, live messages delivered
    as Telethon NewMessage events, and scripted failures (FLOOD_WAIT, a dropped connection)."""

    def __init__(self) -> None:
        self.entities = {"@room": ROOM, -1001234567890: ROOM, -1001987654321: OTHER}
        self.history: list[types.Message] = []
        self.media: dict[int, bytes] = {}
        self.live: list[list[types.Message]] = []  # messages per connection
        self.flood_on_download: list[int] = []  # seconds, one per failing download
        self.flood_in_history: list[tuple[int, int]] = []  # (after this message id, seconds)
        self.fail_connects = 0
        self.handlers: list[Callable[[Any], Awaitable[None]]] = []
        self.downloads: list[int] = []
        self.min_ids: list[int] = []
        self.connects = 0

    def add(self, message: types.Message, data: bytes | None = None) -> None:
        self.history.append(message)
        if data is not None:
            self.media[message.id] = data

    async def connect(self) -> None:
        self.connects += 1
        if self.fail_connects:
            self.fail_connects -= 1
            raise ConnectionError("network is unreachable")

    async def is_user_authorized(self) -> bool:
        return True

    async def get_entity(self, ref: Any) -> Any:
        if ref not in self.entities:
            raise ValueError(f"No user has {ref!r} as username")
        return self.entities[ref]

    async def iter_messages(
        self, entity: Any, *, min_id: int, reverse: bool
    ) -> AsyncIterator[types.Message]:
        assert reverse, "the watcher reads history oldest first"
        self.min_ids.append(min_id)
        for m in sorted(self.history, key=lambda m: m.id):
            if m.id > min_id and m.peer_id == types.PeerChannel(entity.id):
                yield m
                if self.flood_in_history and self.flood_in_history[0][0] == m.id:
                    raise FloodWaitError(request=None, capture=self.flood_in_history.pop(0)[1])

    async def download_media(self, message: types.Message, file: type[bytes]) -> bytes | None:
        assert file is bytes, "media must be downloaded into memory, never to a file"
        if self.flood_on_download:
            raise FloodWaitError(request=None, capture=self.flood_on_download.pop(0))
        self.downloads.append(message.id)
        return self.media.get(message.id)

    def add_event_handler(self, callback: Callable[[Any], Awaitable[None]], event: Any) -> None:
        assert isinstance(event, events.NewMessage)
        self.handlers.append(callback)

    async def run_until_disconnected(self) -> None:
        batch = self.live.pop(0) if self.live else []
        for m in batch:
            self.history.append(m)
            for handler in self.handlers:
                await handler(events.NewMessage.Event(m))

    async def disconnect(self) -> None:
        pass


class Sleeps:
    """The watcher's sleep, recorded instead of slept: backoffs and flood waits take no time."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def watch(
    fake: FakeTelegram, db: Database, settings: Settings, sleeps: Sleeps | None = None, **kw: Any
) -> list[Any]:
    """Run the real watcher (haechi.services.watch) against `fake`, on @room unless `chats` says
    otherwise: its summary, in a list of one."""
    kw.setdefault("chats", ["@room"])
    return [watch_telegram(db, settings, lambda: fake, sleep=sleeps or Sleeps(), **kw)]
