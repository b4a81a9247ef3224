"""A folder on disk, walked recursively in a stable order, archives included.

Never follows a link out of the root, and never walks into haechi's own data directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from haechi.errors import SourceError
from haechi.media import FileContent
from haechi.media.content import read_head
from haechi.media.sniff import MEDIA_EXTENSIONS, sniff
from haechi.sources.archive import EntryProblem, ZipEntryContent, entry_name, safe_entries
from haechi.sources.base import Sighting, Source, SourceProblem
from haechi.sources.names import escape_name

ARCHIVE_EXTENSIONS = frozenset({".zip"})


class FolderSource(Source):
    kind = "folder"
    priority = 0

    @classmethod
    def recognises(cls, path: Path) -> bool:
        return path.is_dir() or (path.is_file() and path.suffix.lower() in ARCHIVE_EXTENSIONS)

    def sightings(self) -> Iterator[Sighting | SourceProblem]:
        root = self.root.resolve()
        if root.is_file():
            yield from self._archive(root, "")
            return
        yield from self._walk(root, root, self.settings.home_dir)

    def _walk(self, root: Path, here: Path, skip: Path) -> Iterator[Sighting | SourceProblem]:
        """Depth-first in name order, so a path's place in the walk is its sorted place."""
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError as exc:
            rel = escape_name(here.relative_to(root).as_posix())
            yield SourceProblem(rel, f"cannot list: {exc.strerror}")
            return
        for entry in entries:
            path = Path(entry.path)
            # Names that are not UTF-8 (CP949 zips unpacked on Linux) are stored escaped.
            rel = escape_name(path.relative_to(root).as_posix())
            if entry.is_dir(follow_symlinks=False):
                if path.resolve() != skip:
                    yield from self._walk(root, path, skip)
            else:
                yield from self._file(root, path, rel)

    def _file(self, root: Path, path: Path, rel: str) -> Iterator[Sighting | SourceProblem]:
        if path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(root):
                yield SourceProblem(rel, "link points outside the scanned folder; not followed")
                return
        if not path.is_file():
            return  # sockets, fifos, dangling links: not media
        ext = path.suffix.lower()
        if ext in ARCHIVE_EXTENSIONS:
            yield from self._archive(path, rel)
            return
        try:
            st = path.stat()
            content = FileContent(path, rel)
            if ext not in MEDIA_EXTENSIONS and (
                st.st_size == 0 or sniff(read_head(content)) is None
            ):
                return  # documents, chat logs, stylesheets: not media
        except OSError as exc:
            yield SourceProblem(rel, f"cannot read: {exc.strerror or exc}")
            return
        yield Sighting(
            locator=rel, content=content, file_size=st.st_size, file_mtime_ns=st.st_mtime_ns
        )

    def _archive(self, path: Path, rel: str) -> Iterator[Sighting | SourceProblem]:
        try:
            st = path.stat()
            for entry in safe_entries(path, self.settings.limits):
                if isinstance(entry, EntryProblem):
                    yield SourceProblem(f"{rel}!{entry.entry}", entry.reason)
                    continue
                inner = entry_name(entry)
                suffix = Path(inner).suffix.lower()
                if suffix in ARCHIVE_EXTENSIONS:
                    yield SourceProblem(f"{rel}!{inner}", "nested archive not opened")
                    continue
                if suffix not in MEDIA_EXTENSIONS:
                    continue
                locator = f"{rel}!{inner}"
                yield Sighting(
                    locator=locator,
                    content=ZipEntryContent(path, entry.filename, locator, entry.file_size),
                    file_size=entry.file_size,
                    # The archive's mtime: an entry only changes when its archive does.
                    file_mtime_ns=st.st_mtime_ns,
                )
        except SourceError as exc:
            yield SourceProblem(rel, exc.reason)
