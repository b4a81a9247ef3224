"""Live Telegram as a streaming source: the configured chats, read with a user session, yield
their messages and media to the same scan as an export (`haechi.scan`, its writer and its
worker pool).

The watcher only reads: it never sends, joins, reacts or marks anything read (see
docs/telegram-live.md). It first catches up on each chat's history after the last message the
database holds for it, then listens for new messages. Every message becomes a `ChatMessage`
keyed as a Telegram Desktop export keys it (the chat's bare id as the room, "user42" as the
author), so `haechi rooms` and `haechi network` read a live chat exactly as its export. Each
photo, video or media document within the size limit is downloaded into memory, never to disk,
and yielded as a `Sighting` right after its message; the scan analyses it in a worker process
and commits it together with that message.

Telethon runs in a thread of its own with its own event loop; what it reads reaches the scan
through a bounded queue, so a slow analysis holds the reading back instead of filling memory.
When nothing arrives for a moment the stream yields `PAUSE` and the scan commits.

Telegram's servers are the edge of the world: this module talks to them only through the few
client methods in `TelegramClient` below, which Telethon's client provides."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from telethon import events, utils
from telethon.errors import FloodWaitError
from telethon.tl import types

from haechi.config import Settings
from haechi.errors import ConfigError, HaechiError
from haechi.i18n import _
from haechi.media import BytesContent
from haechi.sources.base import PAUSE, Pause, Sighting, SourceProblem
from haechi.sources.chat import ChatMedia, ChatMessage, ChatRoom, MediaStatus
from haechi.sources.live import LIVE_ROOT, TelegramLiveSource

# How long the stream waits for the next message before it lets the scan commit.
PAUSE_SECONDS = 0.2
# Messages waiting for the scan, and the bytes of the downloads they carry: the reading waits
# while either is reached (one download larger than the bound still goes, alone).
QUEUE_PLACES = 64
QUEUE_BYTES = 64 * 1024 * 1024


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


def account_id(marked: int | None) -> str | None:
    """An account or chat as Telegram Desktop's export names it ("user42", "channel7",
    "chat7": the kind and the bare id), from Telethon's marked id (-100… for channels)."""
    if marked is None:
        return None
    bare, kind = utils.resolve_id(marked)
    word = {types.PeerUser: "user", types.PeerChat: "chat", types.PeerChannel: "channel"}[kind]
    return f"{word}{bare}"


def room_kind(entity: Any) -> str:
    """The export's word for the chat's type."""
    if isinstance(entity, types.Channel):
        public = "public" if getattr(entity, "username", None) else "private"
        return f"{public}_{'supergroup' if entity.megagroup else 'channel'}"
    if isinstance(entity, types.Chat):
        return "private_group"
    if isinstance(entity, types.User):
        return "bot_chat" if entity.bot else "personal_chat"
    return ""


@dataclass(frozen=True)
class Chat:
    id: int  # Telegram's "marked" id: -100… for channels and supergroups
    title: str
    username: str | None
    entity: Any

    @property
    def key(self) -> str:
        """The room key: the bare id, as a Telegram Desktop export writes the chat's id."""
        return str(utils.resolve_id(self.id)[0])

    @property
    def room(self) -> ChatRoom:
        return ChatRoom(self.key, self.title, room_kind(self.entity))

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

    origin_id: str | None  # "channel123", "user42", "chat7", as an export names accounts
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
    origin = None if header.from_id is None else account_id(utils.get_peer_id(header.from_id))
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


def _media_type(message: Any) -> str | None:
    """The export's `media_type` for the file a message carries."""
    if message.photo is not None:
        return "photo"
    for attr, word in (
        ("video_note", "video_message"),
        ("gif", "animation"),
        ("video", "video_file"),
        ("voice", "voice_message"),
        ("audio", "audio_file"),
        ("sticker", "sticker"),
    ):
        if getattr(message, attr, None) is not None:
            return word
    return None


def _display_name(entity: Any) -> str | None:
    return (utils.get_display_name(entity) or None) if entity is not None else None


_ACTIONS: dict[type, str] = {
    types.MessageActionChatAddUser: "invite_members",
    types.MessageActionChatDeleteUser: "remove_members",
    types.MessageActionChatJoinedByLink: "join_group_by_link",
    types.MessageActionChatJoinedByRequest: "join_group_by_request",
    types.MessageActionChatCreate: "create_group",
    types.MessageActionChannelCreate: "create_channel",
    types.MessageActionChatEditTitle: "edit_group_title",
    types.MessageActionPinMessage: "pin_message",
}


def _action(action: Any) -> tuple[str, tuple[str, ...]]:
    """The export's action word and the accounts it names (invited, removed)."""
    word = _ACTIONS.get(type(action))
    if word is None:
        name = type(action).__name__.removeprefix("MessageAction")
        word = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    users = list(getattr(action, "users", None) or ())
    if getattr(action, "user_id", None) is not None:
        users.append(action.user_id)
    return word, tuple(f"user{u}" for u in users)


def _links(message: Any) -> tuple[str, ...]:
    out: list[str] = []
    if not message.entities:
        return ()
    for entity, text in message.get_entities_text():
        if isinstance(entity, types.MessageEntityTextUrl):
            out.append(entity.url)
        elif isinstance(entity, types.MessageEntityUrl):
            out.append(text)
    return tuple(out)


def _reactions(message: Any) -> int:
    reactions = getattr(message, "reactions", None)
    return sum(r.count for r in getattr(reactions, "results", None) or ())


def chat_message(chat: Chat, message: Any, media: tuple[ChatMedia, ...]) -> ChatMessage:
    """A Telethon message as the export's reader gives it: the same room key, the same
    account ids, the same words for service actions."""
    fwd = forward_of(getattr(message, "fwd_from", None))
    service = isinstance(message, types.MessageService)
    action, members = _action(message.action) if service else (None, ())
    bot = getattr(message, "via_bot", None)
    return ChatMessage(
        room=chat.room,
        id=message.id,
        kind="service" if service else "message",
        date=message.date,
        edited=getattr(message, "edit_date", None),
        author_id=account_id(message.sender_id),
        author_name=_display_name(getattr(message, "sender", None))
        or getattr(message, "post_author", None),
        forwarded_from=(fwd.name or fwd.origin_id) if fwd else None,
        saved_from=None,
        reply_to=message.reply_to_msg_id,
        via_bot=f"@{bot.username}" if bot is not None and getattr(bot, "username", None) else None,
        text=getattr(message, "message", None) or "",
        links=_links(message) if not service else (),
        media=media,
        action=action,
        members=members,
        reactions=_reactions(message),
    )


def _bytes(item: tuple[Any, ...]) -> int:
    """The downloaded bytes a queued message carries."""
    return sum(x.content.size for x in item if isinstance(x, Sighting))


Sleep = Callable[[float], Awaitable[None]]
Log = Callable[[str], None]
Connect = Callable[[], TelegramClient]


class _End:
    """The stream ended (once caught up, or after the connections allowed)."""


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class _StoppedError(Exception):
    """The scan stopped reading the stream."""


class TelegramLiveStream(TelegramLiveSource):
    """The watched chats as one streaming source (`telegram:live`). `connect` makes the client
    inside the stream's own event loop (Telethon binds a client to the loop it connects in)."""

    streaming = True

    def __init__(
        self,
        connect: Connect,
        settings: Settings,
        *,
        chats: Sequence[str] | None = None,
        login: bool = False,
        once: bool = False,
        connections: int | None = None,
        after: Mapping[str, int] | None = None,
        sleep: Sleep = asyncio.sleep,
        log: Log = lambda _: None,
    ) -> None:
        super().__init__(Path(LIVE_ROOT), settings)
        self.connect = connect
        self.wanted = list(chats if chats is not None else settings.telegram.chats)
        if not self.wanted:
            raise ConfigError(
                _("no chats to watch: set HAECHI_TELEGRAM__CHATS or give --chat (ids or @names)")
            )
        self.login = login
        self.once = once
        self.connections = connections
        self.sleep = sleep
        self.log = log
        self.limit = settings.telegram.max_media_bytes
        # room key → the last message handled; starts from what the database holds.
        self.after: dict[str, int] = dict(after or {})
        self.chats: dict[int, Chat] = {}
        self.client: TelegramClient | None = None
        self.queue: queue.Queue[Any] = queue.Queue(QUEUE_PLACES)
        self.stopping = threading.Event()
        self.queued_bytes = 0  # of the downloads in the queue; under `counting`
        self.counting = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.lock: asyncio.Lock | None = None
        self.fatal: BaseException | None = None

    def resume(self, after: Mapping[str, int]) -> None:
        for key, mid in after.items():
            self.after[key] = max(mid, self.after.get(key, 0))

    # -- the scan's side ---------------------------------------------------------------------
    def sightings(self) -> Iterator[Sighting | SourceProblem | ChatMessage | Pause]:
        thread = threading.Thread(target=self._thread, name="haechi-telegram", daemon=True)
        thread.start()
        idle = False
        try:
            while True:
                try:
                    item = self.queue.get(timeout=PAUSE_SECONDS)
                except queue.Empty:
                    if not idle:
                        idle = True
                        yield PAUSE
                    continue
                if isinstance(item, _End):
                    return
                if isinstance(item, _Failed):
                    raise item.error
                if isinstance(item, tuple):  # a message and its media, if any
                    idle = False
                    with self.counting:
                        self.queued_bytes -= _bytes(item)
                    yield from (x for x in item if x is not None)
                else:
                    idle = isinstance(item, Pause)
                    yield item
        finally:
            self._stop(thread)

    def _stop(self, thread: threading.Thread) -> None:
        self.stopping.set()
        loop, client = self.loop, self.client
        if thread.is_alive() and loop is not None and client is not None:
            with contextlib.suppress(RuntimeError):  # the loop has just ended by itself
                asyncio.run_coroutine_threadsafe(client.disconnect(), loop)
        thread.join(timeout=30)

    # -- Telethon's side (its own thread and event loop) -----------------------------------------
    def _thread(self) -> None:
        try:
            asyncio.run(self._main())
            last: Any = _End()
        except _StoppedError:
            return
        except BaseException as exc:  # handed to the scan's thread, which raises it
            last = _Failed(exc)
        with contextlib.suppress(_StoppedError):
            self._put(last)

    def _put(self, item: Any) -> None:
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _StoppedError

    async def _emit(self, item: Any) -> None:
        """Hand a message (and its media) to the scan; waits, without holding up the loop,
        while the queue is full."""
        size = _bytes(item) if isinstance(item, tuple) else 0
        while True:
            if self.stopping.is_set():
                raise _StoppedError
            with self.counting:
                room = self.queued_bytes == 0 or self.queued_bytes + size <= QUEUE_BYTES
                if room:
                    try:
                        self.queue.put_nowait(item)
                        self.queued_bytes += size
                        return
                    except queue.Full:
                        pass
            await asyncio.sleep(0.05)

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.lock = asyncio.Lock()
        self.client = self.connect()
        try:
            await self._watch(self.client)
        finally:
            await self.client.disconnect()

    async def _watch(self, client: TelegramClient) -> None:
        """Catch up, then listen until stopped. `once`: catch up and end (for a cron job).
        `connections`: end after that many connections have ended (tests, supervisors)."""
        assert self.lock is not None
        attempt = 0
        ended = 0
        while not self.stopping.is_set():
            try:
                if self.login:
                    await client.start()  # type: ignore[attr-defined]
                    self.login = False
                else:
                    await client.connect()
                if not await client.is_user_authorized():
                    raise ConfigError(
                        _(
                            "the Telegram session is not logged in: run "
                            "`haechi watch telegram --login` once, in a terminal"
                        )
                    )
                if not self.chats:
                    await self._resolve(client)
                async with self.lock:
                    for chat in self.chats.values():
                        await self._catch_up(client, chat)
                    await self._emit(PAUSE)
                attempt = 0
                if self.once:
                    return
                await client.run_until_disconnected()
                if self.fatal is not None:
                    raise self.fatal
                if self.stopping.is_set():
                    return
                ended += 1
                self.log(_("disconnected from Telegram"))
            except (TimeoutError, ConnectionError, OSError) as exc:
                ended += 1
                attempt += 1
                if self.connections is not None and ended >= self.connections:
                    return
                delay = min(2.0**attempt, self.settings.telegram.reconnect_max_seconds)
                why = str(exc) or type(exc).__name__
                self.log(
                    _("connection lost ({reason}); retry in {seconds} s").format(
                        reason=why, seconds=f"{delay:.0f}"
                    )
                )
                await self.sleep(delay)
                continue
            if self.connections is not None and ended >= self.connections:
                return

    async def _resolve(self, client: TelegramClient) -> None:
        for wanted in self.wanted:
            ref: Any = int(wanted) if wanted.lstrip("-").isdigit() else wanted
            try:
                entity = await self._retry(partial(client.get_entity, ref))
            except (ValueError, TypeError) as exc:
                raise TelegramError(
                    _("chat {chat}: cannot be found ({reason})").format(chat=wanted, reason=exc)
                ) from None
            chat = Chat(
                id=utils.get_peer_id(entity),
                title=utils.get_display_name(entity) or str(wanted),
                username=getattr(entity, "username", None),
                entity=entity,
            )
            self.chats[chat.id] = chat
            start = self.after.get(chat.key, 0)
            self.log(
                _("watching {title} ({id}) from message {start}").format(
                    title=chat.title, id=chat.key, start=start + 1
                )
            )
        client.add_event_handler(
            self._on_new_message, events.NewMessage(chats=[c.entity for c in self.chats.values()])
        )

    async def _catch_up(self, client: TelegramClient, chat: Chat) -> None:
        while True:
            try:
                async for message in client.iter_messages(
                    chat.entity, min_id=self.after.get(chat.key, 0), reverse=True
                ):
                    await self._handle(chat, message)
                return
            except FloodWaitError as exc:
                await self._flood_wait(exc)  # then read on from the last message handled

    async def _on_new_message(self, event: Any) -> None:
        chat = self.chats.get(event.chat_id)
        if chat is None:
            return
        assert self.lock is not None
        try:
            async with self.lock:  # one message at a time, in order: nothing is skipped
                await self._handle(chat, event.message)
                await self._emit(PAUSE)  # a live message is committed at once
        except (TelegramError, _StoppedError) as exc:
            # Telethon swallows handler errors; stop the watcher through its own loop instead.
            self.fatal = exc
            if self.client is not None:
                await self.client.disconnect()

    async def _handle(self, chat: Chat, message: Any) -> None:
        if isinstance(message, types.MessageEmpty):
            return  # a deleted message's placeholder: nothing was said
        if message.id <= self.after.get(chat.key, 0):
            return  # seen in the catch-up already, or stored by an earlier run
        place, status = await self._place(chat, message)
        media: tuple[ChatMedia, ...] = ()
        if status is not None:
            mime = message.file.mime_type if message.file is not None else None
            media = (ChatMedia(None, _media_type(message), mime, status),)
        # The message and its media go as one: the scan never sees a pause between them.
        await self._emit((chat_message(chat, message, media), place))
        self.after[chat.key] = message.id

    async def _place(
        self, chat: Chat, message: Any
    ) -> tuple[Sighting | SourceProblem | None, MediaStatus | None]:
        """The message's media as a sighting (or why not), and its status on the message."""
        if isinstance(message, types.MessageService) or message.media is None:
            return None, None
        kind = media_kind(message)
        if kind is None:
            # Not analysed (a sticker, a voice message, a file): its presence is recorded on
            # the message, as an export records a file it did not include.
            return None, "not_included" if message.file is not None else None
        locator = f"{chat.key}/{message.id}"
        size = message.file.size if message.file is not None else None
        if size is not None and size > self.limit:
            reason = f"{kind} of {size} bytes is over the limit of {self.limit}; not downloaded"
            return SourceProblem(locator, reason), "not_included"
        data = await self._retry(lambda: self._client().download_media(message, file=bytes))
        if not data:
            return SourceProblem(locator, f"{kind} could not be downloaded"), "absent"
        if len(data) > self.limit:
            reason = f"{kind} is over the limit of {self.limit} bytes"
            return SourceProblem(locator, reason), "not_included"
        ext = (message.file.ext if message.file is not None else None) or ""
        fwd = forward_of(message.fwd_from)
        sighting = Sighting(
            locator=locator,
            content=BytesContent(data, f"telegram {chat.id}/{message.id}{ext}"),
            posted_at=message.date,
            room=chat.key,
            message_id=str(message.id),
            url=chat.message_url(message.id),
            poster=account_id(message.sender_id) or _display_name(getattr(message, "sender", None)),
            forwarded_from=fwd.describe() if fwd else None,
            forwarded_from_id=fwd.origin_id if fwd else None,
            forwarded_message_id=str(fwd.message_id) if fwd and fwd.message_id else None,
            forwarded_at=fwd.date if fwd else None,
            context=message.message or None,
        )
        return sighting, "present"

    def _client(self) -> TelegramClient:
        assert self.client is not None
        return self.client

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
                _(
                    "Telegram asks to wait {seconds} s (FLOOD_WAIT), longer than the allowed "
                    "{bound} s; stopped. Committed work is kept; run again later to resume."
                ).format(seconds=seconds, bound=bound)
            ) from None
        waiting = _("Telegram asks to wait {seconds} s (FLOOD_WAIT); waiting")
        self.log(waiting.format(seconds=seconds))
        await self.sleep(seconds)
