"""Recognising a Telegram Desktop export: a folder with an export JSON (`result.json`, or any
JSON whose top-level keys are an export's: `result_group.json`, a renamed copy) or
messages*.html pages, or one of those files. Reads only as far as the top-level keys, within
a byte budget; never raises. `find_exports` finds every export inside a collection folder."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import BinaryIO, cast

import ijson  # type: ignore[import-untyped]

from haechi.sources.tdesktop.json_stream import CountingReader
from haechi.sources.tdesktop.types import ExportFormat, ExportInfo

_ACCOUNT_KEYS = frozenset(
    {"chats", "left_chats", "personal_information", "contacts", "frequent_contacts"}
)


# The export's own keys come first (single chat: name, type, id, messages; account: about,
# then personal_information, contacts or chats); a JSON that has shown none of them after this
# many bytes or top-level keys is something else, however large it is.
SNIFF_BYTES = 4 << 20
SNIFF_KEYS = 32


class _Budget:
    """A file that ends after `limit` bytes, so sniffing a large foreign JSON costs little."""

    def __init__(self, raw: BinaryIO, limit: int) -> None:
        self._raw = raw
        self._left = limit

    def read(self, size: int = -1) -> bytes:
        want = self._left if size < 0 else min(size, self._left)
        data = self._raw.read(want) if want > 0 else b""
        self._left -= len(data)
        return data


def _sniff_json(path: Path) -> ExportFormat | None:
    """Decide single-chat vs full-account from the top-level keys, reading
    only as far as needed (the keys of a full export may come after a large
    contacts list, so this walks the event stream but builds nothing)."""
    try:
        with path.open("rb") as raw:
            handle = _Budget(raw, SNIFF_BYTES)
            depth = 0
            keys = 0
            # basic_parse: parse's prefixes cost memory with the square of the nesting depth,
            # and a hostile file can nest 50,000 levels in its first read.
            # The reader cuts huge strings, which yajl would re-scan on every read.
            for event, value in ijson.basic_parse(CountingReader(cast(BinaryIO, handle))):
                if event in ("start_map", "start_array"):
                    if depth == 0 and event != "start_map":
                        return None
                    depth += 1
                elif event in ("end_map", "end_array"):
                    depth -= 1
                elif depth == 1 and event == "map_key":
                    if value == "messages":
                        return "json_single"
                    if value in _ACCOUNT_KEYS:
                        return "json_account"
                    keys += 1
                    if keys >= SNIFF_KEYS:
                        return None
                elif depth == 0:
                    return None  # top-level scalar
    except Exception:  # any read/parse failure means "not detected"
        return None
    return None


def _page_number(path: Path) -> int:
    match = re.fullmatch(r"messages(\d*)\.html", path.name)
    if match is None:
        return -1
    return int(match.group(1) or "1")


def _html_pages(folder: Path) -> list[Path]:
    pages = [p for p in folder.glob("messages*.html") if _page_number(p) > 0]
    return sorted(pages, key=_page_number)


def _folder_number(path: Path) -> tuple[int, str]:
    digits = re.findall(r"\d+", path.name)
    return (int(digits[-1]) if digits else -1, path.name)


def _html_chat_folders(root: Path) -> list[Path]:
    chats = root / "chats"
    if not chats.is_dir():
        return []
    folders = [d for d in chats.iterdir() if d.is_dir() and _html_pages(d)]
    return sorted(folders, key=_folder_number)


def detect_export(path: Path) -> ExportInfo | None:
    """Tell whether ``path`` (an export folder, a ``result.json``-style file
    or a ``messages.html`` file) is a Telegram Desktop export, and which
    kind.  Returns ``None`` for anything else.  Never raises."""
    try:
        path = Path(path)
        if path.is_file():
            if path.suffix.lower() == ".json":
                fmt = _sniff_json(path)
                return ExportInfo(fmt, path.parent, (path,)) if fmt else None
            if path.suffix.lower() == ".html" and _page_number(path) > 0:
                return ExportInfo("html_single", path.parent, tuple(_html_pages(path.parent)))
            return None
        if not path.is_dir():
            return None
        found = _json_exports(path)
        return found[0] if found else _html_export(path)
    except OSError:
        return None


def _html_export(path: Path) -> ExportInfo | None:
    pages = _html_pages(path)
    if pages:
        return ExportInfo("html_single", path, tuple(pages))
    folders = _html_chat_folders(path)
    if folders:
        files = tuple(p for folder in folders for p in _html_pages(folder))
        return ExportInfo("html_account", path, files)
    return None


def _json_exports(folder: Path) -> list[ExportInfo]:
    """The export JSONs directly in `folder`, `result.json` first, then by name; any name, as
    long as the content is an export's."""
    names = sorted(
        (p for p in folder.iterdir() if p.suffix.lower() == ".json" and p.is_file()),
        key=lambda p: (p.name != "result.json", p.name),
    )
    found = []
    for p in names:
        fmt = _sniff_json(p)
        if fmt:
            found.append(ExportInfo(fmt, folder, (p,)))
    return found


def find_exports(folder: Path, skip: Path | None = None) -> list[ExportInfo]:
    """Every Telegram Desktop export in `folder` or below, in path order: a folder that is an
    export is not searched further (its media belong to it). A folder holding several export
    JSONs gives one export per JSON. Links are not followed; `skip` (haechi's own data
    directory) is not entered. Never raises: an unreadable folder is passed over."""
    found: list[ExportInfo] = []
    todo = [folder]
    while todo:
        here = todo.pop()
        try:
            json_exports = _json_exports(here)
            if json_exports:
                found.extend(json_exports)
                continue
            info = _html_export(here)
            if info is not None:
                found.append(info)
                continue
            with os.scandir(here) as entries:
                subdirs = [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False)]
        except OSError:
            continue
        for sub in sorted(subdirs, reverse=True):  # popped from the end: name order
            if skip is None or sub.resolve() != skip:
                todo.append(sub)
    return found
