"""Capture against servers that misbehave on purpose: a redirect to a URL no client can parse, a
resource that trickles a byte at a time for ever, and a person pressing Ctrl-C. Each time the
capture ends, the page already fetched is in a valid WARC, and what was skipped is said."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import haechi, jpeg_bytes, noise_image
from warcio.archiveiterator import ArchiveIterator

from haechi.capture import capture_page
from haechi.config import load_settings

PAGE = b"""<!doctype html><html><body>
<img src="/a.jpg"><img src="/escape.jpg"><img src="/slow.jpg"><img src="/b.jpg">
</body></html>"""


@dataclass
class Site:
    base: str
    hits: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def site() -> Iterator[Site]:
    pictures = {"/a.jpg": jpeg_bytes(noise_image(31)), "/b.jpg": jpeg_bytes(noise_image(32))}
    state = Site("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits.append(self.path)
            port = self.server.server_port  # type: ignore[attr-defined]
            if self.path == "/escape.jpg":
                # Backslashes: browsers read this as http://127.0.0.1:PORT/secret.jpg; httpx
                # refuses to parse it.
                self.send_response(302)
                self.send_header("Location", f"http:\\\\127.0.0.1:{port}\\secret.jpg")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path == "/slow.jpg":
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                while not state.stop.is_set():  # one byte at a time, never a read timeout
                    try:
                        self.wfile.write(b"\xff")
                        self.wfile.flush()
                    except OSError:
                        return
                    state.stop.wait(0.2)
                return
            body, ctype = (PAGE, "text/html") if self.path == "/" else (
                pictures.get(self.path, b""), "image/jpeg"
            )  # fmt: skip
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        state.stop.set()
        server.shutdown()
        server.server_close()


def _records(warc: Path) -> dict[str, list[str]]:
    """Record type -> target URIs, reading every record to the end (a broken gzip member or a
    cut record raises here)."""
    out: dict[str, list[str]] = {}
    with warc.open("rb") as fh:
        for rec in ArchiveIterator(fh):
            rec.content_stream().read()
            out.setdefault(rec.rec_type, []).append(rec.rec_headers.get_header("WARC-Target-URI"))
    return out


def test_a_bad_redirect_and_a_trickle_end_with_the_page_kept(site: Site, tmp_path: Path) -> None:
    settings = load_settings(
        home=tmp_path / "h",
        workers=1,
        capture={"allow_private": True, "deadline_seconds": 3, "timeout_seconds": 30},
    )
    started = time.monotonic()
    cap = capture_page(settings, site.base + "/")
    took = time.monotonic() - started
    assert took < 15  # the trickle would otherwise never end
    assert cap.stopped == "deadline"
    responses = _records(cap.warc)["response"]
    assert site.base + "/" in responses and site.base + "/a.jpg" in responses
    problems = {f.url: f.problem or "" for f in cap.problems}
    assert "not a usable URL" in problems[site.base + "/escape.jpg"]
    assert "deadline" in problems[site.base + "/slow.jpg"]
    assert "not fetched" in problems[site.base + "/b.jpg"]
    assert not list(settings.captures_dir.glob("*.part"))


def test_cli_capture_reports_what_was_skipped(site: Site, tmp_path: Path) -> None:
    env = {
        "HAECHI_CAPTURE__ALLOW_PRIVATE": "true",
        "HAECHI_CAPTURE__RESOURCE_DEADLINE_SECONDS": "2",
    }
    proc = haechi(tmp_path / "h", "--workers", "1", "capture", site.base + "/", env=env)
    assert "Traceback" not in proc.stderr
    assert "secret.jpg, which is not a usable URL" in proc.stdout
    assert "slow.jpg: still arriving at the per-resource deadline of 2 s" in proc.stdout
    assert "media: 2 scanned, 2 new" in proc.stdout  # a.jpg and b.jpg, after the trickle
    listed = haechi(tmp_path / "h", "items", "--json").stdout.splitlines()
    assert len(listed) == 2


def test_ctrl_c_keeps_a_valid_warc_with_the_page(site: Site, tmp_path: Path) -> None:
    home = tmp_path / "h"
    env = {**os.environ, "HAECHI_CAPTURE__ALLOW_PRIVATE": "true", "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "haechi", "--home", str(home), "--workers", "1", "capture",
         "--json", site.base + "/"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while "/slow.jpg" not in site.hits and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "/slow.jpg" in site.hits, "the capture never reached the trickling picture"
    time.sleep(0.5)  # some bytes of it arrive
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    (warc,) = (home / "captures").glob("*.warc.gz")
    records = _records(warc)
    assert site.base + "/" in records["response"] and site.base + "/a.jpg" in records["response"]
    assert site.base + "/slow.jpg" not in records["response"]
    assert len(records["metadata"]) == 1
    result = json.loads(out.splitlines()[0])
    assert result["stopped"] == "interrupted"
    problems = {f["url"]: f["problem"] for f in result["fetches"] if f["problem"]}
    assert "interrupted" in problems[site.base + "/slow.jpg"]
    assert "not fetched" in problems[site.base + "/b.jpg"]
    assert result["scan"]["files"] == 1  # a.jpg, scanned from the kept WARC
    assert f"interrupted: {warc}" in err
