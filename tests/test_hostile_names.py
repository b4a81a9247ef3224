"""Names from outside (file and folder names, room titles, poster names) printed as text,
through the real CLI.

Before: a name with `[/]` crashed `rooms`, `network`, `items` and the scan summary (rich read it
as markup: MarkupError); `[bold red]x[/bold red].png` was shown as `x.png`; ESC and OSC
sequences in names reached the terminal (a title could clear the screen or retitle the window);
GraphML and GEXF of names with control characters were not XML (and the export exited 0)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from conftest import database_for, haechi, jpeg_bytes, noise_image
from gexf_check import gexf13_problems

from haechi.safe_text import json_text, visible, xml_safe

# One scan of a folder and an export with every hostile name: ~8 s for the module.
pytestmark = pytest.mark.slow

# name -> how it must read on the terminal
HOSTILE = {
    "[/]": "[/]",
    "[bold red]x[/bold red]": "[bold red]x[/bold red]",
    "\x1b]0;pwned\x07": "\\x1b]0;pwned\\x07",
    "\x1b[2J": "\\x1b[2J",
    "evil\u202egpj.exe": "evil\\u202egpj.exe",
    "ctl\x01\x08\x7f\x9b": "ctl\\x01\\x08\\x7f\\x9b",
}
SALE = "신작 딥페 샘플, 풀버전 가격 3만원 문상 DM"
RAW = ("\x1b", "\x07", "\u202e", "\x9b", "\x01", "Traceback", "MarkupError")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("hostile")
    home = root / "home"
    database_for(home)
    folder = root / "folder"
    folder.mkdir()
    for i, name in enumerate(HOSTILE):
        (folder / f"{name.replace('/', '_')}.png").write_bytes(jpeg_bytes(noise_image(200 + i)))
    # A slash cannot be in a file name, but `[` closing a folder and `/]` opening the file can.
    (folder / "[bold red]x[").mkdir()
    (folder / "[bold red]x[" / "bold red].png").write_bytes(jpeg_bytes(noise_image(300)))
    (folder / "a[").mkdir()
    (folder / "a[" / "]b.png").write_bytes(b"not a picture")  # an error line naming it
    export = root / "export"
    (export / "photos").mkdir(parents=True)
    messages = []
    for i, name in enumerate(HOSTILE):
        rel = f"photos/{name.replace('/', '_')}.jpg"
        (export / rel).write_bytes(jpeg_bytes(noise_image(100 + i)))
        messages.append(
            {
                "id": i + 1,
                "type": "message",
                "date": f"2024-01-0{i + 1}T00:00:00",
                "date_unixtime": str(1704067200 + i * 86400),
                "from": name,
                "from_id": f"user{100 + i}",
                "photo": rel,
                "width": 320,
                "height": 240,
                "text": f"{SALE} {name}",
                "text_entities": [],
            }
        )
    rooms = [
        {"name": name, "type": "private_supergroup", "id": 500 + k, "messages": messages}
        for k, name in enumerate([*HOSTILE, "한국어 방"])
    ]
    (export / "result.json").write_text(
        json.dumps({"personal_information": {"user_id": 1}, "chats": {"list": rooms}}),
        encoding="utf-8",
    )
    yield {"home": home, "folder": folder, "export": export}


def run(world: dict[str, Any], *args: str, code: int = 0) -> str:
    proc = haechi(world["home"], *args, check=False)
    both = proc.stdout + proc.stderr
    assert proc.returncode == code, both
    for raw in RAW:
        assert raw not in both, f"{raw!r} in the output of {args}:\n{both}"
    return both


@pytest.fixture(scope="module")
def scanned(world: dict[str, Any]) -> dict[str, Any]:
    out = run(world, "scan", str(world["folder"]), str(world["export"]), "--no-progress")
    return world | {"scan": out}


def test_scan_summary_and_error_lines_show_names_as_text(scanned: dict[str, Any]) -> None:
    assert "a[/]b.png" in scanned["scan"]  # the skipped file, named
    assert "scan summary" in scanned["scan"]


def test_items_show_every_name_literally(scanned: dict[str, Any]) -> None:
    out = run(scanned, "items")
    for shown in HOSTILE.values():
        assert shown.replace("/", "_") in out
    assert "[bold red]x[/bold red].png" in out and "a[/]b.png" in out


def test_rooms_show_titles_and_lines_literally(scanned: dict[str, Any]) -> None:
    out = run(scanned, "rooms")
    for shown in HOSTILE.values():
        assert f"{shown} (50" in out
    assert "한국어 방" in out


def test_network_shows_poster_names_literally(scanned: dict[str, Any]) -> None:
    out = run(scanned, "network", "--limit", "0")
    for shown in HOSTILE.values():
        assert f"{shown} (user1" in out


def test_show_names_room_and_poster_literally(scanned: dict[str, Any]) -> None:
    items = [json.loads(x) for x in haechi(scanned["home"], "items", "--json").stdout.splitlines()]
    sha = next(x["sha256"] for x in items if x["path"].endswith("/photos/\x1b]0;pwned\x07.jpg"))
    out = run(scanned, "show", sha)
    assert "/photos/\\x1b]0;pwned\\x07.jpg  room=502" in out


def test_errors_quoting_a_name_are_text(scanned: dict[str, Any]) -> None:
    out = run(scanned, "show", "[/]\x1b]0;pwned\x07", code=3)
    assert "[/]\\x1b]0;pwned\\x07" in out
    missing = scanned["folder"] / "[/]"
    assert "[/]" in run(scanned, "scan", str(missing), "--no-progress", code=3)


def test_json_lines_keep_names_exact_and_terminal_safe(scanned: dict[str, Any]) -> None:
    proc = haechi(scanned["home"], "network", "--json", "--limit", "0")
    for raw in RAW:
        assert raw not in proc.stdout
    names = {json.loads(x).get("name") for x in proc.stdout.splitlines()}
    assert set(HOSTILE) <= names  # decoded, exactly what the export said


def test_graphml_and_gexf_parse(scanned: dict[str, Any], tmp_path: Path) -> None:
    graphml, gexf = tmp_path / "n.graphml", tmp_path / "n.gexf"
    run(scanned, "network", "export", "--to", str(graphml))
    run(scanned, "network", "export", "--format", "gexf", "--to", str(gexf))
    ET.parse(graphml)
    ET.parse(gexf)
    assert gexf13_problems(gexf.read_bytes()) == []
    g = nx.read_graphml(graphml)
    labels = {d.get("label") for _n, d in g.nodes(data=True)}
    assert {"[/]", "\\x1b]0;pwned\\x07", "\\x1b[2J", "한국어 방"} <= labels


def test_dossier_of_a_hostile_account(scanned: dict[str, Any], tmp_path: Path) -> None:
    doc = json.loads(run(scanned, "network", "dossier", "user102"))
    assert doc["account"]["names"] == ["\x1b]0;pwned\x07"]  # exact, once decoded
    run(scanned, "network", "dossier", "user102", "--to", str(tmp_path / "d.json"))
    written = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))
    assert written["account"]["names"] == ["\x1b]0;pwned\x07"]


def test_the_views_escape_only_what_they_must() -> None:
    assert visible("지인 방 ✓ café") == "지인 방 ✓ café"
    assert visible("a\x1b[2Jb\u202ec\nd") == "a\\x1b[2Jb\\u202ec\\x0ad"
    assert xml_safe("a\x1b\x07\tb\u202e") == "a\\x1b\\x07\tb\u202e"
    s = "x\x1b\x9b\u202e\u2028y 한국"
    assert json.loads(json_text({"n": s})) == {"n": s}
    assert all(c not in json_text({"n": s}) for c in "\x1b\x9b\u202e\u2028")
