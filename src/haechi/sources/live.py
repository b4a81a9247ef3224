"""Live Telegram chats as a stored source: what `haechi watch telegram` (sources/telegram_live.py)
writes under the kind "telegram", with the root `telegram:live` (one source for every watched
chat; rooms tell them apart) and `<chat id>/<message id>` as each sighting's locator. Databases
from before kept one source per chat, `telegram:<marked chat id>`, with the message id alone.

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
from haechi.sources.base import Pause, Sighting, Source, SourceProblem
from haechi.sources.chat import ChatMessage

# Message errors are stored with the item (scan errors) and stay English: no _() here.

KIND = "telegram"
LIVE_ROOT = "telegram:live"


def bare_id(marked: int) -> int:
    """Telegram's bare chat id (what a Telegram Desktop export writes) from Telethon's marked
    one (-100… for channels and supergroups, negative for small groups)."""
    if marked <= -1_000_000_000_000:
        return -marked - 1_000_000_000_000
    return -marked if marked < 0 else marked


NOT_KEPT = (
    "the bytes of live Telegram media are not kept (the watcher holds them in memory only, "
    "and preserves an item with a finding while it does); fetch the message again from "
    "Telegram (open its link, or export the chat with Telegram Desktop and scan the export) "
    "to preserve it"
)


class TelegramLiveSource(Source):
    """The stored form of watched Telegram chats: it exists so the scan's registry can name
    their sightings, but it is never scanned from a path and keeps no media to reopen."""

    kind = KIND
    label = "live Telegram chat"
    scans_paths = False  # watched with `haechi watch telegram`, never opened from a path

    @classmethod
    def recognises(cls, path: Path) -> bool:
        """Never: a live chat has no path (see `haechi watch telegram`)."""
        return False

    def sightings(self) -> Iterator[Sighting | SourceProblem | ChatMessage | Pause]:
        """One SourceProblem saying that live chats are read by `watch telegram`, not scanned."""
        yield SourceProblem("", "live Telegram chats are read by `haechi watch telegram`")

    @property
    def locator(self) -> str:
        """The stored root itself (`telegram:live`, or `telegram:<chat id>` in older
        databases): not a path."""
        return str(self.root)

    def open_locator(self, locator: str) -> BinaryIO:
        """Always raises SourceError: live media is analysed as it arrives and not kept."""
        raise SourceError(f"{self.root} message {locator}", NOT_KEPT)
