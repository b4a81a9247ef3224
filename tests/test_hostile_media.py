"""Hostile media (issue 12, points 9 and 11): memory amplification by archive entries and WARC
headers, and pixel limits that only looked at the first frame or the header."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from conftest import haechi, jpeg_bytes, noise_image
from PIL import Image
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


def _items(home: Path) -> dict[str, dict[str, object]]:
    lines = haechi(home, "items", "--json").stdout.splitlines()
    return {Path(str(x["path"])).name: x for x in map(json.loads, lines)}


def test_every_tiff_page_and_video_frame_is_held_to_the_pixel_limit(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    # Eleven 100x100 pages, then one of 400x400: only the first page used to be checked.
    pages = [Image.new("RGB", (100, 100), (i * 20, 0, 0)) for i in range(11)]
    pages[0].save(
        src / "pages.tif", save_all=True, append_images=[*pages[1:], Image.new("RGB", (400, 400))]
    )
    # An MJPEG MKV whose stream header says 160x120 while every other frame is 640x480.
    with av.open(str(src / "liar.mkv"), "w", format="matroska") as c:
        s = c.add_stream("mjpeg", rate=2)
        s.width, s.height, s.pix_fmt = 160, 120, "yuvj420p"
        big = av.CodecContext.create("mjpeg", "w")
        big.width, big.height, big.pix_fmt = 640, 480, "yuvj420p"
        big.time_base = Fraction(1, 2)
        for i in range(6):
            enc, (w, h) = (big, (640, 480)) if i % 2 else (s.codec_context, (160, 120))
            frame = av.VideoFrame.from_ndarray(np.asarray(noise_image(i, (w, h))), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 2)
            for p in enc.encode(frame):
                p.stream, p.pts, p.dts = s, i, i
                c.mux(p)
    home = tmp_path / "home"
    env = {"HAECHI_LIMITS__MAX_PIXELS": "50000"}
    haechi(home, "scan", str(src), "--no-progress", env=env)
    items = _items(home)
    tif, mkv = items["pages.tif"], items["liar.mkv"]
    for item in (tif, mkv):  # still hashed and stored, the limit named
        assert item["sha256"] and item["md5"]
    tif_notes, mkv_notes = str(tif["notes"]), str(mkv["notes"])
    assert "1 frame(s) skipped, over the pixel limit of 50000" in tif_notes
    assert "page 12: 400x400" in tif_notes
    assert "3 frame(s) skipped, over the pixel limit of 50000" in mkv_notes
    assert "640x480" in mkv_notes


def _peak_rss_mb(home: Path, *args: str, env: dict[str, str]) -> float:
    code = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], check=True, capture_output=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    cmd = [sys.executable, "-c", code, sys.executable, "-m", "haechi", "--home", str(home), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ, **env})
    return int(out.stdout.split()[-1]) / 1024


def test_a_large_zip_entry_is_streamed_not_held_in_memory(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with zipfile.ZipFile(src / "a.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("good.jpg", jpeg_bytes(noise_image(1)))
        with zf.open("big.jpg", "w", force_zip64=True) as fh:
            fh.write(b"\xff\xd8\xff\xe0")
            block = bytes(1 << 20)
            for _ in range(320):
                fh.write(block)
    # With 20 MP the largest possible image is 224 MiB: the 320 MiB "JPEG" is hashed, not
    # handed to Pillow (which would scan its padding byte by byte).
    env = {"HAECHI_LIMITS__MAX_ARCHIVE_RATIO": "5000", "HAECHI_LIMITS__MAX_PIXELS": "20000000"}
    home = tmp_path / "home"
    # Before: the 320 MiB entry was read whole several times (about 2.2x its size at once).
    rss = _peak_rss_mb(home, "--workers", "1", "scan", str(src), "--no-progress", env=env)
    assert rss < 600, f"peak RSS {rss:.0f} MB"
    items = _items(home)
    assert set(items) == {"a.zip!good.jpg", "a.zip!big.jpg"}
    big = items["a.zip!big.jpg"]
    assert big["size"] == 4 + 320 * (1 << 20) and big["sha256"] and big["md5"]
    assert "more than any image within the pixel limit of 20000000" in str(big["error"])


def _warc_record(out: io.BufferedWriter, seed: int) -> None:
    writer = WARCWriter(out, gzip=True)
    payload = jpeg_bytes(noise_image(seed))
    http = StatusAndHeaders("200 OK", [("Content-Type", "image/jpeg")], protocol="HTTP/1.1")
    record = writer.create_warc_record(
        f"https://example.org/{seed}.jpg",
        "response",
        payload=io.BytesIO(payload),
        http_headers=http,
    )
    writer.write_record(record)


def test_a_warc_record_with_a_huge_header_is_refused_the_next_is_read(tmp_path: Path) -> None:
    path = tmp_path / "hostile.warc.gz"
    with path.open("wb") as out:
        _warc_record(out, 1)
        z = zlib.compressobj(6, zlib.DEFLATED, 31)  # one gzip member, as WARC records are
        out.write(z.compress(b"WARC/1.0\r\nWARC-Type: resource\r\nX-Long: "))
        out.write(z.compress(b"a" * 200_000))  # before: read whole, however long
        out.write(z.compress(b"\r\nContent-Length: 0\r\n\r\n\r\n\r\n") + z.flush())
        _warc_record(out, 2)
    home = tmp_path / "home"
    env = {"HAECHI_LIMITS__MAX_WARC_HEADER_BYTES": "65536"}
    printed = haechi(home, "scan", str(path), "--no-progress", env=env).stdout
    assert "hostile.warc.gz: record header is over the limit of 65536 bytes; skipped" in printed
    assert len(_items(home)) == 2  # the records before and after the refused one
