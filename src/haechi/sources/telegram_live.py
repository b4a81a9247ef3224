"""Live Telegram: watch the configured chats with a user session and scan their new media.

The watcher only reads: it never sends, joins, reacts or marks anything read (see
docs/telegram-live.md). On start it catches up on each chat's history after its cursor (the
last message id committed), then listens for new messages. Each photo, video or media document
within the size limit is downloaded into memory, never to disk, and goes through the same scan
writer as a folder: one item per SHA-256, one sighting per message with the room, the poster,
the forward header and the text. A chat's cursor is committed in the same transaction as the
items before it, so a restart resumes without losing or repeating anything.

Telegram's servers are the edge of the world: this module talks to them only through the few
client methods in `TelegramClient` below, which Telethon's client provides."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from sqlalchemy import select
from telethon import events, utils
from telethon.errors import FloodWaitError
from telethon.tl import types

from haechi.config import Settings
from haechi.errors import ConfigError, HaechiError
from haechi.media import BytesContent
from haechi.progress import ScanSummary
from haechi.scan import ScanRun
from haechi.sources.base import Sighting, SourceProblem
from haechi.sources.live import KIND
from haechi.store.db import Database
from haechi.store.models import Scan


class TelegramError(HaechiError):
    """Telegram refused to go on (a flood wait longer than allowed, a chat that cannot be read)."""


class TelegramClient(Protocol):
    """The client methods the watcher calls; Telethon's `TelegramClient` provides them all."""

    async def connect(self) -> None: ...

    async def is_user_authorized(self) -> bool: ...

    async def get_entity(self, entity: Any) -> Any: ...

    def iter_messages(self, entity: Any, *, min_id: int, reverse: bool) -> AsyncIterator[Any]: ...

    async def download_media(self, message: Any, file: type[bytes]) -> bytes | None: ...

    def add_event_handler(self, callback: Callable[[Any], Awaitable[None]], event: Any) -> None: ...

    async def run_until_disconnected(self) -> None: ...

    async def disconnect(self) -> None: ...


@dataclass(frozen=True)
class Chat:
    id: int  # Telegram's "marked" id: -100… for channels and supergroups
    title: str
    username: str | None
    entity: Any

    @property
    def room(self) -> str:
        return f"{self.title} ({self.id})"

    def message_url(self, message_id: int) -> str | None:
        """A link a member can open: public chats by name, channels and supergroups by id."""
        if self.username:
            return f"https://t.me/{self.username}/{message_id}"
        if isinstance(self.entity, types.Channel):
            return f"https://t.me/c/{self.entity.id}/{message_id}"
        return None


@dataclass(frozen=True)
class Forward:
    """A message's forward header: where the content was first posted."""

    origin_id: str | None  # "channel:123", "user:42", "chat:7"
    message_id: int | None  # the original post's id (channels only)
    name: str | None  # the display name, when the origin hides its account
    date: datetime | None

    def describe(self) -> str:
        who = self.origin_id or (f"hidden account {self.name!r}" if self.name else "unknown")
        if self.name and self.origin_id:
            who = f"{self.name} ({self.origin_id})"
        post = f" post {self.message_id}" if self.message_id is not None else ""
        when = f" at {self.date.isoformat()}" if self.date else ""
        return f"{who}{post}{when}"


def forward_of(header: types.MessageFwdHeader | None) -> Forward | None:
    if header is None:
        return None
    origin = None
    peer = header.from_id
    if isinstance(peer, types.PeerChannel):
        origin = f"channel:{peer.channel_id}"
    elif isinstance(peer, types.PeerUser):
        origin = f"user:{peer.user_id}"
    elif isinstance(peer, types.PeerChat):
        origin = f"chat:{peer.chat_id}"
    return Forward(origin, header.channel_post, header.from_name, header.date)


def media_kind(message: Any) -> str | None:
    """ "photo", "video" or "image"/"video" for documents that are media; None for the rest
    (text, stickers in Telegram's own formats, polls, other files)."""
    if message.photo is not None:
        return "photo"
    if message.video is not None or message.gif is not None or message.video_note is not None:
        return "video"
    if message.document is not None:
        mime = (message.file.mime_type or "").lower() if message.file else ""
        if mime.startswith("image/"):
            return "image"
        if mime.startswith("video/"):
            return "video"
    return None


def poster_of(message: Any) -> str | None:
    sender = getattr(message, "sender", None)
    parts = []
    if sender is not None:
        name = utils.get_display_name(sender)
        if name:
            parts.append(name)
        if getattr(sender, "username", None):
            parts.append(f"@{sender.username}")
    if message.sender_id is not None:
        parts.append(f"id {message.sender_id}")
    if getattr(message, "post_author", None):
        parts.append(f"signed {message.post_author}")
    return ", ".join(parts) or None


Sleep = Callable[[float], Awaitable[None]]
Log = Callable[[str], None]


class TelegramWatcher:
    def __init__(
        self,
        client: TelegramClient,
        db: Database,
        settings: Settings,
        *,
        chats: Sequence[str] | None = None,
        sleep: Sleep = asyncio.sleep,
        log: Log = lambda _: None,
    ) -> None:
        self.client = client
        self.db = db
        self.settings = settings
        self.wanted = list(chats if chats is not None else settings.telegram.chats)
        if not self.wanted:
            raise ConfigError(
                "no chats to watch: set HAECHI_TELEGRAM__CHATS or give --chat (ids or @names)"
            )
        self.sleep = sleep
        self.log = log
        self.limit = settings.telegram.max_media_bytes
        self.chats: dict[int, Chat] = {}
        self.runs: dict[int, ScanRun] = {}
        self.cursors: dict[int, int] = {}
        self.lock = asyncio.Lock()
        self.fatal: BaseException | None = None

    async def run(self, *, once: bool = False, connections: int | None = None) -> list[ScanSummary]:
        """Catch up, then listen until stopped. `once`: catch up and return (for a cron job).
        `connections`: return after that many connections have ended (tests, supervisors)."""
        attempt = 0
        ended = 0
        status = "interrupted"
        try:
            while True:
                try:
                    await self.client.connect()
                    if not await self.client.is_user_authorized():
                        raise ConfigError(
                            "the Telegram session is not logged in: run "
                            "`haechi watch telegram --login` once, in a terminal"
                        )
                    if not self.chats:
                        await self._resolve()
                    async with self.lock:
                        for chat in self.chats.values():
                            await self._catch_up(chat)
                    attempt = 0
                    if once:
                        break
                    await self.client.run_until_disconnected()
                    if self.fatal is not None:
                        raise self.fatal
                    ended += 1
                    self.log("disconnected from Telegram")
                except (TimeoutError, ConnectionError, OSError) as exc:
                    ended += 1
                    attempt += 1
                    if connections is not None and ended >= connections:
                        break
                    delay = min(2.0**attempt, self.settings.telegram.reconnect_max_seconds)
                    self.log(
                        f"connection lost ({exc or type(exc).__name__}); retry in {delay:.0f} s"
                    )
                    await self.sleep(delay)
                    continue
                if connections is not None and ended >= connections:
                    break
            status = "completed"
        finally:
            summaries = [run.finish(status) for run in self.runs.values()]
        return summaries

    async def _resolve(self) -> None:
        for wanted in self.wanted:
            ref: Any = int(wanted) if wanted.lstrip("-").isdigit() else wanted
            try:
                entity = await self._retry(partial(self.client.get_entity, ref))
            except (ValueError, TypeError) as exc:
                raise TelegramError(f"chat {wanted}: cannot be found ({exc})") from None
            chat = Chat(
                id=utils.get_peer_id(entity),
                title=utils.get_display_name(entity) or str(wanted),
                username=getattr(entity, "username", None),
                entity=entity,
            )
            self.chats[chat.id] = chat
            run = ScanRun(self.db, self.settings, KIND, f"telegram:{chat.id}", chat.title)
            self.runs[chat.id] = run
            self.cursors[chat.id] = _last_cursor(self.db, run.source_id)
            self.log(f"watching {chat.room} from message {self.cursors[chat.id] + 1}")
        self.client.add_event_handler(
            self._on_new_message, events.NewMessage(chats=[c.entity for c in self.chats.values()])
        )

    async def _catch_up(self, chat: Chat) -> None:
        while True:
            try:
                async for message in self.client.iter_messages(
                    chat.entity, min_id=self.cursors[chat.id], reverse=True
                ):
                    await self._handle(chat, message)
                return
            except FloodWaitError as exc:
                await self._flood_wait(exc)  # then read on from the cursor

    async def _on_new_message(self, event: Any) -> None:
        chat = self.chats.get(event.chat_id)
        if chat is None:
            return
        try:
            async with self.lock:  # one message at a time, in order: the cursor never skips
                await self._handle(chat, event.message)
        except TelegramError as exc:
            # Telethon swallows handler errors; stop the watcher through its own loop instead.
            self.fatal = exc
            await self.client.disconnect()

    async def _handle(self, chat: Chat, message: Any) -> None:
        if message.id <= self.cursors[chat.id]:
            return  # seen in the catch-up already
        run = self.runs[chat.id]
        place = await self._place(chat, message)
        if place is None:
            run.advance(str(message.id))
        else:
            run.feed([place])
        self.cursors[chat.id] = message.id

    async def _place(self, chat: Chat, message: Any) -> Sighting | SourceProblem | None:
        kind = media_kind(message)
        if kind is None:
            return None
        locator = str(message.id)
        size = message.file.size if message.file is not None else None
        if size is not None and size > self.limit:
            return SourceProblem(
                locator, f"{kind} of {size} bytes is over the limit of {self.limit}; not downloaded"
            )
        data = await self._retry(lambda: self.client.download_media(message, file=bytes))
        if not data:
            return SourceProblem(locator, f"{kind} could not be downloaded")
        if len(data) > self.limit:
            return SourceProblem(locator, f"{kind} is over the limit of {self.limit} bytes")
        ext = (message.file.ext if message.file is not None else None) or ""
        fwd = forward_of(message.fwd_from)
        return Sighting(
            locator=locator,
            content=BytesContent(data, f"telegram {chat.id}/{message.id}{ext}"),
            posted_at=message.date,
            room=chat.room,
            message_id=locator,
            url=chat.message_url(message.id),
            poster=poster_of(message),
            forwarded_from=fwd.describe() if fwd else None,
            forwarded_from_id=fwd.origin_id if fwd else None,
            forwarded_message_id=str(fwd.message_id) if fwd and fwd.message_id else None,
            forwarded_at=fwd.date if fwd else None,
            context=message.message or None,
        )

    async def _retry(self, call: Callable[[], Awaitable[Any]]) -> Any:
        while True:
            try:
                return await call()
            except FloodWaitError as exc:
                await self._flood_wait(exc)

    async def _flood_wait(self, exc: FloodWaitError) -> None:
        seconds = int(exc.seconds)
        bound = self.settings.telegram.max_flood_wait_seconds
        if seconds > bound:
            raise TelegramError(
                f"Telegram asks to wait {seconds} s (FLOOD_WAIT), longer than the allowed "
                f"{bound} s; stopped. Committed work is kept; run again later to resume."
            ) from None
        self.log(f"Telegram asks to wait {seconds} s (FLOOD_WAIT); waiting")
        await self.sleep(seconds)


def _last_cursor(db: Database, source_id: int) -> int:
    """The highest message id committed for this chat over all its scans."""
    with db.session() as s:
        cursors = s.scalars(
            select(Scan.cursor).where(Scan.source_id == source_id, Scan.cursor.is_not(None))
        )
        return max((int(c) for c in cursors if c and c.isdigit()), default=0)
