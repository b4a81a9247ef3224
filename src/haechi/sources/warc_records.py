"""Reading WARC records without trusting them: header lines within a budget (warcio's readline
is unbounded), resynchronising after a damaged record, measuring a payload within a limit, and
the dates and media types records declare."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import DecompressingBufferedReader

from haechi.media.sniff import MEDIA_EXTENSIONS, sniff

READ_CHUNK = 1 << 20


class HeaderTooLargeError(ValueError):
    """A record's header lines went on past the bound (warcio would read them whole)."""


class _BoundedReader(DecompressingBufferedReader):  # type: ignore[misc]
    """warcio reads header lines with an unbounded readline: one 1 GB line in a 1 MB .warc.gz
    took 3.2 GB. Lines read between two payload reads (a record's WARC and HTTP headers, the
    blank lines around them) share one budget; past it the record is refused."""

    def __init__(self, *args: Any, max_header: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_header = max_header
        self.budget = max_header

    def read(self, length: Any = None) -> bytes:
        self.budget = self.max_header
        data: bytes = super().read(length)
        return data

    def readline(self, length: Any = None) -> bytes:
        allowed = self.budget + 1 if length is None else min(length, self.budget + 1)
        line: bytes = super().readline(allowed)
        self.budget -= len(line)
        if self.budget < 0:
            raise HeaderTooLargeError(f"record header is over the limit of {self.max_header} bytes")
        return line


class BoundedArchiveIterator(ArchiveIterator):  # type: ignore[misc]
    """warcio's record iterator reading through a header budget of `max_header` bytes per record."""

    def __init__(self, fh: BinaryIO, max_header: int) -> None:
        super().__init__(fh)
        self.reader = _BoundedReader(self.fh, max_header=max_header)


def resync(fh: BinaryIO, after: int) -> int | None:
    """The offset of the next record start after the record at `after`: a gzip member, or a
    line starting with "WARC/1." (a false start fails to parse and is skipped the same way)."""
    fh.seek(after)
    gz = fh.read(2) == b"\x1f\x8b"
    fh.seek(after + 1)
    needle = b"\x1f\x8b\x08" if gz else b"\nWARC/1."
    pos, tail = after + 1, b""
    while chunk := fh.read(READ_CHUNK):
        data = tail + chunk
        found = data.find(needle)
        if found >= 0:
            start = pos - len(tail) + found
            return start if gz else start + 1
        tail = data[-(len(needle) - 1) :]
        pos += len(chunk)
    return None


def looks_like_media(ctype: str | None, url: str, head: bytes) -> bool:
    """Whether a record is media by its content type, its URL's suffix or its first bytes."""
    kind = (ctype or "").split(";")[0].strip().lower()
    if kind.startswith(("image/", "video/")):
        return True
    if head and sniff(head) is not None:
        return True
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    # A media name with a neutral type (servers often say application/octet-stream).
    return suffix in MEDIA_EXTENSIONS and kind in (
        "",
        "application/octet-stream",
        "binary/octet-stream",
    )


def media_head(record: Any) -> bool:
    """Records whose type and name say nothing are kept only when their bytes say media; the
    check reads the head after `measure` for those, so this only lets them through."""
    ctype = ""
    if record.http_headers is not None:
        ctype = (record.http_headers.get_header("Content-Type") or "").lower()
    # HTML, scripts, style sheets and JSON are never media: skip them without reading.
    return not ctype.startswith(("text/", "application/javascript", "application/json"))


def measure(record: Any, limit: int) -> tuple[int, bytes, str | None]:
    """The payload's size and first bytes, reading it once without keeping it."""
    stream = record.content_stream()
    head = b""
    size = 0
    try:
        while chunk := stream.read(READ_CHUNK):
            if len(head) < 64:
                head += chunk[: 64 - len(head)]
            size += len(chunk)
            if size > limit:
                return size, head, f"record is over the limit of {limit} bytes"
    except (OSError, EOFError, ValueError) as exc:
        return size, head, f"payload unreadable ({exc})"
    return size, head, None


def short_record(record: Any) -> str | None:
    """The archive ended inside this record: its block is shorter than its declared length."""
    missing = getattr(record.raw_stream, "limit", 0)
    if missing > 0:
        return f"record is truncated ({missing} of {record.length} bytes missing)"
    return None


def warc_date(value: str | None) -> datetime | None:
    """A WARC-Date as aware UTC, or None when missing or malformed."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def http_date(value: str | None) -> datetime | None:
    """An HTTP date header as a datetime, or None when missing or malformed."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
