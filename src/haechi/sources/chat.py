"""Chat records: the text side of a chat source (a Telegram export, a live channel).

A chat source yields one `ChatMessage` per message beside the `Sighting`s of its media, so the
scan can store who said what, where and when: the rooms and messages tables that room ranking
and the distribution network read. Nothing here reads files or judges text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

MediaStatus = Literal["present", "not_included", "absent", "refused"]


@dataclass(frozen=True, slots=True)
class ChatRoom:
    """A chat, group or channel. `id` is the source's own stable key for it (Telegram's chat id,
    or the chat's folder in an HTML export); `kind` is the source's type word, "" when unknown."""

    id: str
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class ChatMedia:
    """A file a message carries. `relpath` is the path as the source wrote it; `path` is the
    resolved file, only when it lies inside the source's root. "not_included": the exporter
    skipped the file (an investigator still wants to know a file was there); "absent": the export
    names a file the folder does not hold (a partial copy). "refused": the
    path pointed outside the root."""

    relpath: str | None
    media_type: str | None
    mime_type: str | None
    status: MediaStatus
    path: Path | None = None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message or service event ("joined", "invited", "pinned") in one room."""

    room: ChatRoom
    id: int
    kind: Literal["message", "service"]
    date: datetime
    edited: datetime | None
    author_id: str | None
    author_name: str | None
    forwarded_from: str | None
    saved_from: str | None
    reply_to: int | None
    via_bot: str | None
    text: str
    links: tuple[str, ...] = ()
    media: tuple[ChatMedia, ...] = ()
    action: str | None = None
    members: tuple[str, ...] = ()
    reactions: int = 0
