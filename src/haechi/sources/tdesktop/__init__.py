"""Telegram Desktop exports ("Export chat history" / "Export Telegram data"), JSON or HTML,
read as a stream of `ChatMessage`s. Bad input never raises: each fault is a `ParseProblem` and
the rest of the export is read. Format reference: tdesktop's export_output_json.cpp and
export_output_html.cpp (read, not copied)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, tzinfo
from pathlib import Path

from haechi.config import Limits
from haechi.sources.chat import ChatMessage
from haechi.sources.tdesktop.common import Context
from haechi.sources.tdesktop.detect import detect_export, find_exports
from haechi.sources.tdesktop.html_reader import HtmlReader
from haechi.sources.tdesktop.json_reader import JsonReader
from haechi.sources.tdesktop.types import OUTSIDE_ERROR, ExportInfo, ParseProblem, ProblemSink

__all__ = [
    "OUTSIDE_ERROR",
    "ExportInfo",
    "ParseProblem",
    "ProblemSink",
    "detect_export",
    "find_exports",
    "iter_messages",
]


def iter_messages(
    root: Path,
    *,
    problems: ProblemSink = None,
    after: Mapping[str, int] | None = None,
    local_tz: tzinfo = UTC,
    limits: Limits | None = None,
) -> Iterator[ChatMessage]:
    """Stream every message of a Telegram Desktop export.

    ``root`` is the export folder, or a JSON/``messages.html`` file in it.
    ``problems`` receives :class:`ParseProblem` records (a list is appended
    to, a callable is called; ``None`` logs them).  ``after`` maps a room id
    to the last message id already processed; those messages are skipped
    (resume point).  ``local_tz`` is used for timestamps that carry no zone
    (JSON exports older than ``date_unixtime``, HTML dates without
    ``UTC+hh:mm``).  Messages come in export order; no exception escapes for
    bad input. ``limits`` bounds nesting, message and string sizes (hostile exports).
    """
    info = detect_export(Path(root))
    if info is None:
        ctx = Context(Path(root), problems, local_tz)
        ctx.problem(Path(root), "byte 0", "not a Telegram Desktop export")
        return
    ctx = Context(info.root, problems, local_tz)
    if info.is_json:
        yield from JsonReader(ctx, info.files[0], after, limits).run()
    else:
        yield from HtmlReader(ctx, info, after, limits).run()
