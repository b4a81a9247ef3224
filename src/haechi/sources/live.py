"""Live Telegram chats as a stored source: what `haechi watch telegram` (sources/telegram_live.py)
writes under the kind "telegram", with the root `telegram:<chat id>` and a message id as each
sighting's locator.

The watcher downloads media into memory and never writes it to disk, so nothing here can read
an item's bytes again. Evidence of a live item is therefore captured while the watcher still
holds the bytes: a finding made during the watch preserves its item from memory at once (see
`haechi.scan`, `hooks.FindingsCreated.contents`). Any later capture of an item seen only in a
live chat is refused with a reason saying the bytes must be fetched again from Telegram. Kept
apart from the watcher so the registry can load it without Telethon."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from haechi.errors import SourceError
from haechi.sources.base import Sighting, Source, SourceProblem

KIND = "telegram"

NOT_KEPT = (
    "the bytes of live Telegram media are not kept (the watcher holds them in memory only, "
    "and preserves an item with a finding while it does); fetch the message again from "
    "Telegram (open its link, or export the chat with Telegram Desktop and scan the export) "
    "to preserve it"
)


class TelegramLiveSource(Source):
    kind = KIND
    label = "live Telegram chat"
    scans_paths = False  # watched with `haechi watch telegram`, never opened from a path

    @classmethod
    def recognises(cls, path: Path) -> bool:
        return False

    def sightings(self) -> Iterator[Sighting | SourceProblem]:
        yield SourceProblem("", "live Telegram chats are read by `haechi watch telegram`")

    @property
    def locator(self) -> str:
        return str(self.root)  # `telegram:<chat id>`, not a path

    def open_locator(self, locator: str) -> BinaryIO:
        raise SourceError(f"{self.root} message {locator}", NOT_KEPT)
