"""The review queue through the CLI: ranked findings, actions with reasons, previews blurred and
greyscale unless asked for one item, every look and action in the custody log, and a possible
minor's media kept out of exports unless authorised."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from conftest import jpeg_bytes, noise_image, run, testdata
from PIL import Image


def _setup(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    home = tmp_path / "h"
    run(home, "init")
    corpus = tmp_path / "c"
    corpus.mkdir()
    shutil.copy(testdata("faces", "img10.jpg"), corpus / "her.jpg")
    shutil.copy(testdata("faces", "img11.jpg"), corpus / "her-too.jpg")
    (corpus / "scene.jpg").write_bytes(jpeg_bytes(noise_image(3)))
    run(home, "enrol", "--alias", "p1", "--consent", "yes", str(testdata("faces", "img1.jpg")))
    run(home, "scan", str(corpus), "--no-progress")
    queue = [json.loads(x) for x in run(home, "review", "--json").stdout.splitlines()]
    return home, queue


def _sharpness(im: Image.Image) -> float:
    a = np.asarray(im.convert("L"), np.float32)
    return float(np.abs(np.diff(a, axis=0)).mean() + np.abs(np.diff(a, axis=1)).mean())


def test_queue_actions_and_blurred_previews(tmp_path: Path) -> None:
    home, queue = _setup(tmp_path)
    assert len(queue) == 2 and {q["person"] for q in queue} == {"p1"}
    assert queue[0]["risk"] >= queue[1]["risk"]
    first = str(queue[0]["finding_id"])
    env = {"HAECHI_ACTOR": "reviewer-lee"}

    seen = tmp_path / "seen.png"
    before = set(Path(tempfile.gettempdir()).glob("haechi-preview-*"))
    run(home, "review", "show", first, "--viewer", f"cp {{path}} {seen}", env=env)
    assert set(Path(tempfile.gettempdir()).glob("haechi-preview-*")) == before  # removed
    blurred = Image.open(seen)
    assert blurred.mode == "L"  # greyscale
    original = Image.open(testdata("faces", "img10.jpg"))
    original.thumbnail(blurred.size)
    assert _sharpness(blurred) < 0.35 * _sharpness(original)
    assert not list(home.rglob("haechi-preview-*"))  # never in the data directory

    clear = tmp_path / "clear.png"
    run(home, "review", "show", first, "--unblurred", "--viewer", f"cp {{path}} {clear}", env=env)
    assert Image.open(clear).mode == "RGB"

    refused = run(home, "review", "dismiss", first, check=False, env=env)
    assert refused.returncode != 0 and "needs a reason" in refused.stderr
    run(home, "review", "dismiss", first, "--reason", "a look-alike, not her", env=env)
    second = str(queue[1]["finding_id"])
    assert "confirmed" in run(home, "review", "confirm", second, env=env).stdout
    assert run(home, "review", "--json").stdout == ""  # nothing left to review
    done = [json.loads(x) for x in run(home, "review", "--all", "--json").stdout.splitlines()]
    assert {d["status"] for d in done} == {"dismissed", "confirmed"}

    log = [json.loads(x) for x in run(home, "evidence", "log", "--json").stdout.splitlines()]
    mine = [e for e in log if e["actor"] == "reviewer-lee"]
    views = [e["details"]["mode"] for e in mine if e["action"] == "viewed"]
    assert views == ["blurred", "unblurred"]
    whats = [e["details"]["what"] for e in mine if e["action"] == "annotated"]
    assert whats == ["dismiss", "confirm"]
    assert "look-alike" not in json.dumps(log)  # the reason stays out of the log
    assert "INTACT" in run(home, "evidence", "verify").stdout


def test_a_possible_minor_is_escalated_and_kept_out_of_exports(tmp_path: Path) -> None:
    home, queue = _setup(tmp_path)
    target = queue[1]
    fid, sha = str(target["finding_id"]), str(target["item_sha256"])
    run(home, "review", "minor", fid)
    top = json.loads(run(home, "review", "--json").stdout.splitlines()[0])
    assert top["finding_id"] == target["finding_id"] and top["possible_minor"]
    assert top["status"] == "escalated"
    refused = run(home, "review", "show", fid, "--unblurred", "--viewer", "true", check=False)
    assert refused.returncode != 0 and "possible minor" in refused.stderr

    pkg = tmp_path / "pkg"
    run(home, "evidence", "export", sha, "--to", str(pkg), "--plain-media")
    manifest = json.loads((pkg / "manifest.json").read_text())
    (item,) = manifest["items"]
    assert item["media_file"] is None and item["media_withheld"] == "possible minor"
    assert not list((pkg / "media").iterdir())

    pkg2 = tmp_path / "pkg2"
    run(home, "evidence", "export", sha, "--to", str(pkg2), "--plain-media", "--authorise-minor")
    assert len(list((pkg2 / "media").iterdir())) == 1
    log = [json.loads(x) for x in run(home, "evidence", "log", "--json").stdout.splitlines()]
    exported = [e for e in log if e["action"] == "exported"]
    assert [bool(e["details"].get("minor_media_authorised")) for e in exported] == [False, True]
