"""The source interface: anything that yields sightings of media (a folder, an export, a channel).

A source only says what it saw and where; it never decodes or judges media. A chat source also
yields its messages (`ChatMessage`), in order, beside the sightings of their media. A streaming
source (a live chat) never ends by itself: it yields `PAUSE` whenever nothing more is at hand,
and the scan then commits what it holds, so what was posted is stored while the stream goes on."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, ClassVar

from haechi.config import Settings
from haechi.media import Content
from haechi.sources.chat import ChatMessage
from haechi.sources.names import escape_name


@dataclass(frozen=True)
class Sighting:
    """One media file seen at one place. `locator` is the source's own address for it
    (a relative path, `archive.zip!inner/path.jpg`, `chat/123`), stable across rescans."""

    locator: str
    content: Content
    posted_at: datetime | None = None
    room: str | None = None
    message_id: str | None = None
    url: str | None = None
    poster: str | None = None
    forwarded_from: str | None = None
    forwarded_from_id: str | None = None
    forwarded_message_id: str | None = None
    forwarded_at: datetime | None = None
    context: str | None = None
    # When the source itself saw it (a WARC's capture time); the scan's time when None.
    seen_at: datetime | None = None
    file_size: int | None = None
    file_mtime_ns: int | None = None


@dataclass(frozen=True)
class SourceProblem:
    """A place in the source that was refused or could not be read; the rest goes on."""

    locator: str
    reason: str


@dataclass(frozen=True)
class Pause:
    """A streaming source has nothing more for now: the scan analyses and commits what it holds.
    Yielded only between messages (never between a message and its media)."""


PAUSE = Pause()


class Source(ABC):
    """Something that yields sightings (and, for chats, messages), read by `haechi.scan`.
    Registered under the entry-point group `haechi.sources` by its `kind`."""

    kind: ClassVar[str]
    # What a person calls one of these ("Telegram export"), in messages about what was found.
    label: ClassVar[str] = ""
    # Higher wins when several sources recognise the same path (an export beats a folder).
    priority: ClassVar[int] = 0
    # Whether `haechi scan PATH` can read it; a live chat is watched, not scanned from a path.
    scans_paths: ClassVar[bool] = True
    # A stream (a live chat) is analysed and committed as it goes, between `PAUSE`s and
    # messages, instead of after the whole source has been read.
    streaming: ClassVar[bool] = False

    def __init__(self, root: Path, settings: Settings, *, skip: Iterable[Path] = ()) -> None:
        self.root = root
        self.settings = settings
        # Places under the root that other sources read (an export inside a collection).
        self.skip = frozenset(p.resolve() for p in skip)

    @classmethod
    @abstractmethod
    def recognises(cls, path: Path) -> bool:
        """Whether this source can read `path`."""

    @classmethod
    def inside(cls, folder: Path, settings: Settings) -> list[tuple[Path, Path]]:
        """Sources of this kind found inside `folder`, which another source reads: for each,
        the path to open it with and the place under `folder` it takes up. `[(folder, folder)]`
        when the folder itself is one. Empty for sources that never nest (the default)."""
        return []

    @property
    def locator(self) -> str:
        """Identifies the source across scans (its resolved root, storable: see names.py)."""
        return escape_name(str(self.root.resolve()))

    @property
    def name(self) -> str:
        """What a person calls this source in lists and messages (its root's name)."""
        return escape_name(self.root.name or str(self.root))

    def resume(self, after: Mapping[str, int]) -> None:  # noqa: B027 (most sources ignore it)
        """Called by the scan before `sightings`: the highest message id already stored per room
        key. A stream starts after them; a snapshot (an export) reads everything again and the
        scan skips what is stored."""

    @abstractmethod
    def sightings(self) -> Iterator[Sighting | SourceProblem | ChatMessage | Pause]:
        """Every sighting and problem (and, for chat sources, every message), in an order that
        is the same on every run; a message comes before the sightings of its media."""

    @abstractmethod
    def open_locator(self, locator: str) -> BinaryIO:
        """The bytes this source sighted at `locator` (a `Sighting.locator` it yielded, stored
        with a source row of this kind and root), read again now. Evidence capture reads them
        through here, so every source must say how. Raises `SourceError` naming the reason
        when they cannot be read (gone, refused, or never kept); the SHA-256 is the caller's
        check that they are still the same bytes."""
