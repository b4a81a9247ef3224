"""Safe reading of .zip archives: every entry is checked before a byte of it is inflated."""

from __future__ import annotations

import io
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, cast

from haechi.config import Limits
from haechi.errors import SourceError
from haechi.media.content import CHUNK
from haechi.sources.names import escape_bytes, escape_name

# Entry errors are stored with the item (scan errors) and stay English: no _() here.

_UTF8_FLAG = 0x800


class _EntryStream(io.RawIOBase):
    """An archive entry read as it inflates; closing it closes the archive. Nothing is held in
    memory beyond zipfile's own buffers: a 1 GiB entry hashes in 1 MiB steps."""

    def __init__(self, archive: Path, entry: str) -> None:
        super().__init__()
        self._archive, self._entry = archive, entry
        self._zf = zipfile.ZipFile(archive)
        try:
            self._fh = self._zf.open(entry)
        except BaseException:
            self._zf.close()
            raise

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        try:
            return self._fh.read(size)
        except (zlib.error, zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
            # A damaged deflate stream (zlib.error) or a wrong CRC (BadZipFile) surfaced
            # mid-read and ended the scan worker that was hashing it (found by
            # tests/test_fuzz_parsers.py): it is this entry's error, named.
            raise SourceError(
                f"{self._archive}!{self._entry}", f"archive entry unreadable: {exc}"
            ) from None

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
            self._zf.close()
        super().close()


@dataclass(frozen=True)
class ZipEntryContent:
    """One archive entry, streamed when a worker opens it. `ZipExtFile` never returns more than
    the declared size (and checks the CRC at its end), so the checked size bounds what is read.
    `entry` is zipfile's own name for it, `name` the one shown and stored."""

    archive: Path
    entry: str
    name: str
    declared_size: int = field(default=0)

    @property
    def size(self) -> int:
        """The entry's uncompressed size as the archive declares it (checked against the limits
        before the entry was listed); reading never yields more."""
        return self.declared_size

    def open(self) -> BinaryIO:
        """A buffered stream of the inflated entry; raises SourceError (naming the entry) when
        the archive cannot be read, so the pipeline records it against this file alone."""
        try:
            return io.BufferedReader(_EntryStream(self.archive, self.entry), CHUNK)
        except (
            zipfile.BadZipFile,
            OSError,
            EOFError,
            KeyError,
            ValueError,
            NotImplementedError,
        ) as exc:
            # Opening must raise an error the pipeline records per file, not crash a worker
            # (NotImplementedError: a compression method or zip version zipfile cannot read).
            raise SourceError(self.name, f"archive entry unreadable: {exc}") from None


def open_entry(archive: Path, entry: str, limits: Limits) -> BinaryIO:
    """One entry of `archive` as a stream, for reading an item again (evidence capture).
    KeyError when the archive has no such entry; SourceError when it is refused now."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        raise SourceError(archive, f"not a readable zip archive ({exc})") from None
    try:
        # Stored names are the shown ones (UTF-8, CP949 or escaped bytes: see entry_name).
        info = find_entry(zf, entry)
        if info is None:
            raise KeyError(entry)
        reason = _refusal(info, limits)
        if reason is not None:
            raise SourceError(f"{archive}!{entry}", reason)
        # The open entry keeps the archive file open after the ZipFile is closed below.
        return cast(BinaryIO, zf.open(info))
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise SourceError(f"{archive}!{entry}", f"archive entry unreadable: {exc}") from None
    finally:
        zf.close()


@dataclass(frozen=True)
class EntryProblem:
    """An archive entry refused before any of it was inflated (its name and why: too large, a
    zip-bomb ratio, an unsafe path or link, encryption)."""

    entry: str
    reason: str


def safe_entries(archive: Path, limits: Limits) -> Iterator[zipfile.ZipInfo | EntryProblem]:
    """The archive's file entries in name order, or a problem for each one refused.

    Raises SourceError when the archive as a whole is unusable (not a zip, too many entries,
    too large when inflated)."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        # ValueError: a name flagged UTF-8 that is not (zipfile refuses the whole archive);
        # NotImplementedError: an entry needing a zip version zipfile does not read (found by
        # the 100,000-case fuzz run), which also refuses the whole archive.
        raise SourceError(archive, f"not a readable zip archive ({exc})") from None
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
    if len(infos) > limits.max_archive_entries:
        raise SourceError(
            archive,
            f"archive has {len(infos)} entries, over the limit of {limits.max_archive_entries}",
        )
    total = sum(i.file_size for i in infos)
    if total > limits.max_archive_bytes:
        raise SourceError(
            archive,
            f"archive would inflate to {total} bytes, over the limit of {limits.max_archive_bytes}",
        )
    for info in sorted(infos, key=lambda i: i.filename):
        reason = _refusal(info, limits)
        yield info if reason is None else EntryProblem(entry_name(info), reason)


def entry_name(info: zipfile.ZipInfo) -> str:
    """The name to show and store for an entry. Zips without the UTF-8 flag hold names in the
    maker's code page; zipfile reads them as CP437. Like Korean tools, try UTF-8 (many makers
    write it without the flag), then CP949; else the bytes are escaped (see names.py)."""
    if info.flag_bits & _UTF8_FLAG:
        return escape_name(info.filename)
    try:
        raw = info.orig_filename.encode("cp437")
    except UnicodeEncodeError:  # made in memory, not read from a file
        return escape_name(info.filename)
    if raw.isascii():
        return escape_name(info.filename)
    for codec in ("utf-8", "cp949"):
        try:
            return escape_name(raw.decode(codec))
        except UnicodeDecodeError:
            continue
    return escape_bytes(raw)


def find_entry(zf: zipfile.ZipFile, name: str) -> zipfile.ZipInfo | None:
    """The entry whose shown name (`entry_name`) is `name`."""
    for info in zf.infolist():
        if not info.is_dir() and entry_name(info) == name:
            return info
    return None


def _refusal(info: zipfile.ZipInfo, limits: Limits) -> str | None:
    name = info.filename
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or (len(name) > 1 and name[1] == ":"):
        return "absolute path in archive refused"
    if ".." in p.parts:
        return "path escapes the archive (..) refused"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link in archive refused"
    if info.flag_bits & 0x1:
        return "encrypted entry cannot be read"
    if info.file_size > limits.max_file_bytes:
        return f"entry is {info.file_size} bytes, over the limit of {limits.max_file_bytes}"
    if info.compress_size > 0:
        ratio = info.file_size / info.compress_size
        if ratio > limits.max_archive_ratio:
            limit = limits.max_archive_ratio
            return f"compression ratio {ratio:.0f}:1 looks like a zip bomb (limit {limit:.0f}:1)"
    elif info.file_size > 0:
        return "entry claims data but stores none"
    return None
