"""What a scan reports as it goes: one event per place, a summary per source, and the
observer that receives them (the CLI draws its progress bar from it). Kept apart from the
pipeline so the CLI can name these types without loading the pipeline's libraries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from haechi.sources import Source


@dataclass(frozen=True)
class ScanEvent:
    """One place handled by the scan, as reported to the CLI."""

    locator: str
    path: str
    status: str  # "new", "known", "unchanged", "error"
    sha256: str | None
    errors: tuple[str, ...] = ()


@dataclass
class ScanSummary:
    """One source's scan in numbers, kept up to date by the writer batch by batch: what the CLI
    prints at the end, and what `watch` and `discover` hand back."""

    scan_id: int
    source: str
    kind: str
    seen: int = 0
    new_items: int = 0
    known_items: int = 0
    unchanged: int = 0
    errors: int = 0
    messages: int = 0
    rooms: int = 0
    media_missing: int = 0
    seconds: float = 0.0
    error_lines: list[str] = field(default_factory=list)
    # New findings (enrolled persons' faces or own files) and the items they point at; the
    # items preserved in the evidence vault by the automatic capture (when it is on).
    findings: int = 0
    finding_items: set[str] = field(default_factory=set)
    preserved_items: set[str] = field(default_factory=set)
    auto_capture: bool = True


class Observer:
    """Receives progress; the CLI draws bars from it, tests may count."""

    def started(self, source: Source, total: int | None) -> None:
        """A source's scan begins; `total` places when known (a stream's, a large folder's
        are not: the scan reads them as it goes)."""

    def handled(self, event: ScanEvent) -> None:
        """One place's final event, sent only once its batch is committed."""

    def committed(self, shas: Sequence[str]) -> None:
        """A batch is committed: the items of its places (unchanged ones too; an item seen at
        two places is named twice)."""

    def note(self, text: str) -> None:
        """Something the person should know about what the paths hold (exports found)."""
