"""Recognising a Telegram Desktop export: a folder with result.json or messages*.html pages,
or one of those files. Reads only as far as the top-level keys; never raises."""

from __future__ import annotations

import re
from pathlib import Path

import ijson  # type: ignore[import-untyped]

from haechi.sources.tdesktop.json_stream import CountingReader
from haechi.sources.tdesktop.types import ExportFormat, ExportInfo

_ACCOUNT_KEYS = frozenset(
    {"chats", "left_chats", "personal_information", "contacts", "frequent_contacts"}
)


def _sniff_json(path: Path) -> ExportFormat | None:
    """Decide single-chat vs full-account from the top-level keys, reading
    only as far as needed (the keys of a full export may come after a large
    contacts list, so this walks the event stream but builds nothing)."""
    try:
        with path.open("rb") as handle:
            depth = 0
            # basic_parse: parse's prefixes cost memory with the square of the nesting depth,
            # and a hostile file can nest 50,000 levels in its first read.
            # The reader cuts huge strings, which yajl would re-scan on every read.
            for event, value in ijson.basic_parse(CountingReader(handle)):
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
        result = path / "result.json"
        if result.is_file():
            fmt = _sniff_json(result)
            if fmt:
                return ExportInfo(fmt, path, (result,))
        pages = _html_pages(path)
        if pages:
            return ExportInfo("html_single", path, tuple(pages))
        folders = _html_chat_folders(path)
        if folders:
            files = tuple(p for folder in folders for p in _html_pages(folder))
            return ExportInfo("html_account", path, files)
    except OSError:
        return None
    return None
