"""A deliberate public search on Telegram with the user's own session: Telegram's directory of
public channels and groups (`contacts.SearchRequest`), then each room's public description
(`channels.GetFullChannelRequest`). Both are reads of what anyone can look up: nothing here
joins a room, sends a message or changes the account, and only these two request types are
ever made (the client's other methods are not called).

A flood wait (Telegram asking to slow down) is slept through when it is within the bound the
settings allow and the total stays within it too; past that, the search stops and says which
queries were left. The client is anything that can be awaited with a request: Telethon's
TelegramClient in use, a stand-in built from Telethon's own types in the tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from telethon.errors import FloodWaitError
from telethon.tl import types
from telethon.tl.functions.channels import GetFullChannelRequest
from telethon.tl.functions.contacts import SearchRequest

from haechi.discover.links import TelegramRef, ref_from_path

DESCRIPTION_LINES = 20


class SearchClient(Protocol):
    """Anything awaitable with a Telegram request that returns its answer (Telethon's
    TelegramClient is one). Only the two read requests named in this module are ever sent."""

    async def __call__(self, request: Any) -> Any: ...


@dataclass(frozen=True)
class FoundRoom:
    """A public channel or group a query found, as Telegram describes it."""

    query: str
    ref: TelegramRef
    telegram_id: int
    title: str
    members: int | None
    kind: str  # channel | group
    description: tuple[str, ...]


@dataclass
class SearchRun:
    """What a search did: the queries run and those left, the rooms found, how many requests
    it made, how long it slept through flood waits (seconds) and why it stopped early, if it did."""

    queries_done: list[str] = field(default_factory=list)
    queries_left: list[str] = field(default_factory=list)
    found: list[FoundRoom] = field(default_factory=list)
    requests: int = 0
    waited: float = 0.0
    stopped: str | None = None  # why the search ended early, if it did


class _TooLongError(Exception):
    def __init__(self, seconds: int) -> None:
        self.seconds = seconds


async def search_public(
    client: SearchClient,
    queries: Sequence[str],
    *,
    limit: int,
    max_wait: float,
    sleep: Callable[[float], Awaitable[None]],
    log: Callable[[str], None] = lambda _m: None,
) -> SearchRun:
    """Search each query; describe each public room found once."""
    run = SearchRun()
    described: dict[int, FoundRoom] = {}

    async def ask(request: Any) -> Any:
        while True:
            try:
                run.requests += 1
                return await client(request)
            except FloodWaitError as exc:
                seconds = int(exc.seconds)
                if seconds > max_wait or run.waited + seconds > max_wait:
                    raise _TooLongError(seconds) from None
                log(f"Telegram asks to wait {seconds} s (flood wait); waiting")
                run.waited += seconds
                await sleep(seconds)

    for i, query in enumerate(queries):
        try:
            found = await ask(SearchRequest(q=query, limit=limit))
            for chat in getattr(found, "chats", ()):
                if not isinstance(chat, types.Channel) or not chat.username:
                    continue  # only public channels and groups, named by a username
                if chat.id in described:
                    run.found.append(_again(described[chat.id], query))
                    continue
                full = await ask(
                    GetFullChannelRequest(types.InputChannel(chat.id, chat.access_hash or 0))
                )
                room = _room(query, chat, full)
                if room is not None:
                    described[chat.id] = room
                    run.found.append(room)
        except _TooLongError as exc:
            run.stopped = (
                f"Telegram asked to wait {exc.seconds} s, over the limit of {max_wait:.0f} s "
                "(HAECHI_TELEGRAM__MAX_FLOOD_WAIT_SECONDS)"
            )
            run.queries_left = list(queries[i:])
            return run
        run.queries_done.append(query)
    return run


def _again(room: FoundRoom, query: str) -> FoundRoom:
    return FoundRoom(
        query, room.ref, room.telegram_id, room.title, room.members, room.kind, room.description
    )


def _room(query: str, chat: types.Channel, full: Any) -> FoundRoom | None:
    ref = ref_from_path(chat.username or "")
    if ref is None:
        return None
    about = getattr(getattr(full, "full_chat", None), "about", "") or ""
    members = getattr(getattr(full, "full_chat", None), "participants_count", None)
    if members is None:
        members = chat.participants_count
    lines = tuple(x.strip() for x in about.splitlines() if x.strip())[:DESCRIPTION_LINES]
    return FoundRoom(
        query=query,
        ref=ref,
        telegram_id=int(chat.id),
        title=chat.title or "",
        members=members,
        kind="channel" if chat.broadcast else "group",
        description=lines,
    )
