"""State shared by the JSON and HTML readers: the export root, media path resolution (nothing
outside the root, whatever `..`, absolute paths or links say) and the problem sink."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from pathlib import Path, PurePosixPath, PureWindowsPath

from haechi.sources.chat import ChatMedia, ChatRoom
from haechi.sources.tdesktop.types import OUTSIDE_ERROR, ParseProblem, ProblemSink

log = logging.getLogger("haechi.sources.tdesktop")

_SKIPPED_FILE = re.compile(
    r"\((?:File|Photo) (?:not included|exceeds maximum size|unavailable)", re.IGNORECASE
)
_WINDOWS_ABS = re.compile(r"^(?:[A-Za-z]:|\\\\|//)")


class Context:
    """Per-call state shared by the JSON and HTML readers."""

    def __init__(self, root: Path, problems: ProblemSink, local_tz: tzinfo) -> None:
        self.root = root
        try:
            self.root_resolved = root.resolve()
        except (OSError, RuntimeError):
            self.root_resolved = root.absolute()
        self.local_tz = local_tz
        self._sink = problems

    def problem(self, file: Path, position: str, reason: str) -> None:
        """Report a problem at `position` in `file` to the caller's sink (a list, a callable, or
        the log when there is none); reading goes on."""
        item = ParseProblem(file, position, reason)
        sink = self._sink
        if isinstance(sink, list):
            sink.append(item)
        elif sink is not None:
            sink(item)
        else:
            log.warning("%s [%s]: %s", file, position, reason)

    def media(
        self,
        relpath: str,
        base: Path,
        media_type: str | None,
        mime_type: str | None,
        *,
        file: Path,
        position: str,
    ) -> ChatMedia:
        """Resolve ``relpath`` against ``base``; refuse anything that lands
        outside the export root (``..``, absolute paths, symlinks)."""
        if _SKIPPED_FILE.search(relpath):
            return ChatMedia(relpath, media_type, mime_type, "not_included")
        normalized = relpath.replace("\\", "/")
        error: str | None = None
        resolved: Path | None = None
        if (
            PurePosixPath(normalized).is_absolute()
            or PureWindowsPath(relpath).is_absolute()
            or _WINDOWS_ABS.match(relpath)
        ):
            error = OUTSIDE_ERROR + " (absolute path)"
        else:
            try:
                candidate = (base / normalized).resolve()
            except (OSError, RuntimeError, ValueError) as exc:
                error = f"unresolvable media path: {exc}"
            else:
                if candidate.is_relative_to(self.root_resolved):
                    resolved = candidate
                else:
                    error = OUTSIDE_ERROR
        if error is not None:
            self.problem(file, position, f"media {relpath!r} refused: {error}")
        if error is not None:
            return ChatMedia(relpath, media_type, mime_type, "refused")
        return ChatMedia(relpath, media_type, mime_type, "present", resolved)

    def naive_to_utc(self, value: datetime) -> datetime:
        """A time from the export in UTC; a time without zone (HTML exports) is taken as the
        export machine's `local_tz`."""
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.local_tz)
        return value.astimezone(UTC)


def discard(_problem: ParseProblem) -> None:
    """A problem sink that drops everything, for pages read only for their structure."""
    return None


def emit_allowed(after: Mapping[str, int] | None, room: ChatRoom, message_id: int) -> bool:
    """Whether a message is new to the scan: with no resume point, or past the highest
    message id already stored for its room."""
    if after is None:
        return True
    last = after.get(room.id)
    return last is None or message_id > last
