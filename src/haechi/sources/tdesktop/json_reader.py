"""Streaming reader of Telegram Desktop JSON exports (single chat and full account).

Built on ijson's event stream: one message object at a time is assembled, converted and
dropped, so a result.json of any size costs a few megabytes. A syntax fault ends the file with
one problem naming its byte offset; the messages before it are kept."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import ijson  # type: ignore[import-untyped]

from haechi.sources.chat import ChatMedia, ChatMessage, ChatRoom
from haechi.sources.tdesktop.common import Context, emit_allowed
from haechi.sources.tdesktop.types import READ_SIZE

_BAD_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\x([0-9A-Fa-f]{2})")


class _CountingReader(io.RawIOBase):
    """File wrapper for ijson: counts the bytes consumed and repairs the
    ``\\xNN`` escapes that tdesktop writes for control characters (invalid
    JSON) into ``\\u00NN``.  Keeps the last two chunks so a parse error can
    be located precisely."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw
        self.consumed = 0  # bytes of the original file handed out so far
        self.last_start = 0  # file offset of the chunk(s) kept below
        self.last_data = b""  # last two chunks, as given to the parser
        self._carry = b""
        self.repaired = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        chunk = self._raw.read(size if size > 0 else READ_SIZE)
        self.consumed += len(chunk)
        data = self._carry + chunk
        self._carry = b""
        if chunk:
            # keep a trailing, possibly incomplete escape for the next round
            tail = data.rfind(b"\\", max(0, len(data) - 4))
            if tail >= 0:
                while tail > 0 and data[tail - 1 : tail] == b"\\":
                    tail -= 1
                self._carry = data[tail:]
                data = data[:tail]
                if not data:
                    # pathological run of backslashes: hand it out anyway
                    data, self._carry = self._carry, b""
        if b"\\x" in data:
            data, count = _BAD_ESCAPE.subn(rb"\1\\u00\2", data)
            self.repaired += count
        previous = self.last_data[-READ_SIZE:] if self.last_data else b""
        self.last_start = self.consumed - len(self._carry) - len(data) - len(previous)
        self.last_data = previous + data
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _error_offset(reader: _CountingReader, message: str) -> int:
    """Best effort exact byte offset of a yajl error, from the context
    snippet yajl puts in its message; falls back to the bytes read."""
    lines = message.split("\n")
    if len(lines) >= 3 and "(right here)" in lines[2]:
        caret = lines[2].find("^")
        context = lines[1]
        before = context[10:caret].lstrip(" ") if caret > 10 else ""
        after = context[caret:]
        probe = (before + after).rstrip(" ")
        if probe:
            haystack = reader.last_data.replace(b"\n", b" ").replace(b"\r", b" ")
            needle = probe.encode("utf-8", "ignore")
            found = haystack.rfind(needle)
            if found >= 0:
                # yajl points just past the byte where it gave up
                end = reader.last_start + found + len(before.encode("utf-8", "ignore"))
                return max(end - 1, 0)
    return reader.consumed


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts: list[str] = []
        for part in value:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict):
                inner = part.get("text")
                if isinstance(inner, str):
                    parts.append(inner)
        return "".join(parts)
    return ""


def _entity_links(entities: Any, into: list[str]) -> None:
    if not isinstance(entities, list):
        return
    for part in entities:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text_link":
            href = part.get("href")
        elif kind == "link":
            href = part.get("text")
        else:
            continue
        if isinstance(href, str) and href and href not in into:
            into.append(href)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class _JsonChat:
    __slots__ = ("count", "id", "index", "kind", "name", "room")

    def __init__(self, index: int) -> None:
        self.index = index
        self.id: str | None = None
        self.name: str | None = None
        self.kind: str | None = None
        self.room: ChatRoom | None = None
        self.count = 0

    def get_room(self) -> ChatRoom:
        if self.room is None:
            room_id = self.id if self.id is not None else f"#{self.index}"
            self.room = ChatRoom(room_id, self.name or "", self.kind or "")
        return self.room


_CHAT_PREFIXES = frozenset({"chats.list.item", "left_chats.list.item"})
# message item prefix -> prefix of the chat object owning it ("" = the root)
_MESSAGE_OWNER = {"messages.item": "", **{f"{p}.messages.item": p for p in _CHAT_PREFIXES}}
_META_FIELDS = {
    **{f: ("", f) for f in ("name", "type", "id")},
    **{f"{p}.{f}": (p, f) for p in _CHAT_PREFIXES for f in ("name", "type", "id")},
}
_MEDIA_FIELDS: tuple[tuple[str, str | None], ...] = (
    ("photo", "photo"),
    ("file", None),
    ("thumbnail", "thumbnail"),
    ("contact_vcard", "contact_vcard"),
)


class JsonReader:
    def __init__(
        self,
        ctx: Context,
        path: Path,
        after: Mapping[str, int] | None,
    ) -> None:
        self.ctx = ctx
        self.path = path
        self.base = path.parent
        self.after = after
        self.chat_index = 0
        self.last_good: str = "none yet"

    def _date(self, msg: dict[str, Any], unix_key: str, text_key: str) -> datetime | None:
        raw = msg.get(unix_key)
        stamp = _as_int(raw)
        if stamp is not None:
            return datetime.fromtimestamp(stamp, UTC)
        text = msg.get(text_key)
        if isinstance(text, str) and text:
            return self.ctx.naive_to_utc(datetime.fromisoformat(text))
        return None

    def convert(self, msg: dict[str, Any], chat: _JsonChat, ordinal: int) -> ChatMessage | None:
        kind_raw = msg.get("type")
        raw_id = msg.get("id")
        message_id = _as_int(raw_id) if raw_id is not None else ordinal
        where = f"message {raw_id if raw_id is not None else '#' + str(ordinal)}"
        if kind_raw == "unsupported":
            return None  # tdesktop placeholder for media it cannot export
        if kind_raw not in ("message", "service"):
            self.ctx.problem(self.path, where, f"unknown message type {kind_raw!r}; skipped")
            return None
        if message_id is None:
            self.ctx.problem(self.path, where, f"message id {raw_id!r} is not an integer")
            return None
        room = chat.get_room()
        if not emit_allowed(self.after, room, message_id):
            return None
        try:
            date = self._date(msg, "date_unixtime", "date")
            edited = self._date(msg, "edited_unixtime", "edited")
        except (ValueError, OverflowError, OSError) as exc:
            self.ctx.problem(self.path, where, f"bad date: {exc}; skipped")
            return None
        if date is None:
            self.ctx.problem(self.path, where, "message has no date; skipped")
            return None

        if kind_raw == "service":
            author_id = _opt_str(msg.get("actor_id")) or _opt_str(msg.get("from_id"))
            author_name = _opt_str(msg.get("actor")) or _opt_str(msg.get("from"))
        else:
            author_id = _opt_str(msg.get("from_id"))
            author_name = _opt_str(msg.get("from"))

        raw_text = msg.get("text")
        entities = msg.get("text_entities")
        text = _plain(raw_text) if raw_text is not None else _plain(entities)
        links: list[str] = []
        _entity_links(raw_text, links)
        _entity_links(entities, links)

        media: list[ChatMedia] = []
        for key, fixed_type in _MEDIA_FIELDS:
            value = msg.get(key)
            if isinstance(value, str) and value:
                if key == "file":
                    media_type = _opt_str(msg.get("media_type"))
                    mime = _opt_str(msg.get("mime_type"))
                else:
                    media_type, mime = fixed_type, None
                media.append(
                    self.ctx.media(
                        value, self.base, media_type, mime, file=self.path, position=where
                    )
                )

        members_raw = msg.get("members")
        members: tuple[str, ...] = ()
        if isinstance(members_raw, list):
            members = tuple(m if isinstance(m, str) else "Deleted Account" for m in members_raw)

        reactions = 0
        reactions_raw = msg.get("reactions")
        if isinstance(reactions_raw, list):
            for reaction in reactions_raw:
                if isinstance(reaction, dict):
                    reactions += _as_int(reaction.get("count")) or 0

        return ChatMessage(
            room=room,
            id=message_id,
            kind="service" if kind_raw == "service" else "message",
            date=date,
            edited=edited,
            author_id=author_id,
            author_name=author_name,
            forwarded_from=_opt_str(msg.get("forwarded_from")),
            saved_from=_opt_str(msg.get("saved_from")),
            reply_to=_as_int(msg.get("reply_to_message_id")),
            via_bot=_opt_str(msg.get("via_bot")),
            text=text,
            links=tuple(links),
            media=tuple(media),
            action=_opt_str(msg.get("action")),
            members=members,
            reactions=reactions,
        )

    def run(self) -> Iterator[ChatMessage]:
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            self.ctx.problem(self.path, "byte 0", f"cannot open: {exc}")
            return
        with handle:
            reader = _CountingReader(handle)
            try:
                yield from self._events(reader)
            except Exception as exc:  # every fault becomes a ParseProblem
                detail = str(exc).split("\n", 1)[0] or type(exc).__name__
                offset = _error_offset(reader, str(exc))
                self.ctx.problem(
                    self.path,
                    f"byte {offset}",
                    f"invalid JSON ({type(exc).__name__}: {detail}); "
                    f"stopped after {self.last_good}",
                )

    def _events(self, reader: _CountingReader) -> Iterator[ChatMessage]:
        chats: dict[str, _JsonChat] = {}
        root_chat: _JsonChat | None = None
        stack: list[Any] = []
        keys: list[Any] = []
        depth = 0
        current: dict[str, Any] = {}
        current_chat: _JsonChat | None = None
        for prefix, event, value in ijson.parse(reader, buf_size=READ_SIZE, use_float=True):
            if depth:
                if event == "map_key":
                    keys[-1] = value
                elif event in ("start_map", "start_array"):
                    new: Any = {} if event == "start_map" else []
                    top = stack[-1]
                    if type(top) is list:
                        top.append(new)
                    else:
                        top[keys[-1]] = new
                    stack.append(new)
                    keys.append(None)
                    depth += 1
                elif event in ("end_map", "end_array"):
                    stack.pop()
                    keys.pop()
                    depth -= 1
                    if depth == 0 and current_chat is not None:
                        chat = current_chat
                        chat.count += 1
                        message = self.convert(current, chat, chat.count)
                        if message is not None:
                            self.last_good = f"message {message.id} of room {message.room.id}"
                            yield message
                else:
                    top = stack[-1]
                    if type(top) is list:
                        top.append(value)
                    else:
                        top[keys[-1]] = value
                continue
            if event == "start_map":
                if prefix in _MESSAGE_OWNER:
                    owner = _MESSAGE_OWNER[prefix]
                    if owner:
                        current_chat = chats.get(owner)
                    else:
                        if root_chat is None:
                            self.chat_index += 1
                            root_chat = _JsonChat(self.chat_index)
                        current_chat = root_chat
                    if current_chat is None:  # defensive; chats are opened below
                        self.chat_index += 1
                        current_chat = chats[owner] = _JsonChat(self.chat_index)
                    current = {}
                    stack = [current]
                    keys = [None]
                    depth = 1
                elif prefix in _CHAT_PREFIXES:
                    self.chat_index += 1
                    chats[prefix] = _JsonChat(self.chat_index)
            elif prefix in _META_FIELDS and event in ("string", "number", "null"):
                owner, field = _META_FIELDS[prefix]
                if owner:
                    chat_meta = chats.get(owner)
                else:
                    if root_chat is None:
                        self.chat_index += 1
                        root_chat = _JsonChat(self.chat_index)
                    chat_meta = root_chat
                if chat_meta is not None:
                    text_value = None if value is None else str(value)
                    if field == "id":
                        chat_meta.id = text_value
                    elif field == "name":
                        chat_meta.name = text_value
                    else:
                        chat_meta.kind = text_value
