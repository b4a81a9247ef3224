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
client methods in `TelegramClient` (`haechi.sources.telegram_api`), which Telethon's client
provides."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from telethon import events, utils
from telethon.errors import FloodWaitError
from telethon.tl import types

from haechi.config import Settings
from haechi.errors import ConfigError
from haechi.i18n import _
from haechi.media import BytesContent
from haechi.sources.base import PAUSE, Pause, Sighting, SourceProblem
from haechi.sources.chat import ChatMedia, ChatMessage, MediaStatus
from haechi.sources.live import LIVE_ROOT, TelegramLiveSource
from haechi.sources.telegram_api import (
    Chat,
    Connect,
    Log,
    Sleep,
    TelegramClient,
    TelegramError,
    account_id,
    chat_message,
    display_name,
    forward_of,
    media_kind,
    media_type,
)
from haechi.sources.telegram_queue import (
    PAUSE_SECONDS,
    QUEUE_BYTES,
    QUEUE_PLACES,
    End,
    Failed,
    StoppedError,
    carried_bytes,
)


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
        """Start each chat after the given message id (the last one stored), never going back."""
        for key, mid in after.items():
            self.after[key] = max(mid, self.after.get(key, 0))

    # -- the scan's side ---------------------------------------------------------------------
    def sightings(self) -> Iterator[Sighting | SourceProblem | ChatMessage | Pause]:
        """Messages and media as the reading thread delivers them, with `PAUSE` when nothing comes
        for a moment; stops the thread when the scan stops reading."""
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
                if isinstance(item, End):
                    return
                if isinstance(item, Failed):
                    raise item.error
                if isinstance(item, tuple):  # a message and its media, if any
                    idle = False
                    with self.counting:
                        self.queued_bytes -= carried_bytes(item)
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
            last: Any = End()
        except StoppedError:
            return
        except BaseException as exc:  # handed to the scan's thread, which raises it
            last = Failed(exc)
        with contextlib.suppress(StoppedError):
            self._put(last)

    def _put(self, item: Any) -> None:
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise StoppedError

    async def _emit(self, item: Any) -> None:
        """Hand a message (and its media) to the scan; waits, without holding up the loop,
        while the queue is full."""
        size = carried_bytes(item) if isinstance(item, tuple) else 0
        while True:
            if self.stopping.is_set():
                raise StoppedError
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
        except (TelegramError, StoppedError) as exc:
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
            media = (ChatMedia(None, media_type(message), mime, status),)
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
            poster=account_id(message.sender_id) or display_name(getattr(message, "sender", None)),
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
