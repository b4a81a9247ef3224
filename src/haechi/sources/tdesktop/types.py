"""What the Telegram Desktop reader reports besides messages: the kind of export found, and
problems (a position in a file and a reason) that never stop the rest of the export."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

OUTSIDE_ERROR = "path resolves outside the export folder"
READ_SIZE = 64 * 1024

ExportFormat = Literal["json_single", "json_account", "html_single", "html_account"]


@dataclass(frozen=True, slots=True)
class ParseProblem:
    """Something that could not be parsed.  ``position`` is ``"byte N"`` for
    JSON syntax faults, ``"message N"`` for a single bad message and
    ``"line N"`` for HTML."""

    file: Path
    position: str
    reason: str


@dataclass(frozen=True, slots=True)
class ExportInfo:
    """What :func:`detect_export` found.

    ``root`` is the export folder (media paths are resolved against it and
    must stay inside it); ``files`` are the files holding messages, in
    reading order (one ``result.json``, or every ``messages*.html`` page).
    """

    format: ExportFormat
    root: Path
    files: tuple[Path, ...]

    @property
    def is_json(self) -> bool:
        """Whether the export is JSON (one chat or a whole account) rather than HTML pages."""
        return self.format.startswith("json")


ProblemSink = list[ParseProblem] | Callable[[ParseProblem], None] | None
