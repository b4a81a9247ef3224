"""A WARC file (ISO 28500): the captures `haechi capture` writes, and those volunteers bring from
other tools (Webrecorder, `wget --warc-file`, Browsertrix).

Every image or video the archive holds as a successful HTTP response (or as a resource record)
is one sighting, with the URL it was fetched from and the time it was captured. A public
Telegram channel's web preview (t.me/s/NAME) in the archive is read as that channel's messages,
and the media records of its posts are sighted in those posts, as in an export. The archive is
never unpacked to disk: a record is read into memory, within a size limit, when a worker opens
it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from haechi.errors import SourceError
from haechi.sources.base import Sighting, Source, SourceProblem
from haechi.sources.chat import ChatMedia, ChatMessage, ChatRoom
from haechi.sources.tme_preview import Preview, preview_channel, read_preview
from haechi.sources.warc_records import (
    BoundedArchiveIterator,
    HeaderTooLargeError,
    http_date,
    looks_like_media,
    measure,
    media_head,
    resync,
    short_record,
    warc_date,
)

# Record errors are stored with the item (scan errors) and stay English: no _() here.

WARC_SUFFIXES = (".warc", ".warc.gz")


def is_warc(path: Path) -> bool:
    """Whether the path is a WARC file by its name (.warc, .warc.gz)."""
    return path.is_file() and path.name.lower().endswith(WARC_SUFFIXES)


def media_name(url: str) -> str:
    """The URL without query and fragment: a readable name whose suffix is the file's."""
    parts = urlsplit(url)
    if not parts.scheme:
        return url
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


@dataclass(frozen=True)
class WarcRecordContent:
    """One record's payload, read from its offset when a worker opens it. Chunked transfer and
    gzip/deflate content encodings are undone, as a browser would."""

    archive: Path
    offset: int
    name: str
    declared_size: int = field(default=0)
    limit: int = field(default=0)
    max_header: int = field(default=1 << 20)

    @property
    def size(self) -> int:
        """The size the record declares (the payload is measured when scanned)."""
        return self.declared_size

    def open(self) -> BinaryIO:
        """The record's payload in memory, read again from the archive at its offset; SourceError
        when unreadable or over the limit."""
        try:
            with self.archive.open("rb") as fh:
                fh.seek(self.offset)
                record = next(iter(BoundedArchiveIterator(fh, self.max_header)))
                data = record.content_stream().read(self.limit + 1)
        except (ArchiveLoadFailed, OSError, EOFError, StopIteration, ValueError) as exc:
            # ValueError covers HeaderTooLargeError.
            raise SourceError(self.name, f"WARC record unreadable: {exc or 'no record'}") from None
        if len(data) > self.limit:
            raise SourceError(self.name, f"record is over the limit of {self.limit} bytes")
        return io.BytesIO(data)


class WarcSource(Source):
    """A WARC file as a source: its media records, and the messages of any t.me/s channel preview it
    holds."""

    kind = "warc"
    priority = 10

    @classmethod
    def recognises(cls, path: Path) -> bool:
        """Whether the path is a WARC file."""
        return is_warc(path)

    def sightings(self) -> Iterator[Sighting | SourceProblem | ChatMessage]:
        """One sighting per media record, in the preview's posts where it was one; a damaged record
        becomes a problem and the reading resumes after it."""
        path = self.root.resolve()
        limit = self.settings.capture.max_media_bytes
        try:
            st = path.stat()
            fh = path.open("rb")
        except OSError as exc:
            yield SourceProblem("", f"cannot read: {exc.strerror or exc}")
            return
        referers: dict[str, str] = {}
        # A media URL -> the preview post that shows it (its record follows the page's).
        in_posts: dict[str, ChatMessage] = {}
        max_header = self.settings.limits.max_warc_header_bytes
        start: int | None = 0
        with fh:
            while start is not None:
                fh.seek(start)
                records = BoundedArchiveIterator(fh, max_header)
                start = None
                try:
                    for record in records:
                        # The record's start; get_record_offset() would consume it.
                        offset = records.offset
                        if (channel := _preview_of(record)) is not None:
                            yield from _preview_messages(
                                record, channel, self.settings.capture.max_page_bytes, in_posts
                            )
                            continue
                        place = _place(path, record, offset, (limit, max_header), referers)
                        if place is None:
                            continue
                        if isinstance(place, Sighting):
                            place = _with_file(place, st.st_size, st.st_mtime_ns)
                            if place.url in in_posts:
                                place = _in_post(place, in_posts[place.url])
                        yield place
                except HeaderTooLargeError as exc:
                    # Refused before it costs memory; the next record, if one can be found,
                    # is read as usual.
                    yield SourceProblem(f"@{records.offset}", f"{path.name}: {exc}; skipped")
                    start = resync(fh, records.offset)
                except (ArchiveLoadFailed, OSError, EOFError, ValueError) as exc:
                    # A truncated or corrupt archive: what came before stands, the rest is named.
                    yield SourceProblem(
                        f"@{records.offset}", f"WARC unreadable from here on: {exc}"
                    )
                except (AttributeError, TypeError, KeyError, IndexError) as exc:
                    # warcio's own slips on records no tool writes (a response without a
                    # target URI): found by fuzzing (tests/test_fuzz_sources.py).
                    yield SourceProblem(
                        f"@{records.offset}",
                        f"WARC unreadable from here on: malformed record ({type(exc).__name__})",
                    )

    def open_locator(self, locator: str) -> BinaryIO:
        """The payload of the record named by its WARC-Record-ID (`<urn:uuid:…>`), or by its
        offset (`@N`) for a record without one, read within the size limit as the scan did.
        Finding a record by id reads the archive's headers up to it; nothing is unpacked."""
        path = self.root.resolve()
        limit = self.settings.capture.max_media_bytes
        where = f"{path}#{locator}"
        offset: int | None = None
        if locator.startswith("@") and locator[1:].isdigit():
            offset = int(locator[1:])
        else:
            offset = _record_offset(path, locator, where)
        if offset is None:
            raise SourceError(where, "gone: the archive holds no record with this id")
        return WarcRecordContent(path, offset, where, 0, limit).open()


def _record_offset(path: Path, record_id: str, where: str) -> int | None:
    try:
        with path.open("rb") as fh:
            records = ArchiveIterator(fh)
            for record in records:
                if record.rec_headers.get_header("WARC-Record-ID") == record_id:
                    return int(records.offset)
    except FileNotFoundError:
        raise SourceError(where, "gone: the archive is no longer there") from None
    except (ArchiveLoadFailed, OSError, EOFError, ValueError) as exc:
        raise SourceError(where, f"WARC unreadable: {exc}") from None
    return None


def _preview_of(record: Any) -> str | None:
    """The channel whose web preview this record is (a 2xx HTML response for t.me/s/NAME)."""
    if record.rec_type != "response" or record.http_headers is None:
        return None
    if not (record.http_headers.get_statuscode() or "").startswith("2"):
        return None
    ctype = (record.http_headers.get_header("Content-Type") or "").split(";")[0].strip().lower()
    if ctype not in ("text/html", "application/xhtml+xml"):
        return None
    return preview_channel(record.rec_headers.get_header("WARC-Target-URI") or "")


def _preview_messages(
    record: Any, channel: str, limit: int, in_posts: dict[str, ChatMessage]
) -> Iterator[ChatMessage | SourceProblem]:
    url = record.rec_headers.get_header("WARC-Target-URI") or ""
    record_id = record.rec_headers.get_header("WARC-Record-ID") or url
    try:
        data = record.content_stream().read(limit + 1)
    except (OSError, EOFError, ValueError) as exc:
        yield SourceProblem(record_id, f"{url}: payload unreadable ({exc})")
        return
    if len(data) > limit:
        yield SourceProblem(record_id, f"{url}: page is over the limit of {limit} bytes")
        return
    ctype = record.http_headers.get_header("Content-Type") or ""
    html = data.decode(_charset(ctype), errors="replace")
    preview = read_preview(html, url)
    if preview is None:
        return
    captured = warc_date(record.rec_headers.get_header("WARC-Date")) or datetime.now(UTC)
    for msg in _messages(preview, captured):
        for m in msg.media:
            if m.relpath:
                in_posts.setdefault(m.relpath, msg)
        yield msg


def _messages(preview: Preview, captured: datetime) -> Iterator[ChatMessage]:
    rooms: dict[str, ChatRoom] = {}
    for post in preview.posts:
        key = post.channel.lower()
        if key not in rooms:
            title = preview.title if key == preview.channel.lower() else ""
            rooms[key] = ChatRoom(f"@{key}", title or f"@{post.channel}", "public_channel")
        media = tuple(
            ChatMedia(u, kind, None, "present")
            for kind, urls in (("photo", post.photos), ("video_file", post.videos))
            for u in urls
        )
        yield ChatMessage(
            room=rooms[key],
            id=post.id,
            kind="message",
            # A post without a time is dated by the capture: it was there by then.
            date=post.date or captured,
            edited=None,
            author_id=f"@{post.author_name.lower()}" if post.author_name else None,
            author_name=post.author or None,
            forwarded_from=post.forwarded_from,
            saved_from=None,
            reply_to=post.reply_to,
            via_bot=None,
            text=post.text,
            links=tuple(post.links),
            media=media,
        )


def _in_post(place: Sighting, msg: ChatMessage) -> Sighting:
    return replace(
        place,
        room=msg.room.id,
        message_id=str(msg.id),
        poster=msg.author_id or msg.author_name,
        posted_at=msg.date,
        forwarded_from=msg.forwarded_from,
        context=msg.text or place.context,
    )


def _charset(ctype: str) -> str:
    for part in ctype.split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.lower() == "charset" and v.strip("\"' "):
            name = v.strip("\"' ")
            try:
                "".encode(name)
            except LookupError:
                return "utf-8"
            return name
    return "utf-8"


def _with_file(place: Sighting, size: int, mtime_ns: int) -> Sighting:
    # The archive's size and mtime: a record only changes when its archive does.
    return replace(place, file_size=size, file_mtime_ns=mtime_ns)


def _place(
    path: Path, record: Any, offset: int, limits: tuple[int, int], referers: dict[str, str]
) -> Sighting | SourceProblem | None:
    limit, max_header = limits
    rtype = record.rec_type
    url = record.rec_headers.get_header("WARC-Target-URI") or ""
    record_id = record.rec_headers.get_header("WARC-Record-ID") or ""
    locator = record_id or f"@{offset}"
    if rtype == "request":
        ref = record.http_headers.get_header("Referer") if record.http_headers else None
        if ref and url:
            referers[url] = ref
        return None
    if rtype not in ("response", "resource"):
        return None
    http = record.http_headers if rtype == "response" else None
    if rtype == "response":
        if http is None:
            return None  # dns:, whois: and other non-HTTP responses
        status = http.get_statuscode() or ""
        if status == "206":
            if not looks_like_media(http.get_header("Content-Type"), url, b""):
                return None
            return SourceProblem(locator, f"{url}: partial content (HTTP 206), not the whole file")
        if not status.startswith("2"):
            return None
        ctype = http.get_header("Content-Type")
    else:
        ctype = record.rec_headers.get_header("Content-Type")
    if not looks_like_media(ctype, url, b"") and not media_head(record):
        return None
    size, head, problem = measure(record, limit)
    if problem is None:
        problem = short_record(record)
    if problem is not None:
        return SourceProblem(locator, f"{url or locator}: {problem}")
    if not looks_like_media(ctype, url, head):
        return None
    name = media_name(url) if url else f"{path.name}{locator}"
    context = f"linked from {referers[url]}" if url in referers else None
    posted = None
    if http is not None:
        posted = http_date(http.get_header("Last-Modified"))
    return Sighting(
        locator=locator,
        content=WarcRecordContent(path, offset, name, size, limit, max_header),
        url=url or None,
        seen_at=warc_date(record.rec_headers.get_header("WARC-Date")),
        posted_at=posted,
        context=context,
    )
