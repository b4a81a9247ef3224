"""Streaming reader of Telegram Desktop JSON exports (single chat and full account).

Built on ijson's event stream: one message object at a time is assembled, converted and
dropped, so a result.json of any size costs a few megabytes. A syntax fault ends the file with
one problem naming its byte offset; the messages before it are kept."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ijson  # type: ignore[import-untyped]

from haechi.config import Limits
from haechi.sources.chat import ChatMedia, ChatMessage, ChatRoom
from haechi.sources.tdesktop.common import Context, emit_allowed
from haechi.sources.tdesktop.json_stream import CountingReader, error_offset
from haechi.sources.tdesktop.types import READ_SIZE


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
# Prefixes are needed down to "chats.list.item.messages.item" (5 levels).
_TRACKED_DEPTH = 6
_MEDIA_FIELDS: tuple[tuple[str, str | None], ...] = (
    ("photo", "photo"),
    ("file", None),
    ("thumbnail", "thumbnail"),
    ("contact_vcard", "contact_vcard"),
)


class JsonReader:
    """Reads one result.json as a stream of ChatMessages, past the resume point `after`, within
    `limits`; every fault is a problem reported to `ctx`, never an exception."""

    def __init__(
        self,
        ctx: Context,
        path: Path,
        after: Mapping[str, int] | None,
        limits: Limits | None = None,
    ) -> None:
        self.ctx = ctx
        self.path = path
        self.base = path.parent
        self.after = after
        self.chat_index = 0
        self.last_good: str = "none yet"
        self.limits = limits or Limits()
        self._stream: Iterator[tuple[str, Any]] = iter(())

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
        """One message object as a ChatMessage, or None when it is skipped (tdesktop's
        "unsupported" placeholder, an unknown type or bad id, reported; or already stored)."""
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
        """Every message of the file in order; a file that cannot be opened or stops being valid
        JSON ends with one problem naming the byte offset and the last message read."""
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            self.ctx.problem(self.path, "byte 0", f"cannot open: {exc}")
            return
        with handle:
            reader = CountingReader(handle, self.limits.max_export_string_bytes)
            try:
                yield from self._events(reader)
            except Exception as exc:  # every fault becomes a ParseProblem
                detail = str(exc).split("\n", 1)[0] or type(exc).__name__
                offset = error_offset(reader, str(exc))
                self.ctx.problem(
                    self.path,
                    f"byte {offset}",
                    f"invalid JSON ({type(exc).__name__}: {detail}); "
                    f"stopped after {self.last_good}",
                )

    def _events(self, reader: CountingReader) -> Iterator[ChatMessage]:
        # basic_parse, not parse: ijson's prefixes cost memory with the square of the depth
        # (50,000 nested arrays: 6 GB). The few prefixes needed are kept here, shallow only.
        chats: dict[str, _JsonChat] = {}
        root_chat: _JsonChat | None = None
        comps: list[str] = []  # per open container outside a message: its key, or "item"
        deep = 0  # open containers below the tracked ones (nothing there is read)
        self._stream = ijson.basic_parse(reader, buf_size=READ_SIZE, use_float=True)
        for event, value in self._stream:
            if event == "map_key":
                if not deep:
                    comps[-1] = value
                continue
            if event == "end_map" or event == "end_array":
                if deep:
                    deep -= 1
                else:
                    comps.pop()
                continue
            prefix = ".".join(comps) if not deep else ""
            if event == "start_map" and prefix in _MESSAGE_OWNER:
                owner = _MESSAGE_OWNER[prefix]
                if owner:
                    chat = chats.get(owner)
                    if chat is None:  # defensive; chats are opened below
                        self.chat_index += 1
                        chat = chats[owner] = _JsonChat(self.chat_index)
                else:
                    if root_chat is None:
                        self.chat_index += 1
                        root_chat = _JsonChat(self.chat_index)
                    chat = root_chat
                message = self._message(reader, chat)
                if message is not None:
                    self.last_good = f"message {message.id} of room {message.room.id}"
                    yield message
                continue  # the message's own end_map was read by _message
            if event == "start_map" or event == "start_array":
                if event == "start_map" and prefix in _CHAT_PREFIXES:
                    self.chat_index += 1
                    chats[prefix] = _JsonChat(self.chat_index)
                if deep or len(comps) >= _TRACKED_DEPTH:
                    deep += 1
                else:
                    comps.append("" if event == "start_map" else "item")
                continue
            if prefix in _META_FIELDS:
                owner, field = _META_FIELDS[prefix]
                if owner:
                    chat_meta = chats.get(owner)
                else:
                    if root_chat is None:
                        self.chat_index += 1
                        root_chat = _JsonChat(self.chat_index)
                    chat_meta = root_chat
                if chat_meta is not None and event in ("string", "number", "null"):
                    text_value = None if value is None else str(value)
                    if text_value is not None and text_value.endswith(reader.marker):
                        self.ctx.problem(
                            self.path,
                            f"byte {reader.cut_at[-1]}",
                            f"chat {field} is over {reader.max_string} bytes; cut",
                        )
                        text_value = text_value[: -len(reader.marker)]
                    if field == "id":
                        chat_meta.id = text_value
                    elif field == "name":
                        chat_meta.name = text_value
                    else:
                        chat_meta.kind = text_value

    def _message(self, reader: CountingReader, chat: _JsonChat) -> ChatMessage | None:
        """Assemble one message object (its start_map already read) within the limits, then
        convert it; a message over a limit is read to its end, kept nowhere, and reported."""
        limits = self.limits
        started = reader.consumed
        current: dict[str, Any] = {}
        stack: list[Any] = [current]
        keys: list[Any] = [None]
        depth = 1
        refused: str | None = None
        message_id: Any = None
        events = self._stream
        for event, value in events:
            if event == "map_key":
                if refused is None:
                    if value.endswith(reader.marker):
                        refused = f"a key is over {reader.max_string} bytes"
                    keys[-1] = value
                continue
            if event == "start_map" or event == "start_array":
                depth += 1
                if refused is None:
                    if depth > limits.max_export_depth:
                        refused = f"nested deeper than {limits.max_export_depth} levels"
                    else:
                        new: Any = {} if event == "start_map" else []
                        top = stack[-1]
                        if type(top) is list:
                            top.append(new)
                        else:
                            top[keys[-1]] = new
                        stack.append(new)
                        keys.append(None)
            elif event == "end_map" or event == "end_array":
                depth -= 1
                if refused is None:
                    stack.pop()
                    keys.pop()
                if depth == 0:
                    break
            elif refused is None:
                if type(value) is str and value.endswith(reader.marker):
                    refused = f"a string is over {reader.max_string} bytes"
                top = stack[-1]
                if type(top) is list:
                    top.append(value)
                else:
                    top[keys[-1]] = value
                    if depth == 1 and keys[-1] == "id":
                        message_id = value
            if refused is None and reader.consumed - started > limits.max_export_message_bytes:
                refused = f"message is over {limits.max_export_message_bytes} bytes"
            if refused is not None and stack:
                # Drop what was built: a refused message must not keep its memory.
                stack, keys, current = [], [], {}
        chat.count += 1
        if refused is None:
            return self.convert(current, chat, chat.count)
        where = f"message {message_id if message_id is not None else '#' + str(chat.count)}"
        self.ctx.problem(self.path, where, f"{refused}; skipped")
        return None
