"""Capture one web page and its media into a WARC file: the evidentiary copy.

A person runs this on purpose, so it uses the network; nothing else in haechi does. Every
request and response (redirects and errors included) is written as it was received, with
WARC's own block and payload digests; a closing metadata record states what was asked, what
was fetched and what was refused. Media bytes exist only inside the WARC, never as loose files.
The file is written under a temporary name and renamed when complete."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from haechi import __version__
from haechi.capture.guard import URLRefusedError, check_url
from haechi.capture.links import media_links
from haechi.config import Settings
from haechi.private import create_private, private_dir

HTML_TYPES = ("text/html", "application/xhtml+xml")
CHUNK = 1 << 16


@dataclass(frozen=True)
class Fetch:
    """One URL capture asked for, and what came of it."""

    url: str
    role: str  # "page" or "media"
    status: int | None = None
    content_type: str | None = None
    size: int = 0
    redirected_to: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Capture:
    url: str
    final_url: str
    warc: Path
    sha256: str
    started_at: datetime
    finished_at: datetime
    fetches: tuple[Fetch, ...] = field(default=())

    @property
    def problems(self) -> list[Fetch]:
        return [f for f in self.fetches if f.problem]

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "final_url": self.final_url,
            "warc": str(self.warc),
            "warc_sha256": self.sha256,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "fetches": [asdict(f) for f in self.fetches],
        }


def evidence_file(capture: Capture) -> tuple[Path, str]:
    """The WARC and its SHA-256: what the evidence vault takes in."""
    return capture.warc, capture.sha256


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def capture_page(
    settings: Settings,
    url: str,
    *,
    transport: httpx.BaseTransport | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Capture:
    """Fetch `url` and the media it shows into a new WARC in the captures directory.

    Raises URLRefusedError (an InputError) when the page URL itself may not be fetched; any later
    failure (a redirect to a refused address, a timeout, an oversized file) is a Fetch with a
    problem, recorded in the WARC's metadata record, and the capture goes on."""
    check_url(url, allow_private=settings.capture.allow_private)
    started = now()
    host = re.sub(r"[^A-Za-z0-9.-]", "_", urlsplit(url).hostname or "page")[:100]
    out_dir = settings.captures_dir
    private_dir(out_dir)
    stem = f"{started.strftime('%Y%m%dT%H%M%S%fZ')}-{host}"
    final = out_dir / f"{stem}.warc.gz"
    part = out_dir / f"{stem}.warc.gz.part"
    fetches: list[Fetch] = []
    try:
        with os.fdopen(create_private(part), "wb") as fh, _client(settings, transport) as client:
            writer = WARCWriter(fh, gzip=True)
            writer.write_record(
                writer.create_warcinfo_record(
                    final.name,
                    {
                        "software": f"haechi/{__version__}",
                        "format": "WARC File Format 1.1",
                        "http-header-user-agent": settings.capture.user_agent,
                        "description": "evidence capture of one page and its media",
                    },
                )
            )
            recorder = _Recorder(settings, client, writer)
            page = recorder.get(url, "page", referer=None)
            fetches.extend(recorder.fetches)
            final_url = page.url if page is not None else url
            if page is not None and page.is_html:
                html = _decode_text(page.body, page.headers, settings.capture.max_page_bytes)
                for media_url in media_links(html, page.url, settings.capture.max_media_per_page):
                    recorder.fetches.clear()
                    recorder.get(media_url, "media", referer=page.url)
                    fetches.extend(recorder.fetches)
            finished = now()
            facts = {
                "haechi": __version__,
                "requested_url": url,
                "final_url": final_url,
                "started_at": started.isoformat(),
                "finished_at": finished.isoformat(),
                "user_agent": settings.capture.user_agent,
                "note": (
                    "HTTP bodies are stored after chunked transfer decoding; any "
                    "Transfer-Encoding header is kept as X-Archive-Orig-Transfer-Encoding"
                ),
                "fetches": [asdict(f) for f in fetches],
            }
            writer.write_record(
                writer.create_warc_record(
                    url,
                    "metadata",
                    payload=io.BytesIO(json.dumps(facts, ensure_ascii=False, indent=1).encode()),
                    warc_content_type="application/json",
                )
            )
            fh.flush()
            os.fsync(fh.fileno())
        part.rename(final)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return Capture(url, final_url, final, file_sha256(final), started, finished, tuple(fetches))


def _client(settings: Settings, transport: httpx.BaseTransport | None) -> httpx.Client:
    return httpx.Client(
        headers={
            "User-Agent": settings.capture.user_agent,
            # Bodies as sent are the evidence; asking for none keeps them as they are stored.
            "Accept-Encoding": "identity",
        },
        timeout=settings.capture.timeout_seconds,
        follow_redirects=False,  # each hop is checked and recorded here
        trust_env=False,  # no proxy or .netrc from the environment: what is asked is what is sent
        transport=transport,
    )


@dataclass
class _Page:
    url: str
    headers: httpx.Headers
    body: bytes

    @property
    def is_html(self) -> bool:
        ctype = self.headers.get("content-type", "").split(";")[0].strip().lower()
        return ctype in HTML_TYPES


class _Recorder:
    """Fetches URLs (following redirects itself) and writes every exchange to the WARC."""

    def __init__(self, settings: Settings, client: httpx.Client, writer: WARCWriter) -> None:
        self.settings = settings
        self.client = client
        self.writer = writer
        self.fetches: list[Fetch] = []

    def get(self, url: str, role: str, referer: str | None) -> _Page | None:
        limit = (
            self.settings.capture.max_page_bytes
            if role == "page"
            else self.settings.capture.max_media_bytes
        )
        for _ in range(self.settings.capture.max_redirects + 1):
            try:
                check_url(url, allow_private=self.settings.capture.allow_private)
            except URLRefusedError as exc:
                self.fetches.append(Fetch(url, role, problem=str(exc)))
                return None
            headers = {"Referer": referer} if referer else {}
            try:
                page, status, problem = self._exchange(url, headers, limit)
            except httpx.HTTPError as exc:
                reason = str(exc) or type(exc).__name__
                self.fetches.append(Fetch(url, role, problem=f"{url}: {reason}"))
                return None
            ctype = page.headers.get("content-type") if page else None
            location = page.headers.get("location") if page else None
            if page is not None and 300 <= status < 400 and location:
                target = urljoin(url, location)
                self.fetches.append(
                    Fetch(url, role, status, ctype, len(page.body), redirected_to=target)
                )
                url = target  # the page stays the referer, as in a browser
                continue
            if problem is None and status >= 400:
                problem = f"{url}: HTTP {status}"
            size = len(page.body) if page else 0
            self.fetches.append(Fetch(url, role, status, ctype, size, problem=problem))
            return page if problem is None else None
        self.fetches.append(
            Fetch(url, role, problem=f"{url}: more than {self.settings.capture.max_redirects} "
                  "redirects")
        )  # fmt: skip
        return None

    def _exchange(
        self, url: str, extra: dict[str, str], limit: int
    ) -> tuple[_Page | None, int, str | None]:
        request = self.client.build_request("GET", url, headers=extra)
        response = self.client.send(request, stream=True)
        try:
            body = bytearray()
            for chunk in response.iter_raw(CHUNK):
                body.extend(chunk)
                if len(body) > limit:
                    # Not recorded: a truncated file is not an evidentiary copy of it.
                    return (
                        None,
                        response.status_code,
                        (f"{url}: over the limit of {limit} bytes; not captured"),
                    )
            peer = _peer_address(response)
        finally:
            response.close()
        self._write(request, response, bytes(body), peer)
        return _Page(str(response.url), response.headers, bytes(body)), response.status_code, None

    def _write(
        self, request: httpx.Request, response: httpx.Response, body: bytes, peer: str | None
    ) -> None:
        url = str(request.url)
        target = request.url.raw_path.decode("ascii", "replace")
        req_headers = StatusAndHeaders(
            f"GET {target} HTTP/1.1",
            [(k, v) for k, v in request.headers.multi_items()],
            is_http_request=True,
        )
        resp_headers = StatusAndHeaders(
            f"{response.status_code} {response.reason_phrase}".strip(),
            [
                ("X-Archive-Orig-Transfer-Encoding", v) if k.lower() == "transfer-encoding"
                else (k, v)
                for k, v in response.headers.multi_items()
            ],
            protocol=response.http_version or "HTTP/1.1",
        )  # fmt: skip
        warc_headers = {"WARC-IP-Address": peer} if peer else None
        resp = self.writer.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=resp_headers,
            warc_headers_dict=warc_headers,
        )
        req = self.writer.create_warc_record(
            url, "request", payload=io.BytesIO(b""), length=0, http_headers=req_headers
        )
        # Request first, as wget and most crawlers write it; linked to its response.
        req.rec_headers.replace_header("WARC-Date", resp.rec_headers.get_header("WARC-Date"))
        req.rec_headers.add_header(
            "WARC-Concurrent-To", resp.rec_headers.get_header("WARC-Record-ID")
        )
        self.writer.write_record(req)
        self.writer.write_record(resp)


def _peer_address(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    try:
        addr = stream.get_extra_info("server_addr") if stream is not None else None
    except Exception:  # transports differ in what they expose; the address is a nicety
        return None
    return str(addr[0]) if addr else None


def _decode_text(body: bytes, headers: httpx.Headers, limit: int) -> str:
    """The page as text for link extraction, undoing a content encoding within the limit."""
    encoding = headers.get("content-encoding", "").lower().strip()
    data = body
    if encoding in ("gzip", "x-gzip", "deflate"):
        wbits = 47 if encoding != "deflate" else 15
        try:
            data = zlib.decompressobj(wbits).decompress(body, limit)
        except zlib.error:
            data = b""
    charset = "utf-8"
    ctype = headers.get("content-type", "")
    if m := re.search(r"charset=([\w.:-]+)", ctype, re.IGNORECASE):
        charset = m.group(1)
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")
