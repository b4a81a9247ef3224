"""Fetching one URL at a time (following redirects itself, within deadlines) and writing each
exchange to the WARC as it was received. A resource that fails is a Fetch with a problem."""

from __future__ import annotations

import io
import re
import time
import zlib
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from haechi.capture.guard import URLRefusedError, check_url
from haechi.capture.interrupts import Interrupts
from haechi.capture.links import media_links
from haechi.config import Settings

HTML_TYPES = ("text/html", "application/xhtml+xml")
# What one resource can raise besides HTTP errors: a URL httpx cannot parse (InvalidURL, e.g. a
# redirect to `http:\\host\\x.jpg`), a ValueError from URL parsing, a broken stream.
_RESOURCE_ERRORS = (
    httpx.HTTPError,
    httpx.InvalidURL,
    httpx.StreamError,
    ValueError,
    UnicodeError,
    OSError,
)


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


@dataclass
class _Page:
    url: str
    headers: httpx.Headers
    body: bytes

    @property
    def is_html(self) -> bool:
        ctype = self.headers.get("content-type", "").split(";")[0].strip().lower()
        return ctype in HTML_TYPES


class _BadRedirectError(Exception):
    def __init__(self, status: int, location: str, reason: str) -> None:
        super().__init__(location)
        self.status, self.location, self.reason = status, location, reason


class Recorder:
    """Fetches URLs (following redirects itself) and writes every exchange to the WARC."""

    def __init__(
        self,
        settings: Settings,
        client: httpx.Client,
        writer: WARCWriter,
        interrupts: Interrupts,
        deadline: float,
    ) -> None:
        self.settings = settings
        self.client = client
        self.writer = writer
        self.interrupts = interrupts
        self.deadline = deadline
        self.fetches: list[Fetch] = []
        self.stopped: str | None = None
        self._current: tuple[str, str] | None = None
        # httpx parses a redirect's Location even when it does not follow it, and a Location
        # it cannot parse raises before the response is returned: keep the last one seen.
        self._last: httpx.Response | None = None
        client.event_hooks = {"request": [], "response": [self._saw]}

    def _saw(self, response: httpx.Response) -> None:
        self._last = response

    def fetch_all(self, url: str) -> str:
        """The page, then its media, until done, the deadline or Ctrl-C; the final URL."""
        page: _Page | None = None
        todo: list[str] = []
        try:
            page = self.get(url, "page", referer=None)
            if page is not None and page.is_html:
                html = _decode_text(page.body, page.headers, self.settings.capture.max_page_bytes)
                todo = media_links(html, page.url, self.settings.capture.max_media_per_page)
            while todo:
                if time.monotonic() >= self.deadline:
                    self.stopped = "deadline"
                    break
                self.get(todo[0], "media", referer=page.url if page else url)
                todo.pop(0)
        except KeyboardInterrupt:
            self.stopped = "interrupted"
            if self._current is not None:
                cur_url, role = self._current
                self.fetches.append(
                    Fetch(cur_url, role, problem=f"{cur_url}: interrupted (Ctrl-C); not captured")
                )
                if todo and todo[0] == cur_url:
                    todo.pop(0)
        why = {
            "deadline": f"the capture deadline of {self.settings.capture.deadline_seconds:g} s "
            "was reached",
            "interrupted": "the capture was interrupted (Ctrl-C)",
        }.get(self.stopped or "", "")
        for rest in todo:
            self.fetches.append(Fetch(rest, "media", problem=f"{rest}: not fetched: {why}"))
        return page.url if page is not None else url

    def get(self, url: str, role: str, referer: str | None) -> _Page | None:
        """Fetch `url` (following redirects) and write each exchange to the WARC; returns the
        final response, or None when it failed or was refused (a Fetch with its problem)."""
        self._current = (url, role)
        try:
            return self._get(url, role, referer)
        finally:
            self._current = None

    def _get(self, url: str, role: str, referer: str | None) -> _Page | None:
        limit = (
            self.settings.capture.max_page_bytes
            if role == "page"
            else self.settings.capture.max_media_bytes
        )
        for _ in range(self.settings.capture.max_redirects + 1):
            self._current = (url, role)
            headers = {"Referer": referer} if referer else {}
            try:
                check_url(url, allow_private=self.settings.capture.allow_private)
                page, status, problem = self._exchange(url, headers, limit)
            except URLRefusedError as exc:
                self.fetches.append(Fetch(url, role, problem=str(exc)))
                return None
            except _BadRedirectError as exc:
                self.fetches.append(
                    Fetch(
                        url,
                        role,
                        exc.status,
                        redirected_to=exc.location,
                        problem=f"{url}: redirects to {exc.location}, which is not a usable URL "
                        f"({exc.reason}); not followed",
                    )
                )
                return None
            except _RESOURCE_ERRORS as exc:
                reason = str(exc) or type(exc).__name__
                if isinstance(exc, httpx.InvalidURL | ValueError | UnicodeError):
                    reason = f"not a usable URL ({reason})"
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
        start = time.monotonic()
        until = min(self.deadline, start + self.settings.capture.resource_deadline_seconds)
        if until <= start:
            return None, 0, f"{url}: not fetched: the capture deadline was reached"
        # Each read waits at most until the deadline; the loop below checks the whole time, so
        # a server trickling a byte at a time is cut off too.
        timeout = min(self.settings.capture.timeout_seconds, until - start)
        request = self.client.build_request("GET", url, headers=extra, timeout=timeout)
        self._last = None
        try:
            response = self.client.send(request, stream=True)
        except httpx.InvalidURL as exc:
            last = self._last
            if last is not None and "location" in last.headers:
                raise _BadRedirectError(
                    last.status_code, last.headers["location"], str(exc)
                ) from None
            raise
        try:
            body = bytearray()
            for chunk in response.iter_raw():
                body.extend(chunk)
                if len(body) > limit:
                    # Not recorded: a truncated file is not an evidentiary copy of it.
                    return (
                        None,
                        response.status_code,
                        (f"{url}: over the limit of {limit} bytes; not captured"),
                    )
                if time.monotonic() > until:
                    return None, response.status_code, self._too_slow(url, until, len(body))
            peer = _peer_address(response)
        finally:
            response.close()
        with self.interrupts.writing():
            self._write(request, response, bytes(body), peer)
        return _Page(str(response.url), response.headers, bytes(body)), response.status_code, None

    def _too_slow(self, url: str, until: float, got: int) -> str:
        cap = self.settings.capture
        if until >= self.deadline:
            self.stopped = "deadline"
        which = (
            f"the capture deadline of {cap.deadline_seconds:g} s"
            if until >= self.deadline
            else f"the per-resource deadline of {cap.resource_deadline_seconds:g} s"
        )
        return f"{url}: still arriving at {which} ({got} bytes so far); not captured"

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
