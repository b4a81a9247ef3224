"""Web capture against a real HTTP server on 127.0.0.1: the WARC is a valid evidentiary copy, its
media are scanned with their URLs, bad media and failed fetches are reported, the rest goes on."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import haechi, jpeg_bytes, noise_image, write_video
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from haechi.capture import URLRefusedError, capture_page, check_url, evidence_file
from haechi.capture.links import media_links
from haechi.config import Settings, load_settings
from haechi.scan import scan_paths
from haechi.store.db import Database
from haechi.store.models import Item, ItemError, Sighting

PAGE = """<!doctype html><html><head><title>test page</title>
<meta property="og:image" content="/og.jpg"></head><body>
<img src="a.jpg" alt="first">
<img src="/b.jpg" srcset="/b.jpg 1x, /c.png 2x">
<video poster="/a.jpg"><source src="/clip.mp4" type="video/mp4"></video>
<img src="/broken.jpg"><img src="/missing.jpg"><img src="/moved.jpg">
<a href="/d.jpg?size=large#top">full size</a> <a href="/about.html">about</a>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
</body></html>"""


@dataclass
class Site:
    base: str
    files: dict[str, tuple[int, str, bytes]]
    hits: list[str]


def _png(seed: int) -> bytes:
    import io

    buf = io.BytesIO()
    noise_image(seed).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    clip = tmp_path_factory.mktemp("clip") / "clip.mp4"
    write_video(clip, seconds=2)
    files: dict[str, tuple[int, str, bytes]] = {
        "/page.html": (200, "text/html; charset=utf-8", PAGE.encode()),
        "/a.jpg": (200, "image/jpeg", jpeg_bytes(noise_image(1))),
        "/b.jpg": (200, "image/jpeg", jpeg_bytes(noise_image(2))),
        "/c.png": (200, "image/png", _png(3)),
        "/d.jpg": (200, "image/jpeg", jpeg_bytes(noise_image(4))),
        "/og.jpg": (200, "image/jpeg", jpeg_bytes(noise_image(5))),
        "/a2.jpg": (200, "image/jpeg", jpeg_bytes(noise_image(6))),
        "/clip.mp4": (200, "video/mp4", clip.read_bytes()),
        "/broken.jpg": (200, "image/jpeg", b"this is not a picture at all"),
        "/big.html": (200, "text/html", b"<html>" + b"x" * 5000 + b"</html>"),
    }
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            hits.append(self.path)
            if path == "/moved.jpg":
                self.send_response(302)
                self.send_header("Location", "/a2.jpg")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if path == "/loop":
                self.send_response(301)
                self.send_header("Location", "/loop")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status, ctype, body = files.get(path, (404, "text/plain", b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Last-Modified", "Tue, 05 Mar 2024 10:00:00 GMT")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_address[1]}", files, hits)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def local(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "home", workers=1, capture={"allow_private": True})


def test_media_links_cover_the_ways_pages_show_media() -> None:
    links = media_links(PAGE, "http://example.org/dir/page.html", limit=100)
    assert links == [
        "http://example.org/og.jpg",
        "http://example.org/dir/a.jpg",
        "http://example.org/b.jpg",
        "http://example.org/c.png",
        "http://example.org/a.jpg",
        "http://example.org/clip.mp4",
        "http://example.org/broken.jpg",
        "http://example.org/missing.jpg",
        "http://example.org/moved.jpg",
        "http://example.org/d.jpg?size=large",
    ]
    assert media_links(PAGE, "http://example.org/", limit=2) == [
        "http://example.org/og.jpg",
        "http://example.org/a.jpg",
    ]
    based = '<base href="https://cdn.example.net/x/"><img src="p.jpg">'
    assert media_links(based, "http://example.org/", 10) == ["https://cdn.example.net/x/p.jpg"]


def test_capture_writes_a_valid_warc_and_scans_its_media(
    site: Site, local: Settings, db: Database
) -> None:
    cap = capture_page(local, f"{site.base}/page.html")
    assert cap.warc.parent == local.captures_dir and cap.warc.name.endswith("-127.0.0.1.warc.gz")
    assert evidence_file(cap) == (cap.warc, hashlib.sha256(cap.warc.read_bytes()).hexdigest())
    assert not list(local.captures_dir.glob("*.part"))

    # warcio reads it back, every payload digest matches, the first and last records frame it.
    records = []
    with cap.warc.open("rb") as fh:
        for rec in ArchiveIterator(fh):
            body = rec.content_stream().read()
            records.append((rec.rec_type, rec.rec_headers.get_header("WARC-Target-URI"), body))
            digest = rec.rec_headers.get_header("WARC-Payload-Digest")
            if rec.rec_type == "response":
                want = "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode()
                assert digest == want
    assert records[0][0] == "warcinfo" and records[-1][0] == "metadata"
    facts = json.loads(records[-1][2])
    assert facts["requested_url"] == f"{site.base}/page.html"
    responses = {url: body for kind, url, body in records if kind == "response"}
    for path in ("/page.html", "/a.jpg", "/clip.mp4", "/broken.jpg", "/a2.jpg"):
        assert responses[site.base + path] == site.files[path][2]
    assert responses[f"{site.base}/missing.jpg"] == b"not found"  # a 404 is evidence too
    assert sum(1 for kind, _, _ in records if kind == "request") == len(responses)

    problems = {f.url: f.problem for f in cap.problems}
    assert problems == {f"{site.base}/missing.jpg": f"{site.base}/missing.jpg: HTTP 404"}
    moved = next(f for f in cap.fetches if f.url.endswith("/moved.jpg"))
    assert (moved.status, moved.redirected_to) == (302, f"{site.base}/a2.jpg")

    (summary,) = scan_paths(db, local, [cap.warc])
    assert summary.kind == "warc"
    # 8 media responses: og, a, b, c, clip, broken, a2 (via the redirect), d. The broken one is
    # an item too (its hashes stand) with the reason it cannot be decoded.
    assert (summary.seen, summary.new_items, summary.errors) == (8, 8, 1)
    with db.session() as s:
        sightings = {sg.url: sg for sg in s.scalars(select(Sighting))}
        kinds = {i.sha256: i.kind for i in s.scalars(select(Item))}
        errors = list(s.scalars(select(ItemError)))
    assert set(sightings) == {
        f"{site.base}{p}"
        for p in ("/og.jpg", "/a.jpg", "/b.jpg", "/c.png", "/clip.mp4", "/broken.jpg",
                  "/a2.jpg", "/d.jpg?size=large")
    }  # fmt: skip
    clip = sightings[f"{site.base}/clip.mp4"]
    assert kinds[clip.item_sha256] == "video"
    assert clip.item_sha256 == hashlib.sha256(site.files["/clip.mp4"][2]).hexdigest()
    assert clip.context == f"linked from {site.base}/page.html"
    assert clip.posted_at is not None and clip.posted_at.year == 2024  # Last-Modified
    assert clip.seen_at.replace(tzinfo=None) >= cap.started_at.replace(tzinfo=None, microsecond=0)
    assert clip.locator.startswith("<urn:uuid:") or clip.locator.startswith("urn:uuid:")
    (broken,) = errors
    assert broken.item_sha256 == sightings[f"{site.base}/broken.jpg"].item_sha256
    assert (broken.stage, broken.reason) == (
        "decode",
        "not an image: the name says .jpg but the content is text",
    )

    # Media exist only inside the WARC: nothing else but the database and the (template-only)
    # face index was written.
    loose = [
        p.relative_to(local.home_dir).as_posix()
        for p in local.home_dir.rglob("*")
        if p.is_file() and not p.name.startswith("haechi.db") and p.parent.name != "indexes"
    ]
    assert loose == [f"captures/{cap.warc.name}"]

    # A second scan of the same WARC reads nothing again.
    (again,) = scan_paths(db, local, [cap.warc])
    assert (again.unchanged, again.new_items) == (8, 0)


def test_capture_limits_and_redirect_loops(site: Site, tmp_path: Path) -> None:
    tight = load_settings(
        home=tmp_path / "h",
        workers=1,
        capture={"allow_private": True, "max_media_bytes": 25_000, "max_redirects": 3},
    )
    cap = capture_page(tight, f"{site.base}/page.html")
    problems = {f.url.rsplit("/", 1)[1]: f.problem or "" for f in cap.problems}
    # The pictures (~30 KB) are over the limit, the clip (~20 KB) is not.
    assert "over the limit of 25000 bytes" in problems["a.jpg"]
    assert "clip.mp4" not in problems
    with cap.warc.open("rb") as fh:
        urls = [r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(fh)]
    assert f"{site.base}/a.jpg" not in urls  # a truncated copy is no evidence: not written
    assert f"{site.base}/clip.mp4" in urls
    loop = capture_page(tight, f"{site.base}/loop")
    assert loop.problems[-1].problem == f"{site.base}/loop: more than 3 redirects"
    small_page = load_settings(
        home=tmp_path / "h2", capture={"allow_private": True, "max_page_bytes": 1000}
    )
    big = capture_page(small_page, f"{site.base}/big.html")
    assert "over the limit of 1000 bytes" in (big.problems[0].problem or "")


def test_private_and_non_http_addresses_are_refused(tmp_path: Path, site: Site) -> None:
    strict = load_settings(home=tmp_path / "h")
    assert strict.capture.allow_private is False  # the default
    for url in ("http://127.0.0.1/", "http://10.1.2.3/x.jpg", "http://[::1]:8080/",
                "http://169.254.169.254/latest/meta-data/", "http://192.168.0.1/"):  # fmt: skip
        with pytest.raises(URLRefusedError, match="private or local address"):
            check_url(url, allow_private=False)
    for url in ("file:///etc/passwd", "ftp://example.org/a.jpg", "gopher://x/"):
        with pytest.raises(URLRefusedError, match="only http and https"):
            check_url(url, allow_private=True)
    with pytest.raises(URLRefusedError, match="user name or password"):
        check_url("http://user:pw@example.org/", allow_private=True)
    check_url("http://93.184.215.14/a.jpg", allow_private=False)  # a public address literal
    hits = len(site.hits)
    with pytest.raises(URLRefusedError):
        capture_page(strict, f"{site.base}/page.html")
    assert len(site.hits) == hits  # refused before any request
    assert not strict.captures_dir.exists() or not list(strict.captures_dir.iterdir())


def test_cli_capture_json_and_refusal(site: Site, tmp_path: Path) -> None:
    home = tmp_path / "h"
    env = {"HAECHI_CAPTURE__ALLOW_PRIVATE": "true"}
    proc = haechi(home, "--workers", "1", "capture", f"{site.base}/page.html", "--json", env=env)
    (line,) = [json.loads(x) for x in proc.stdout.splitlines()]
    assert Path(line["warc"]).is_file() and len(line["warc_sha256"]) == 64
    assert line["scan"] == {"files": 8, "new": 8, "known": 0, "errors": 1}
    statuses = {i["url"].rsplit("/", 1)[1]: i["status"] for i in line["items"]}
    assert statuses.pop("broken.jpg") == "error"
    assert set(statuses.values()) == {"new"} and len(statuses) == 7
    listed = haechi(home, "items", "--json").stdout.splitlines()
    urls = {s["url"] for x in listed for s in json.loads(x)["sightings"]}
    assert f"{site.base}/a.jpg" in urls
    refused = haechi(tmp_path / "h2", "capture", f"{site.base}/page.html", check=False)
    assert refused.returncode == 3
    assert "private or local address" in refused.stderr
    assert "HAECHI_CAPTURE__ALLOW_PRIVATE" in refused.stderr
