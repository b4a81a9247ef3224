"""Property-based fuzzing of the sources that read hostile input whole: a Telegram export's
JSON and a WARC, each mutated (bytes flipped, inserted, cut) from a valid seed. Reading one
never raises anything but haechi's own error naming the file; everything else it cannot read
is a per-place problem, and the read ends.

A short run here (HAECHI_FUZZ_EXAMPLES, default 60 per parser); raise it for a long run."""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from fuzz_seeds import FUZZ, mutated
from hypothesis import given
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from haechi.config import load_settings
from haechi.errors import HaechiError
from haechi.sources import ChatMessage, Sighting, SourceProblem
from haechi.sources.telegram_export import TelegramExportSource
from haechi.sources.warc import WarcSource


def _export_seed() -> bytes:
    messages = [
        {
            "id": i,
            "type": "message" if i % 5 else "service",
            "date": f"2024-03-0{1 + i % 9}T10:00:0{i % 10}",
            "date_unixtime": str(1709287200 + i),
            "from": f"User {i % 3}",
            "from_id": f"user{i % 3}",
            "text": ["plain ", {"type": "link", "text": "https://ex.org/x"}] if i % 2 else "hi",
            "photo": "photos/p.jpg" if i == 3 else None,
            "reactions": [{"type": "emoji", "count": 2, "emoji": "+"}],
        }
        for i in range(1, 12)
    ]
    doc = {"name": "Room", "type": "private_group", "id": 4242, "messages": messages}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode()


def _warc_seed() -> bytes:
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=False)
    w.write_record(w.create_warcinfo_record("seed.warc", {"software": "test"}))
    for i, (ctype, body) in enumerate(
        [("text/html", b"<img src=a.png>"), ("image/png", b"\x89PNG\r\n\x1a\n" + bytes(64))]
    ):
        http = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
        w.write_record(
            w.create_warc_record(
                f"http://ex.org/{i}", "response", payload=io.BytesIO(body), http_headers=http
            )
        )
    return buf.getvalue()


EXPORT = _export_seed()
WARC = _warc_seed()


def _read_all(make: Callable[[Path], object], path: Path) -> None:
    """Every place of the source: only its own errors may come out, naming the file."""
    source = make(path)
    try:
        for place in source.sightings():  # type: ignore[attr-defined]
            assert isinstance(place, Sighting | SourceProblem | ChatMessage)
            if isinstance(place, SourceProblem):
                assert place.reason
    except HaechiError as exc:
        assert str(exc)  # a clear message, the file named by the caller's error


@FUZZ
@given(mutated(EXPORT))
def test_a_mutated_telegram_json_export_never_crashes_the_reader(data: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="haechi-fuzz-") as tmp:
        folder = Path(tmp) / "export"
        folder.mkdir()
        (folder / "result.json").write_bytes(data)
        s = load_settings(home=Path(tmp) / "home")
        _read_all(lambda p: TelegramExportSource(p, s), folder)


@FUZZ
@given(mutated(WARC))
def test_a_mutated_warc_never_crashes_the_reader(data: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="haechi-fuzz-") as tmp:
        path = Path(tmp) / "crawl.warc"
        path.write_bytes(data)
        s = load_settings(home=Path(tmp) / "home")
        _read_all(lambda p: WarcSource(p, s), path)


def test_the_seeds_are_read_whole(tmp_path: Path) -> None:
    """The fuzzers start from inputs that work: every message, every record."""
    s = load_settings(home=tmp_path / "home")
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "result.json").write_bytes(EXPORT)
    places = list(TelegramExportSource(tmp_path / "export", s).sightings())
    assert sum(isinstance(p, ChatMessage) for p in places) == 11
    (tmp_path / "crawl.warc").write_bytes(WARC)
    warc = list(WarcSource(tmp_path / "crawl.warc", s).sightings())
    assert [type(p) for p in warc] == [Sighting]


def test_a_response_record_without_a_target_uri_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    """Found by the WARC fuzzer: warcio raised AttributeError on it, which ended the scan."""
    path = tmp_path / "odd.warc"
    path.write_bytes(
        b"WARC/1.0\r\nWARC-Type: warcinfo\r\nContent-Type: application/warc-fields\r\n"
        b"Content-Length: 16\r\n\r\nsoftware: test\r\n\r\n\r\n"
        b"WARC/1.0\r\nWARC-Type: response"  # cut here: no target URI, no length
    )
    (problem,) = WarcSource(path, load_settings(home=tmp_path / "home")).sightings()
    assert isinstance(problem, SourceProblem)
    assert problem.reason == "WARC unreadable from here on: malformed record (AttributeError)"
