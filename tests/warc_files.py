"""A WARC file as another crawler writes one: a page, pictures (one gzipped by its server), a 404,
a partial response and a resource record, for the WARC source's tests and those built on it."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

from conftest import jpeg_bytes, noise_image
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


def _response(
    w: WARCWriter, url: str, status: str, headers: list[tuple[str, str]], body: bytes
) -> ArcWarcRecord:
    http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
    return w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http)


def write_warc(path: Path, *, gz: bool) -> dict[str, bytes]:
    """Write the WARC (gzipped per record with `gz`); the pictures in it by name."""
    pics = {name: jpeg_bytes(noise_image(i)) for i, name in enumerate(["a", "b", "c", "d"])}
    with path.open("wb") as fh:
        w = WARCWriter(fh, gzip=gz)
        w.write_record(w.create_warcinfo_record(path.name, {"software": "another tool"}))
        w.write_record(_response(w, "http://ex.org/", "200 OK",
                                 [("Content-Type", "text/html")], b"<img src=a.jpg>"))  # fmt: skip
        w.write_record(_response(w, "http://ex.org/a.jpg", "200 OK",
                                 [("Content-Type", "image/jpeg")], pics["a"]))  # fmt: skip
        # A server that gzips a picture anyway: the scan sees the picture, not the gzip.
        w.write_record(
            _response(w, "http://ex.org/b", "200 OK",
                      [("Content-Type", "application/octet-stream"),
                       ("Content-Encoding", "gzip")], gzip.compress(pics["b"]))
        )  # fmt: skip
        w.write_record(_response(w, "http://ex.org/gone.jpg", "404 Not Found",
                                 [("Content-Type", "text/html")], b"gone"))  # fmt: skip
        w.write_record(_response(w, "http://ex.org/v.mp4", "206 Partial Content",
                                 [("Content-Type", "video/mp4")], b"\x00" * 100))  # fmt: skip
        w.write_record(
            w.create_warc_record(
                "http://ex.org/c.jpg", "resource", payload=io.BytesIO(pics["c"]),
                warc_content_type="image/jpeg",
            )
        )  # fmt: skip
        w.write_record(_response(w, "http://ex.org/d.jpg", "200 OK",
                                 [("Content-Type", "image/jpeg")], pics["d"]))  # fmt: skip
    return pics
