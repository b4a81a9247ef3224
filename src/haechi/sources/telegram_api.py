"""What the live watcher reads from Telegram and how it becomes haechi's chat records: the few
client methods it calls (`TelegramClient`, which Telethon's client provides) and the conversion
of a Telegram message into a `ChatMessage` keyed as a Telegram Desktop export keys it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from telethon import utils
from telethon.tl import types

from haechi.errors import HaechiError
from haechi.sources.chat import ChatMedia, ChatMessage, ChatRoom


class TelegramError(HaechiError):
    """Telegram refused to go on (a flood wait longer than allowed, a chat that cannot be read)."""


class TelegramClient(Protocol):
    """The client methods the watcher calls; Telethon's `TelegramClient` provides them all."""

    async def connect(self) -> None:
        """Connect with the stored session (again after each disconnection); never logs in."""

    async def is_user_authorized(self) -> bool:
        """Whether the session is logged in; the watcher stops with advice when it is not."""

    async def get_entity(self, entity: Any) -> Any:
        """The chat a configured id or @name stands for; ValueError or TypeError when there is
        none the account can see."""

    def iter_messages(self, entity: Any, *, min_id: int, reverse: bool) -> AsyncIterator[Any]:
        """The chat's messages after `min_id`, oldest first with `reverse` (the catch-up)."""

    async def download_media(self, message: Any, file: type[bytes]) -> bytes | None:
        """The message's file in memory (`file=bytes`), never on disk; None when there was
        nothing to download."""

    def add_event_handler(self, callback: Callable[[Any], Awaitable[None]], event: Any) -> None:
        """Call `callback` for each new message in the watched chats while connected."""

    async def run_until_disconnected(self) -> None:
        """Listen for new messages until the connection ends (or `disconnect` ends it)."""

    async def disconnect(self) -> None:
        """End the connection; what `run_until_disconnected` waits for."""


# What the watch service hands the stream: how to wait, where notes go, how to make a client.
Sleep = Callable[[float], Awaitable[None]]
Log = Callable[[str], None]
Connect = Callable[[], TelegramClient]


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
    """A watched chat as resolved from the configuration: its marked id, title, public name and
    Telethon entity."""

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
        """The chat as a stored room, keyed as its export would be."""
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
        """The origin for a person to read: who, which post, when."""
        who = self.origin_id or (f"hidden account {self.name!r}" if self.name else "unknown")
        if self.name and self.origin_id:
            who = f"{self.name} ({self.origin_id})"
        post = f" post {self.message_id}" if self.message_id is not None else ""
        when = f" at {self.date.isoformat()}" if self.date else ""
        return f"{who}{post}{when}"


def forward_of(header: types.MessageFwdHeader | None) -> Forward | None:
    """The forward header in export terms, or None for a message that was not forwarded."""
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


def media_type(message: Any) -> str | None:
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


def display_name(entity: Any) -> str | None:
    """The sender's shown name, for a message whose account id is hidden."""
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
        author_name=display_name(getattr(message, "sender", None))
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
