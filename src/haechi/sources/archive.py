"""Safe reading of .zip archives: every entry is checked before a byte of it is inflated."""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, cast

from haechi.config import Limits
from haechi.errors import SourceError


@dataclass(frozen=True)
class ZipEntryContent:
    """One archive entry, read into memory only when a worker opens it. `ZipExtFile` never
    returns more than the declared size, so the checked size is also the bound on memory."""

    archive: Path
    entry: str
    name: str
    declared_size: int = field(default=0)

    @property
    def size(self) -> int:
        return self.declared_size

    def open(self) -> BinaryIO:
        try:
            with zipfile.ZipFile(self.archive) as zf, zf.open(self.entry) as fh:
                return io.BytesIO(fh.read(self.declared_size + 1))
        except (zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
            # Opening must raise an error the pipeline records per file, not crash a worker.
            raise SourceError(self.name, f"archive entry unreadable: {exc}") from None


def open_entry(archive: Path, entry: str, limits: Limits) -> BinaryIO:
    """One entry of `archive` as a stream, for reading an item again (evidence capture).
    KeyError when the archive has no such entry; SourceError when it is refused now."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceError(archive, f"not a readable zip archive ({exc})") from None
    try:
        info = zf.getinfo(entry)
        reason = _refusal(info, limits)
        if reason is not None:
            raise SourceError(f"{archive}!{entry}", reason)
        # The open entry keeps the archive file open after the ZipFile is closed below.
        return cast(BinaryIO, zf.open(info))
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise SourceError(f"{archive}!{entry}", f"archive entry unreadable: {exc}") from None
    finally:
        zf.close()


@dataclass(frozen=True)
class EntryProblem:
    entry: str
    reason: str


def safe_entries(archive: Path, limits: Limits) -> Iterator[zipfile.ZipInfo | EntryProblem]:
    """The archive's file entries in name order, or a problem for each one refused.

    Raises SourceError when the archive as a whole is unusable (not a zip, too many entries,
    too large when inflated)."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
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
        yield info if reason is None else EntryProblem(info.filename, reason)


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
