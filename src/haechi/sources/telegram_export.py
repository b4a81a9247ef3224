"""A Telegram Desktop export as a source: every message becomes a `ChatMessage` (stored as chat
text) and every exported file a `Sighting` with its room, message, time, author and forward.

Media paths are resolved inside the export folder only; a path that escapes it is refused and
reported, the rest of the export is read. Files the exporter skipped ("File not included") and
files the export names but the folder lacks are kept on the message as missing, not errors.

Every file a message carries is a sighting, whatever it is: photos and videos are analysed,
voice messages, music, stickers in Telegram's own formats and documents are hashed and kept as
items of kind `audio` or `document` (their hashes are evidence too)."""

from __future__ import annotations

import dataclasses
import os
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from haechi.config import Settings
from haechi.errors import SourceError
from haechi.media import FileContent
from haechi.sources.base import Sighting, Source, SourceProblem
from haechi.sources.chat import ChatMedia, ChatMessage
from haechi.sources.names import escape_name
from haechi.sources.tdesktop import ParseProblem, detect_export, find_exports, iter_messages

# Message errors are stored with the item (scan errors) and stay English: no _() here.


class TelegramExportSource(Source):
    """A Telegram Desktop export (JSON or HTML, one chat or a whole account), read in
    streaming; it wins over FolderSource for the same folder (priority 10)."""

    kind = "telegram_export"
    label = "Telegram export"
    priority = 10  # an export folder is also a folder: the export reading wins

    @classmethod
    def recognises(cls, path: Path) -> bool:
        """Whether `path` is an export folder or an export's result.json / messages*.html."""
        return detect_export(path) is not None

    @classmethod
    def inside(cls, folder: Path, settings: Settings) -> list[tuple[Path, Path]]:
        """The exports found below `folder` (never inside haechi's home), each named by its folder,
        or by its file when one folder holds several."""
        exports = find_exports(folder, skip=settings.home_dir.resolve())
        per_root: dict[Path, int] = {}
        for info in exports:
            per_root[info.root] = per_root.get(info.root, 0) + 1
        # An export is opened by its folder, as a person would name it; by its JSON only when
        # one folder holds several.
        return [
            (info.files[0] if per_root[info.root] > 1 else info.root, info.root) for info in exports
        ]

    def open_locator(self, locator: str) -> BinaryIO:
        """`room/message/relpath`: the file the message named, found again from the export's
        root (JSON exports name paths from the JSON's folder, HTML exports from the chat's
        folder, which is the room id). The room id may itself hold "/" (HTML account exports)
        and a path may hold numbered folders, so each reading is tried; never outside the
        export."""
        root = self.root.resolve()
        info = detect_export(root)
        folder = root.parent if root.is_file() else root
        base = info.root.resolve() if info is not None else folder
        parts = locator.split("/")
        tried = False
        for i in range(1, len(parts) - 1):
            if not parts[i].lstrip("-").isdigit():
                continue
            room, rel = "/".join(parts[:i]), "/".join(parts[i + 1 :])
            for start in (base, base / room):
                tried = True
                try:
                    path = (start / rel).resolve()
                except (OSError, RuntimeError, ValueError):
                    continue
                if path.is_relative_to(base) and path.is_file():
                    try:
                        return path.open("rb")
                    except OSError as exc:
                        raise SourceError(path, f"cannot read: {exc.strerror or exc}") from None
        reason = "gone from the export folder" if tried else "not a Telegram export locator"
        raise SourceError(f"{root}#{locator}", reason)

    def sightings(self) -> Iterator[Sighting | SourceProblem | ChatMessage]:
        """Every message, then the sightings of its files that are present on disk; what the
        exporter skipped, paths outside the export and parse faults come as SourceProblems."""
        root = self.root.resolve()
        info = detect_export(root)
        base = info.root if info is not None else (root.parent if root.is_file() else root)
        problems: deque[ParseProblem] = deque()
        for message in iter_messages(root, problems=problems.append, limits=self.settings.limits):
            yield from self._problems(problems, base)
            media = tuple(_on_disk(m) for m in message.media)
            if media != message.media:
                message = dataclasses.replace(message, media=media)
            yield message
            for m in media:
                if m.status != "present" or m.path is None or m.relpath is None:
                    continue
                try:
                    st = m.path.stat()
                except OSError as exc:
                    yield SourceProblem(_locator(message, m), f"cannot read: {exc.strerror}")
                    continue
                locator = _locator(message, m)
                yield Sighting(
                    locator=locator,
                    content=FileContent(m.path, locator),
                    posted_at=message.date,
                    room=message.room.id,
                    message_id=str(message.id),
                    poster=message.author_id or message.author_name,
                    forwarded_from=message.forwarded_from or message.saved_from,
                    context=message.text or None,
                    file_size=st.st_size,
                    file_mtime_ns=st.st_mtime_ns,
                )
        yield from self._problems(problems, base)

    @staticmethod
    def _problems(problems: deque[ParseProblem], base: Path) -> Iterator[SourceProblem]:
        while problems:
            p = problems.popleft()
            try:
                name = p.file.resolve().relative_to(base).as_posix()
            except ValueError:
                name = p.file.name
            yield SourceProblem(escape_name(f"{name}@{p.position}"), p.reason)


def _on_disk(m: ChatMedia) -> ChatMedia:
    """A file the export names but the folder lacks (a partial copy) is missing, not present.
    An export zipped on Korean Windows and unpacked on Linux has its file names in CP949 while
    the export names them in UTF-8: that file is the one meant."""
    if m.status != "present" or m.path is None:
        return m
    if _is_file(m.path):
        return m
    legacy = _cp949_twin(m.path)
    if legacy is not None:
        return dataclasses.replace(m, path=legacy)
    return dataclasses.replace(m, status="absent", path=None)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name the file system cannot hold
        return False


def _cp949_twin(path: Path) -> Path | None:
    try:
        raw = path.name.encode("cp949")
    except UnicodeEncodeError:
        return None
    if raw.isascii():
        return None
    twin = path.with_name(os.fsdecode(raw))
    return twin if _is_file(twin) else None


def _locator(message: ChatMessage, m: ChatMedia) -> str:
    rel = (m.relpath or "").replace("\\", "/")
    return escape_name(f"{message.room.id}/{message.id}/{rel}")
