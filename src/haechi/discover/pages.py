"""The HTML pages a WARC holds (successful responses and resource records of type text/html),
read one at a time within the page size limit, for the links and names they carry. The archive
is never unpacked to disk and nothing is fetched."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from warcio.exceptions import ArchiveLoadFailed

from haechi.sources.warc_records import BoundedArchiveIterator, HeaderTooLargeError, warc_date


@dataclass(frozen=True)
class CapturedPage:
    """One HTML page held in a WARC: the archive, the record (WARC-Record-ID, or @offset), the
    page's URL, when it was captured and its decoded text."""

    warc: Path
    record: str  # WARC-Record-ID, or @offset
    url: str
    captured_at: datetime | None
    html: str


@dataclass(frozen=True)
class PageProblem:
    """A page or stretch of a WARC that was not read, and why: a page over the size limit, or
    the archive unreadable from that record on (`record` is "" when it could not be opened)."""

    warc: Path
    record: str
    reason: str


def _charset(ctype: str) -> str:
    for part in ctype.split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.lower() == "charset" and v:
            return v.strip("\"' ")
    return "utf-8"


def _is_html(ctype: str | None) -> bool:
    if not ctype:
        return False
    return ctype.split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml")


def pages_in(
    warc: Path, *, max_page_bytes: int, max_header: int
) -> Iterator[CapturedPage | PageProblem]:
    """Every HTML page in one WARC; an unreadable archive ends with a problem, what came before
    it stands."""
    try:
        fh = warc.open("rb")
    except OSError as exc:
        yield PageProblem(warc, "", f"cannot read: {exc.strerror or exc}")
        return
    with fh:
        records = BoundedArchiveIterator(fh, max_header)
        try:
            for record in records:
                page = _page(warc, record, records.offset, max_page_bytes)
                if page is not None:
                    yield page
        except (HeaderTooLargeError, ArchiveLoadFailed, OSError, EOFError, ValueError) as exc:
            yield PageProblem(warc, f"@{records.offset}", f"WARC unreadable from here on: {exc}")


def _page(warc: Path, record: Any, offset: int, limit: int) -> CapturedPage | PageProblem | None:
    heads = record.rec_headers
    record_id = heads.get_header("WARC-Record-ID") or f"@{offset}"
    url = heads.get_header("WARC-Target-URI") or ""
    if record.rec_type == "response":
        http = record.http_headers
        if http is None or not (http.get_statuscode() or "").startswith("2"):
            return None
        ctype = http.get_header("Content-Type")
    elif record.rec_type == "resource":
        ctype = heads.get_header("Content-Type")
    else:
        return None
    if not _is_html(ctype):
        return None
    body = record.content_stream().read(limit + 1)
    if len(body) > limit:
        return PageProblem(warc, record_id, f"{url}: page over the limit of {limit} bytes")
    try:
        html = body.decode(_charset(ctype or ""), errors="replace")
    except LookupError:
        html = body.decode("utf-8", errors="replace")
    return CapturedPage(warc, record_id, url, warc_date(heads.get_header("WARC-Date")), html)
