"""A folder on disk, walked recursively in a stable order, archives included; or one file
(a media file, a document, a .zip archive) scanned on its own.

Never follows a link out of the root, and never walks into haechi's own data directory or a
place another source reads (an export inside a collection folder). Images and videos, audio
and documents are picked up by name or, for other names, by their first bytes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from haechi.errors import SourceError
from haechi.media import FileContent
from haechi.media.content import read_head
from haechi.media.sniff import SCAN_EXTENSIONS, recognised
from haechi.sources.archive import (
    EntryProblem,
    ZipEntryContent,
    entry_name,
    open_entry,
    safe_entries,
)
from haechi.sources.base import Sighting, Source, SourceProblem
from haechi.sources.names import escape_name, unescape_name

# Entry errors are stored with the item (scan errors) and stay English: no _() here.

ARCHIVE_EXTENSIONS = frozenset({".zip"})


class FolderSource(Source):
    """A folder walked recursively, or one media file, document or .zip archive; the fallback
    source (priority 0) for any path a more specific source does not claim."""

    kind = "folder"
    priority = 0

    @classmethod
    def recognises(cls, path: Path) -> bool:
        """Any directory; a file with a media, audio, document or .zip extension, or whose first
        64 bytes name a known media or document type."""
        if path.is_dir():
            return True
        if not path.is_file():
            return False
        ext = path.suffix.lower()
        if ext in ARCHIVE_EXTENSIONS or ext in SCAN_EXTENSIONS:
            return True
        try:
            with path.open("rb") as fh:
                return recognised(fh.read(64))
        except OSError:
            return False

    def sightings(self) -> Iterator[Sighting | SourceProblem]:
        """Every file under the root in a stable order (archives opened entry by entry), or the
        one file; skipped places and unreadable files come as SourceProblems."""
        root = self.root.resolve()
        if root.is_file():
            if root.suffix.lower() in ARCHIVE_EXTENSIONS:
                yield from self._archive(root, "")
            else:
                # One file: the source is the file, its locator is "" (nothing below it).
                yield from self._file(root, root, "", single=True)
            return
        if root in self.skip:
            return
        yield from self._walk(root, root, self.settings.home_dir.resolve())

    def open_locator(self, locator: str) -> BinaryIO:
        """`rel/path`, `rel/archive.zip!inner/path` (`!inner` when the source is the archive),
        or "" when the source is the file itself; nothing outside the root is opened."""
        root = self.root.resolve()
        if "!" in locator:
            # An archive name may itself hold "!": try each split, leftmost archive first.
            parts = locator.split("!")
            for i in range(1, len(parts)):
                rel, inner = "!".join(parts[:i]), "!".join(parts[i:])
                archive = self._inside(root, rel)
                if archive is not None and archive.is_file():
                    try:
                        return open_entry(archive, inner, self.settings.limits)
                    except KeyError:
                        continue
            raise SourceError(f"{root}/{locator}", "gone: no such archive entry")
        path = self._inside(root, locator)
        if path is None:
            raise SourceError(f"{root}/{locator}", "refused: outside the scanned folder")
        if not path.is_file():
            raise SourceError(path, "gone: no such file")
        try:
            return path.open("rb")
        except OSError as exc:
            raise SourceError(path, f"cannot read: {exc.strerror or exc}") from None

    @staticmethod
    def _inside(root: Path, rel: str) -> Path | None:
        if not rel:
            return root
        rel = unescape_name(rel)  # stored names are escaped where the disk's are not UTF-8
        if PurePosixPath(rel).is_absolute() or ".." in PurePosixPath(rel).parts:
            return None
        path = (root / rel).resolve()
        return path if path.is_relative_to(root) else None

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
                resolved = path.resolve()
                if resolved != skip and resolved not in self.skip:
                    yield from self._walk(root, path, skip)
            else:
                yield from self._file(root, path, rel)

    def _file(
        self, root: Path, path: Path, rel: str, *, single: bool = False
    ) -> Iterator[Sighting | SourceProblem]:
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
            if (
                not single
                and ext not in SCAN_EXTENSIONS
                and (st.st_size == 0 or not recognised(read_head(content)))
            ):
                return  # chat logs, stylesheets, scripts: nothing to keep
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
                if suffix not in SCAN_EXTENSIONS:
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
