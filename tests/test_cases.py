"""Cases through the CLI (in-process, `run`): a case for an enrolled person gathers her
findings (those found before it was opened and those found after), takes items and notes by
hand, keeps a timeline, logs every change in the custody log without the free text, and
packages as one evidence export."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from conftest import enrol_her, jpeg_bytes, noise_image, run, testdata


def _scan(home: Path, folder: Path) -> dict[str, str]:
    out = run(home, "scan", str(folder), "--json", "--no-progress").stdout
    return {Path(x["path"]).name: x["sha256"] for x in map(json.loads, out.splitlines())}


def test_a_case_gathers_her_findings_and_keeps_a_timeline(tmp_path: Path) -> None:
    home = tmp_path / "h"
    run(home, "init")
    first, later = tmp_path / "first", tmp_path / "later"
    first.mkdir()
    later.mkdir()
    shutil.copy(testdata("faces", "img10.jpg"), first / "her.jpg")
    (first / "scene.jpg").write_bytes(jpeg_bytes(noise_image(3)))
    shutil.copy(testdata("faces", "img11.jpg"), later / "her-again.jpg")
    env = {"HAECHI_ACTOR": "counsellor-kim"}

    enrol_her(home)
    shas = _scan(home, first)
    opened = json.loads(
        run(
            home, "case", "new", "--person", "p1", "--title", "p1 / school room", "--json", env=env
        ).stdout
    )
    case = str(opened["id"])
    assert opened["items"] == 1  # her finding so far joined at once

    shas |= _scan(home, later)  # found after the case was opened: joins it too
    run(home, "case", "add", case, shas["scene.jpg"][:10], env=env)
    run(home, "case", "note", case, "she reported the room on 2026-12-01", env=env)
    run(home, "case", "status", case, "in_progress", env=env)

    detail = json.loads(run(home, "case", "show", case, "--json").stdout)
    assert {i["sha256"] for i in detail["items"]} == {
        shas["her.jpg"],
        shas["her-again.jpg"],
        shas["scene.jpg"],
    }
    assert detail["status"] == "in_progress" and detail["person"] == "p1"
    kinds = [e["kind"] for e in detail["timeline"]]
    assert kinds[0] == "opened" and kinds.count("items_added") == 3
    assert "note" in kinds and "status" in kinds
    by_hand = [e for e in detail["timeline"] if e["kind"] in ("opened", "note", "status")]
    assert {e["actor"] for e in by_hand} == {"counsellor-kim"}

    listed = [json.loads(x) for x in run(home, "case", "list", "--json").stdout.splitlines()]
    assert [(c["id"], c["items"]) for c in listed] == [(opened["id"], 3)]

    # The custody log has every change, and none of the free text.
    log = run(home, "evidence", "log", "--json").stdout
    entries = [json.loads(x) for x in log.splitlines() if json.loads(x)["action"] == "case"]
    assert len(entries) == len(detail["timeline"])
    assert "school room" not in log and "reported the room" not in log
    assert "INTACT" in run(home, "evidence", "verify").stdout

    pkg = tmp_path / "pkg"
    exp = run(home, "evidence", "export", "--case", case, "--to", str(pkg), "--no-media", env=env)
    assert "items: 3" in exp.stdout
    manifest = json.loads((pkg / "manifest.json").read_text())
    assert "case 1" in json.dumps(manifest)
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=pkg, capture_output=True)
    assert check.returncode == 0
    timeline = json.loads(run(home, "case", "show", case, "--json").stdout)["timeline"]
    assert timeline[-1]["kind"] == "exported"


def test_case_errors_are_clear(tmp_path: Path) -> None:
    home = tmp_path / "h"
    nobody = run(home, "case", "new", "--person", "nobody", check=False)
    assert nobody.returncode != 0 and "'nobody' is not enrolled" in nobody.stderr
    inv = json.loads(run(home, "case", "new", "--title", "an investigation", "--json").stdout)
    assert inv["items"] == 0
    bad = run(home, "case", "status", str(inv["id"]), "bogus", check=False)
    assert bad.returncode != 0 and "unknown status 'bogus'" in bad.stderr
    missing = run(home, "case", "show", "99", check=False)
    assert missing.returncode != 0 and "no case 99" in missing.stderr


def test_forget_erases_her_case_texts_and_no_case_her_alias_only_matches_as_a_pattern(
    tmp_path: Path,
) -> None:
    """An alias with LIKE's wildcards (`_`, `%`) names her cases and the notes that contain it
    literally; another case whose title would match it as a pattern keeps its words."""
    home = tmp_path / "h"
    alias = "j_k%"
    enrol_her(home, alias=alias)
    hers = json.loads(
        run(home, "case", "new", "--person", alias, "--title", "school room", "--json").stdout
    )["id"]
    run(home, "case", "note", str(hers), "her class teacher called")
    other = json.loads(
        run(home, "case", "new", "--title", "jAk rooms, 50% sellers", "--json").stdout
    )["id"]
    run(home, "case", "note", str(other), "j-k% of the posts were forwarded")
    named = json.loads(
        run(home, "case", "new", "--title", f"photo of {alias} reposted", "--json").stdout
    )["id"]

    out = run(home, "forget", alias, "--yes").stdout
    assert "case_texts" in out

    def show(case: int) -> str:
        return run(home, "case", "show", str(case), "--json").stdout

    assert "school room" not in show(hers) and "her class teacher" not in show(hers)
    assert json.loads(show(hers))["title"] == "[erased with person]"
    assert json.loads(show(named))["title"] == "[erased with person]"
    kept = show(other)
    assert "jAk rooms, 50% sellers" in kept and "j-k% of the posts were forwarded" in kept
