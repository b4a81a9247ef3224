"""No output of haechi carries a face embedding or template: every command with `--json` (found
from the Typer app, so a new one is covered or this test fails), the dossier, the network
exports and the evidence package, after face photos were scanned and a person enrolled.

Before: `show --json` printed `signals.faces.frames[].faces[].embedding` (base64 float16);
two photos of one person decoded from it scored 0.80, strangers 0.20 or less: a face search
around the consent gate."""

from __future__ import annotations

import base64
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer.main
from biometric_leaks import EMBEDDING_DIM, json_leaks, leaks
from conftest import database_for, enrol_her, run, testdata
from sqlalchemy import select

from haechi.redact import without_biometrics

pytestmark = pytest.mark.slow

# SFace: 128 numbers per face (checked against the database below).


def json_commands() -> list[tuple[str, ...]]:
    """Every command (or group callback) of the CLI that has a --json option."""
    from haechi.cli import app

    found: list[tuple[str, ...]] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        if any("--json" in getattr(p, "opts", ()) for p in cmd.params):
            found.append(path)
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


# How to run each: {face} is the SHA-256 of a scanned face photo, {photo} an enrolment photo,
# {url} a local page showing a face. A command missing here fails the test: give it arguments.
ARGS: dict[tuple[str, ...], list[str]] = {
    ("scan",): ["scan", "{corpus}", "--json", "--no-progress"],
    ("items",): ["items", "--json"],
    ("show",): ["show", "{face}", "--json"],
    ("enrol",): ["enrol", "--alias", "p2", "--consent", "yes, by p2", "{photo2}", "--json"],
    ("persons",): ["persons", "--json"],
    ("findings",): ["findings", "--json"],
    ("rooms",): ["rooms", "--json"],
    ("network",): ["network", "--json"],
    ("capture",): ["capture", "{url}", "--json"],
    ("evidence", "capture"): ["evidence", "capture", "{face}", "--json"],
    ("evidence", "verify"): ["evidence", "verify", "--json"],
    ("evidence", "log"): ["evidence", "log", "--json"],
    # Needs a Telegram login; run anyway: whatever it prints is checked.
    ("case", "new"): ["case", "new", "--person", "p1", "--json"],
    ("case", "list"): ["case", "list", "--json"],
    ("case", "show"): ["case", "show", "1", "--json"],
    ("review",): ["review", "--all", "--json"],
    ("report", "police"): ["report", "police", "1", "--out", "{report_out}", "--json"],
    ("users", "list"): ["users", "list", "--json"],
    ("watch", "telegram"): ["watch", "telegram", "--once", "--json"],
    ("takedown", "draft"): ["takedown", "draft", "1", "--json"],
    ("takedown", "list"): ["takedown", "list", "--json"],
    ("takedown", "platforms"): ["takedown", "platforms", "--json"],
    ("recheck",): ["recheck", "--json"],
    ("discover", "variants"): ["discover", "variants", "딥페", "--json"],
    ("discover", "leads"): ["discover", "leads", "--json"],
    ("discover", "search"): ["discover", "search", "딥페", "--dry-run", "--json"],
    ("discover", "capture"): ["discover", "capture", "@backup_room", "--join", "--json"],
    ("banks", "create"): ["banks", "create", "OTHER", "--json"],
    ("banks", "add"): ["banks", "add", "SEEN", "--item", "{face}", "--json"],
    ("banks", "add-case"): ["banks", "add-case", "SEEN", "1", "--json"],
    ("banks", "import"): ["banks", "import", "SEEN", "{pdq_list}", "--json"],
    ("banks", "list"): ["banks", "list", "--json"],
    ("banks", "set"): ["banks", "set", "SEEN", "--pdq", "40", "--json"],
    ("banks", "show"): ["banks", "show", "SEEN", "--json"],
}


class _Page(BaseHTTPRequestHandler):
    photo = b""

    def do_GET(self) -> None:
        body, ctype = (
            (b'<html><body><img src="/face.jpg"></body></html>', "text/html")
            if self.path == "/page.html"
            else (self.photo, "image/jpeg")
        )
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Face photos scanned from a folder and a Telegram export, person_01 enrolled, one face
    photo preserved; a local web page showing a face."""
    root = tmp_path_factory.mktemp("nobio")
    home = root / "home"
    database_for(home)
    corpus = root / "photos"
    corpus.mkdir()
    for name in ("img1.jpg", "img12.jpg"):  # person_01, person_02
        shutil.copy(testdata("faces", name), corpus / name)
    export = root / "export"
    (export / "photos").mkdir(parents=True)
    shutil.copy(testdata("faces", "img11.jpg"), export / "photos" / "p.jpg")  # person_01
    message = {
        "id": 1,
        "type": "message",
        "date": "2024-08-01T12:00:00",
        "date_unixtime": "1722513600",
        "from": "poster",
        "from_id": "user1",
        "photo": "photos/p.jpg",
        "width": 320,
        "height": 240,
        "text": "신작 딥페 샘플, 풀버전 가격 3만원 문상 DM, 백업방 t.me/backup_room",
        "text_entities": [],
    }
    (export / "result.json").write_text(
        json.dumps({"name": "room", "type": "private_supergroup", "id": 9, "messages": [message]}),
        encoding="utf-8",
    )
    enrol_her(home, photo="img10.jpg")
    run(home, "scan", str(corpus), str(export), "--no-progress")
    items = [json.loads(x) for x in run(home, "items", "--json").stdout.splitlines()]
    face = next(x["sha256"] for x in items if x["path"].endswith("img1.jpg"))
    run(home, "evidence", "capture", face)
    run(home, "case", "new", "--person", "p1")  # case 1, with her findings, for `case show`
    run(home, "takedown", "draft", "1", "--lang", "en")  # request 1, for `takedown list`
    first = json.loads(run(home, "review", "--case", "1", "--json").stdout.splitlines()[0])
    run(home, "review", "confirm", str(first["finding_id"]))  # for `banks add-case`
    run(home, "banks", "create", "SEEN")  # banks add, set, show and import need one
    pdq_list = root / "hashes.pdq"
    pdq_list.write_text("f" * 64 + "\n", encoding="utf-8")
    password = tmp_path_factory.mktemp("pw") / "pw"
    password.write_text("a long test password\n")
    run(home, "users", "add", "v1", "--role", "victim", "--person", "p1",
           "--password-file", str(password))  # fmt: skip
    _Page.photo = testdata("faces", "img13.jpg").read_bytes()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {
            "home": home,
            "corpus": str(corpus),
            "face": face,
            "photo2": str(testdata("faces", "img12.jpg")),
            "url": f"http://127.0.0.1:{server.server_address[1]}/page.html",
            "report_out": str(root / "police-report"),
            "pdq_list": str(pdq_list),
        }
    finally:
        server.shutdown()
        server.server_close()


def test_the_store_holds_embeddings_of_the_test_size(world: dict[str, Any]) -> None:
    """The outputs below are clean because they are cleaned: the data is there to leak."""
    from haechi.config import load_settings
    from haechi.store.db import Database
    from haechi.store.persons import FaceTemplate

    # On PostgreSQL the world has a database of its own, not the test's (as the CLI gets it).
    db = Database(
        load_settings(home=world["home"], workers=1, database_url=database_for(world["home"]))
    )
    try:
        with db.session() as s:
            blobs = list(s.scalars(select(FaceTemplate.embedding)))
    finally:
        db.close()
    assert blobs and all(len(b) == EMBEDDING_DIM * 4 for b in blobs)
    show = run(world["home"], "show", world["face"], "--json").stdout
    assert json.loads(show)["faces"]["usable"] >= 1


def test_every_json_command_is_known_here() -> None:
    missing = [" ".join(p) for p in json_commands() if p not in ARGS]
    assert not missing, f"give these commands arguments in ARGS: {missing}"
    assert {("show",), ("scan",), ("network",), ("evidence", "log")} <= set(json_commands())


@pytest.mark.parametrize("path", json_commands(), ids=lambda p: "-".join(p))
def test_no_json_output_carries_a_face_vector(path: tuple[str, ...], world: dict[str, Any]) -> None:
    args = [a.format(**world) for a in ARGS[path]]
    env = {"HAECHI_CAPTURE__ALLOW_PRIVATE": "true"}
    proc = run(world["home"], "--workers", "1", *args, check=False, env=env)
    if path != ("watch", "telegram"):  # refused without a Telegram login (exit 2)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip(), f"{' '.join(path)} printed nothing to check"
    problems = leaks(proc.stdout, " ".join(path)) + leaks(proc.stderr, " ".join(path))
    assert not problems, problems


def test_dossier_network_exports_and_evidence_package_carry_no_face_vector(
    world: dict[str, Any], tmp_path: Path
) -> None:
    home = world["home"]
    dossier = run(home, "network", "dossier", "user1").stdout
    run(home, "network", "dossier", "user1", "--to", str(tmp_path / "d.json"))
    run(home, "network", "export", "--to", str(tmp_path / "n.graphml"))
    run(home, "network", "export", "--format", "gexf", "--to", str(tmp_path / "n.gexf"))
    pkg = tmp_path / "pkg"
    run(home, "evidence", "export", world["face"], "--to", str(pkg), "--no-media")
    police = tmp_path / "police"
    run(home, "report", "police", "1", "--out", str(police))
    files = [tmp_path / "d.json", tmp_path / "n.graphml", tmp_path / "n.gexf"]
    files += [p for p in pkg.rglob("*") if p.suffix in (".json", ".jsonl", ".html")]
    files += [p for p in police.rglob("*") if p.suffix in (".json", ".jsonl", ".html")]
    assert {p.name for p in files} >= {"manifest.json", "custody.jsonl", "report.html"}
    assert police / "report.html" in files
    problems = leaks(dossier, "dossier")
    for p in files:
        text = p.read_text(encoding="utf-8")
        problems += leaks(text, p.name)
        if p.suffix == ".json":
            problems += json_leaks(json.loads(text), p.name)
    assert not problems, problems


def test_the_gate_drops_vectors_at_any_depth_and_keeps_counts() -> None:
    payload = {
        "faces": {"frames": [{"faces": [{"box": [1, 2, 3, 4], "embedding": "AAAA"}]}]},
        "templates": 3,
        "template_id": 7,
        "face_template": [0.1, 0.2],
        "featureVector": "x",
        "pdq": "ab" * 32,
    }
    assert without_biometrics(payload) == {
        "faces": {"frames": [{"faces": [{"box": [1, 2, 3, 4]}]}]},
        "templates": 3,
        "template_id": 7,
        "pdq": "ab" * 32,
    }


def test_the_leak_check_finds_a_stored_embedding() -> None:
    """The checker itself: an embedding as `show --json` printed it before is caught."""
    vec = np.random.default_rng(0).normal(size=EMBEDDING_DIM).astype("<f2")
    line = json.dumps(
        {"signals": {"faces": {"embedding": base64.b64encode(vec.tobytes()).decode()}}}
    )
    assert len(leaks(line, "show")) == 2  # the blob, and the field
