"""Hostile Telegram exports (issue 12, point 3): nesting, one huge message, one huge string. Each
is refused as an error naming the file, the message and the reason, before it costs memory or
quadratic time, and the rest of the export is read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import haechi

from haechi.config import Limits
from haechi.sources import tdesktop as te


def _good(i: int) -> bytes:
    return json.dumps(
        {"id": i, "type": "message", "date_unixtime": str(1_700_000_000 + i), "text": f"ok {i}"}
    ).encode()


def _export(root: Path, hostile_text: bytes) -> Path:
    """Messages 1 and 3 are ordinary; message 2's text is `hostile_text` (raw JSON)."""
    root.mkdir(parents=True, exist_ok=True)
    bad = b'{"id": 2, "type": "message", "date_unixtime": "1700000002", "text": '
    body = b",".join([_good(1), bad + hostile_text + b"}", _good(3)])
    doc = b'{"name": "Room", "type": "private_group", "id": 7, "messages": [' + body + b"]}"
    (root / "result.json").write_bytes(doc)
    return root


def _peak_rss_mb(home: Path, *args: str, env: dict[str, str] | None = None) -> float:
    """Peak RSS of `haechi ARGS` run alone in a fresh process (robust against other tests)."""
    code = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], check=True, capture_output=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    cmd = [sys.executable, "-c", code, sys.executable, "-m", "haechi", "--home", str(home), *args]
    out = subprocess.run(
        cmd, capture_output=True, text=True, check=True, env={**os.environ, **(env or {})}
    )
    return int(out.stdout.split()[-1]) / 1024


def test_deep_nesting_is_refused_without_costing_memory(tmp_path: Path) -> None:
    # 20,000 levels in 40 KB took 1.0 GB before (ijson's prefixes grow with depth squared).
    root = _export(tmp_path / "deep", b"[" * 20_000 + b"]" * 20_000)
    rss = _peak_rss_mb(tmp_path / "home", "scan", str(root), "--json")
    assert rss < 400, f"peak RSS {rss:.0f} MB"
    out = haechi(tmp_path / "home", "scan", str(root)).stdout
    assert "result.json@message 2" in out and "nested deeper than 32 levels" in out
    assert [m.id for m in te.iter_messages(root, problems=[])] == [1, 3]


def test_a_huge_message_and_a_huge_string_are_refused_the_rest_is_read(tmp_path: Path) -> None:
    limits = Limits(max_export_message_bytes=64 * 1024, max_export_string_bytes=16 * 1024)
    wide = _export(tmp_path / "wide", b"[" + b"[]," * 100_000 + b"[]]")
    problems: list[te.ParseProblem] = []
    got = [m.id for m in te.iter_messages(wide, problems=problems, limits=limits)]
    assert got == [1, 3]
    (p,) = problems
    assert (p.file.name, p.position) == ("result.json", "message 2")
    assert p.reason == "message is over 65536 bytes; skipped"

    # 2 MB in one string: yajl re-scans a string spanning reads on every read (quadratic).
    long = _export(tmp_path / "long", b'"' + b"a" * 2_000_000 + b'"')
    problems = []
    got = [m.id for m in te.iter_messages(long, problems=problems, limits=limits)]
    assert got == [1, 3]
    assert [(p.position, p.reason) for p in problems] == [
        ("message 2", "a string is over 16384 bytes; skipped")
    ]


def test_limits_come_from_settings_through_the_cli(tmp_path: Path) -> None:
    root = _export(tmp_path / "long", b'"' + "가".encode() * 300_000 + b'"')  # cut mid-character
    env = {"HAECHI_LIMITS__MAX_EXPORT_STRING_BYTES": "65536"}
    out = haechi(tmp_path / "home", "scan", str(root), env=env).stdout
    assert "result.json@message 2" in out and "a string is over 65536 bytes" in out
    # Ordinary strings under the limit are untouched, and a string that is exactly at a read
    # boundary is not mistaken for a long one.
    problems: list[te.ParseProblem] = []
    text = "x" * 65_000 + "가나다"
    ok = _export(tmp_path / "ok", json.dumps(text).encode())
    got = {m.id: m.text for m in te.iter_messages(ok, problems=problems)}
    assert problems == [] and got[2] == text and list(got) == [1, 2, 3]


def test_lone_surrogate_escape_no_longer_ends_the_export(tmp_path: Path) -> None:
    # Before: yajl made invalid UTF-8 of it and every later message was lost.
    root = _export(tmp_path / "sur", b'"broken \\ud83d emoji \\ud83d\\ude00 and \\udcff"')
    problems: list[te.ParseProblem] = []
    got = {m.id: m.text for m in te.iter_messages(root, problems=problems)}
    assert problems == []
    assert got == {1: "ok 1", 2: "broken \ufffd emoji \U0001f600 and \ufffd", 3: "ok 3"}


def _html(root: Path, body: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)

    def msg(i: int, extra: str = "") -> str:
        return (
            f'<div class="message default clearfix" id="message{i}"><div class="body">'
            '<div class="pull_right date details" title="12.03.2024 21:04:11 UTC+09:00">21:04'
            f'</div><div class="from_name">A</div><div class="text">hello {i}{extra}</div>'
            "</div></div>\n"
        )

    page = (
        '<html><body><div class="page_header"><div class="text bold">Room</div></div>'
        f'<div class="history">\n{msg(1)}{msg(2, body)}{msg(3)}</div></body></html>\n'
    )
    (root / "messages.html").write_text(page, encoding="utf-8")
    return root


def test_html_nesting_huge_text_and_unfinished_tags_are_bounded(tmp_path: Path) -> None:
    limits = Limits(max_export_message_bytes=64 * 1024, max_export_string_bytes=64 * 1024)
    cases = {
        # Before: 20,000 nested text blocks (500 KB) took 52 s and 1.7 GB.
        "deep": ('<div class="text">x' * 2_000 + "</div>" * 2_000, "nested deeper than 32"),
        "text": ("word " * 40_000, "message is over 65536 bytes"),
        # Before: HTMLParser re-scanned an unfinished tag on every feed (50 MB: 110 s).
        "attr": ('<a href="' + "a" * 300_000 + '">x</a>', "a tag, comment or text over"),
        "comment": ("<!--" + "a" * 300_000 + "-->", "a tag, comment or text over"),
    }
    for name, (body, reason) in cases.items():
        root = _html(tmp_path / name, body)
        problems: list[te.ParseProblem] = []
        got = [m.id for m in te.iter_messages(root, problems=problems, limits=limits)]
        assert got == [1, 3], name
        assert [p.position for p in problems] == ["line 3 (message 2)"], name
        assert reason in problems[0].reason, name
