"""Evidence lines: what each check found, named by its source. The verdict is built from them
and always carries them; a number alone is never the answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# synthetic: the file says a generator made it; manipulated: part of it was changed or
# composited; unreadable: metadata that could not be read (and why); info: a checked fact
# that points nowhere (including "nothing found").
Points = Literal["synthetic", "manipulated", "unreadable", "info"]


@dataclass(frozen=True)
class Evidence:
    """One evidence line: its source, a sentence, where it points and how confident that claim is on
    its own; forensic cues also carry their value and the authentic baseline."""

    source: str
    text: str
    points: Points = "info"
    # How likely the claim in `points` is true given this line alone (0 for info lines).
    confidence: float = 0.0
    # Forensic cues only: the measured value and the value on authentic photos.
    value: float | None = None
    baseline: float | None = None

    @property
    def line(self) -> str:
        """The line as shown: `source: text`."""
        return f"{self.source}: {self.text}"

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> Evidence:
        """The line from its stored payload."""
        return cls(**p)


def info(source: str, text: str) -> Evidence:
    """A line stating a checked fact that points nowhere (including that nothing was found)."""
    return Evidence(source, text)


def unreadable(source: str, why: str) -> Evidence:
    """A line saying the source could not be read, and why."""
    return Evidence(source, f"unreadable: {why}", "unreadable")


def clip_text(s: str, n: int = 160) -> str:
    """Metadata text quoted in a line: one line, printable, bounded."""
    s = "".join(c if c.isprintable() else " " for c in s.replace("\n", " "))
    return s if len(s) <= n else s[: n - 1] + "…"
