"""What travels between Telethon's thread and the scan: the bounds of the queue, how many bytes a
queued message carries, and the markers for its end, a failure and a stop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from haechi.sources.base import Sighting

# How long the stream waits for the next message before it lets the scan commit.
PAUSE_SECONDS = 0.2
# Messages waiting for the scan, and the bytes of the downloads they carry: the reading waits
# while either is reached (one download larger than the bound still goes, alone).
QUEUE_PLACES = 64
QUEUE_BYTES = 64 * 1024 * 1024


def carried_bytes(item: tuple[Any, ...]) -> int:
    """The downloaded bytes a queued message carries."""
    return sum(x.content.size for x in item if isinstance(x, Sighting))


class End:
    """The stream ended (once caught up, or after the connections allowed)."""


@dataclass(frozen=True)
class Failed:
    """Telethon's side failed: the scan raises the error."""

    error: BaseException


class StoppedError(Exception):
    """The scan stopped reading the stream."""
