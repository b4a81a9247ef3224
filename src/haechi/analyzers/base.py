"""The analyzer interface: one class per signal, each with a name, a version and one method.

Two stages exist because some facts hold for every file (its hashes) while others need decoded
pixels: a file that fails to decode still gets its SHA-256 and MD5 recorded."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar, Generic, Self, TypeVar

from haechi.config import Settings
from haechi.media import BytesContent, Content, Frame, Media
from haechi.media.types import RGB

JSON = Any


@dataclasses.dataclass(frozen=True)
class Signal:
    """What one analyzer says about one item. Subclasses are frozen dataclasses of plain
    values (str, int, float, bool, None, tuples of those or of nested Signals)."""

    def to_payload(self) -> dict[str, JSON]:
        """The signal as stored: plain JSON values (`from_payload` reads it back unchanged)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, JSON]) -> Self:
        """The signal from its stored payload; subclasses with nested signals override it."""
        return cls(**payload)


S = TypeVar("S", bound=Signal)
I = TypeVar("I")  # noqa: E741 - the input type, Content or Media


@dataclasses.dataclass(frozen=True)
class Example(Generic[I, S]):
    """A known-good input and the signal it must give: run by the shared contract test."""

    input: I
    expected: S


def example_media(rgb: RGB) -> Media:
    """A still picture (H × W × 3 uint8 RGB) as the Media an analyzer receives, for examples."""
    frame = Frame(rgb=rgb)
    return Media(
        content=BytesContent(b"", "example"),
        kind="image",
        format="png",
        width=frame.width,
        height=frame.height,
        frames=(frame,),
    )


class Analyzer(ABC, Generic[I, S]):
    """Base of both stages. `name` + `version` identify stored signals: bump the version when
    the output for the same input can change, and the scan recomputes it."""

    name: ClassVar[str]
    version: ClassVar[str]
    signal_type: ClassVar[type[Signal]]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @abstractmethod
    def analyze(self, item: I) -> S:
        """The signal for one input (decoded media, or a chat message's text). Pure with
        respect to the input: the same input and `version` give the same signal, with no
        network and no writes. Raises `HaechiError` (or a subclass) for input it cannot read;
        the scan records that as the item's error for this analyzer and goes on."""

    def warm(self) -> None:
        """Load what `analyze` loads on first use (models), so a worker is ready before its
        first file. Nothing to do by default."""

    @classmethod
    def examples(cls) -> Iterable[Example[I, S]]:
        """Known-good inputs and the signals they must give: the shared contract test runs
        them (tests/test_analyzer_contract.py); every analyzer carries some."""
        return ()

    @classmethod
    def matches_example(cls, got: S, expected: S) -> bool:
        """Whether `got` is the signal an example expects. Exact equality by default; an
        analyzer whose model output varies in the last digits across CPUs overrides it."""
        return got == expected

    @classmethod
    def json_fields(cls, payload: dict[str, JSON]) -> dict[str, JSON]:
        """Top-level keys this analyzer adds to each `scan --json` / `items --json` line,
        computed from its stored payload. Each analyzer owns its keys."""
        return {}


class ContentAnalyzer(Analyzer[Content, S]):
    """Reads the raw bytes; runs on every file, decodable or not."""


class MediaAnalyzer(Analyzer[Media, S]):
    """Reads decoded frames; `kinds` says which media it takes."""

    kinds: ClassVar[frozenset[str]] = frozenset({"image", "video"})


class TextAnalyzer(Analyzer[str, S]):
    """Reads message text (a chat source's `ChatMessage.text`), never media; registered in the
    `haechi.text_analyzers` entry-point group. The scan stores one risk per message from it:
    `message_risk`, tagged with `full_version` (the version plus whatever else changes the
    score, such as a lexicon), so a changed analyzer means rescoring."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.full_version: str = self.version

    @abstractmethod
    def message_risk(self, text: str) -> tuple[float, dict[str, JSON]]:
        """The message's risk in [0, 1] and the evidence stored beside it (plain JSON values,
        all that room ranking reads: it never reads the text again)."""
