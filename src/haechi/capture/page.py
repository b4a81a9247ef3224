"""Capture one web page and its media into a WARC file: the evidentiary copy.

A person runs this on purpose, so it uses the network; nothing else in haechi does. Every
request and response (redirects and errors included) is written as it was received, with
WARC's own block and payload digests; a closing metadata record states what was asked, what
was fetched and what was refused. Media bytes exist only inside the WARC, never as loose files.
The file is written under a temporary name and renamed when complete.

A resource that fails in any way (a URL httpx cannot parse, a refused address, a timeout) is
recorded as not captured and the capture goes on. The capture has a deadline, and each resource
one of its own; when either passes, or on Ctrl-C, the WARC is closed with what was fetched, so
a slow or hostile server costs at most the deadline, never the page already fetched."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from warcio.warcwriter import WARCWriter

from haechi import __version__
from haechi.capture.guard import check_url
from haechi.capture.interrupts import Interrupts
from haechi.capture.recorder import Fetch, Recorder
from haechi.config import Settings
from haechi.private import create_private, private_dir

__all__ = ["Capture", "Fetch", "capture_page", "evidence_file"]


@dataclass(frozen=True)
class Capture:
    """One finished capture: the URL asked for and the one it ended at, the WARC and its
    SHA-256, when it started and ended, every fetch (with its problem, if any), and why it
    stopped early, if it did."""

    url: str
    final_url: str
    warc: Path
    sha256: str
    started_at: datetime
    finished_at: datetime
    fetches: tuple[Fetch, ...] = field(default=())
    # None: every link was tried; "deadline" or "interrupted": the WARC holds what was
    # fetched until then, and the rest is listed among the fetches as not captured.
    stopped: str | None = None

    @property
    def problems(self) -> list[Fetch]:
        """The fetches that failed or were refused (each says why)."""
        return [f for f in self.fetches if f.problem]

    def to_json(self) -> dict[str, Any]:
        """The capture as `capture --json` prints it, every fetch included."""
        return {
            "url": self.url,
            "final_url": self.final_url,
            "warc": str(self.warc),
            "warc_sha256": self.sha256,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "stopped": self.stopped,
            "fetches": [asdict(f) for f in self.fetches],
        }


def evidence_file(capture: Capture) -> tuple[Path, str]:
    """The WARC and its SHA-256: what the evidence vault takes in."""
    return capture.warc, capture.sha256


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file (hex), read in 1 MiB chunks."""
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
    deadline = time.monotonic() + settings.capture.deadline_seconds
    host = re.sub(r"[^A-Za-z0-9.-]", "_", urlsplit(url).hostname or "page")[:100]
    out_dir = settings.captures_dir
    private_dir(out_dir)
    stem = f"{started.strftime('%Y%m%dT%H%M%S%fZ')}-{host}"
    final = out_dir / f"{stem}.warc.gz"
    part = out_dir / f"{stem}.warc.gz.part"
    with Interrupts() as interrupts:
        try:
            with (
                os.fdopen(create_private(part), "wb") as fh,
                _client(settings, transport) as client,
            ):
                writer = WARCWriter(fh, gzip=True)
                with interrupts.writing():
                    writer.write_record(_warcinfo(writer, settings, final.name))
                recorder = Recorder(settings, client, writer, interrupts, deadline)
                final_url = recorder.fetch_all(url)
                interrupts.stopping = True  # from here on only closing the WARC is left
                finished = now()
                facts = {
                    "haechi": __version__,
                    "requested_url": url,
                    "final_url": final_url,
                    "started_at": started.isoformat(),
                    "finished_at": finished.isoformat(),
                    "stopped": recorder.stopped,
                    "user_agent": settings.capture.user_agent,
                    "note": (
                        "HTTP bodies are stored after chunked transfer decoding; any "
                        "Transfer-Encoding header is kept as X-Archive-Orig-Transfer-Encoding"
                    ),
                    "fetches": [asdict(f) for f in recorder.fetches],
                }
                with interrupts.writing():
                    writer.write_record(
                        writer.create_warc_record(
                            url,
                            "metadata",
                            payload=io.BytesIO(
                                json.dumps(facts, ensure_ascii=False, indent=1).encode()
                            ),
                            warc_content_type="application/json",
                        )
                    )
                    fh.flush()
                    os.fsync(fh.fileno())
            part.rename(final)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    return Capture(
        url,
        final_url,
        final,
        file_sha256(final),
        started,
        finished,
        tuple(recorder.fetches),
        recorder.stopped,
    )


def _warcinfo(writer: WARCWriter, settings: Settings, name: str) -> Any:
    return writer.create_warcinfo_record(
        name,
        {
            "software": f"haechi/{__version__}",
            "format": "WARC File Format 1.1",
            "http-header-user-agent": settings.capture.user_agent,
            "description": "evidence capture of one page and its media",
        },
    )


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
