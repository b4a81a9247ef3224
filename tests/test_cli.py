"""The CLI as a user or a script drives it: in-process through `run` (Typer's CliRunner around
`haechi.cli.main`), and end to end in a process of its own (`haechi`) for the scan with its
worker pool and for the language chosen at start-up."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import haechi, jpeg_bytes, noise_image, run, testdata, write_video
from typer.main import get_command

from haechi.cli import app

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _corpus(root: Path) -> Path:
    root.mkdir()
    (root / "a.jpg").write_bytes(jpeg_bytes(noise_image(1)))
    (root / "sub").mkdir()
    (root / "sub" / "a-copy.jpg").write_bytes((root / "a.jpg").read_bytes())
    (root / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    write_video(root / "v.mp4", seconds=2)
    return root


def test_scan_json_lines_give_the_machine_interface(tmp_path: Path) -> None:
    root = _corpus(tmp_path / "c")
    proc = haechi(tmp_path / "h", "scan", str(root), "--json")
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    by_path = {Path(x["path"]).relative_to(root.resolve()).as_posix(): x for x in lines}
    assert set(by_path) == {"a.jpg", "sub/a-copy.jpg", "b.png", "v.mp4"}
    a = by_path["a.jpg"]
    assert a["kind"] == "image" and a["error"] is None
    assert len(a["sha256"]) == 64 and len(a["md5"]) == 32
    assert len(a["pdq"]) == 64 and isinstance(a["pdq_quality"], int)
    assert by_path["sub/a-copy.jpg"]["sha256"] == a["sha256"]
    v = by_path["v.mp4"]
    assert v["kind"] == "video" and v["pdq"] is None
    assert [f["t"] for f in v["frames"]][:2] == [0.0, 1.0]
    assert all(len(f["pdq"]) == 64 and "quality" in f for f in v["frames"])
    assert "b.png" in by_path["b.png"]["path"] and "png image data" in by_path["b.png"]["error"]
    assert "scan summary" in proc.stderr  # people's table stays off stdout


def test_items_json_lists_each_item_once_with_all_sightings(tmp_path: Path) -> None:
    root = _corpus(tmp_path / "c")
    run(tmp_path / "h", "scan", str(root))
    proc = run(tmp_path / "h", "items", "--json")
    items = [json.loads(x) for x in proc.stdout.splitlines()]
    shas = [i["sha256"] for i in items]
    assert len(shas) == len(set(shas)) == 3
    a = next(i for i in items if i["kind"] == "image" and i["pdq"])
    assert sorted(s["locator"] for s in a["sightings"]) == ["a.jpg", "sub/a-copy.jpg"]


def test_show_by_prefix_and_clear_errors(tmp_path: Path) -> None:
    root = _corpus(tmp_path / "c")
    home = tmp_path / "h"
    lines = run(home, "scan", str(root), "--json").stdout.splitlines()
    sha = next(json.loads(x)["sha256"] for x in lines if '"video"' in x)
    proc = run(home, "show", sha[:10])
    assert sha in proc.stdout and "t=   1.00s" in proc.stdout
    missing = run(home, "show", "abcdef1234", check=False)
    assert missing.returncode == 6 and "error: no item abcdef1234" in missing.stderr
    bad = run(home, "scan", str(tmp_path / "nowhere"), check=False)
    assert bad.returncode == 3
    assert bad.stderr.strip() == f"error: {tmp_path / 'nowhere'}: no such file or folder"
    assert "Traceback" not in bad.stderr
    debug = run(home, "--debug", "scan", str(tmp_path / "nowhere"), check=False)
    assert "Traceback" in debug.stderr


def test_rescan_counts_unchanged_files(tmp_path: Path) -> None:
    root = _corpus(tmp_path / "c")
    run(tmp_path / "h", "scan", str(root))
    proc = run(tmp_path / "h", "scan", str(root), "--json")
    assert {json.loads(x)["status"] for x in proc.stdout.splitlines()} == {"unchanged"}


def test_scan_of_the_pdq_reference_photos(tmp_path: Path) -> None:
    proc = run(tmp_path / "h", "scan", str(testdata("pdq_bridge")), "--json")
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert len(lines) == 12 and all(x["error"] is None and x["pdq"] for x in lines)


def test_doctor_passes_offline(tmp_path: Path) -> None:
    proc = run(tmp_path / "h", "doctor")
    assert "FAIL" not in proc.stdout
    assert "analyzer pdq v2: 2/2 known examples reproduced" in proc.stdout


def test_every_command_has_help() -> None:
    group = get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert command.help and command.help.strip(), f"`haechi {name}` has no help"


def test_cli_reference_in_docs_is_current() -> None:
    from haechi.cli.reference import render

    docs = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
    assert docs.read_text() == render(), "run: python -m haechi.cli.reference > docs/cli.md"


def test_show_prints_faces_matches_signals_and_risk_for_people(tmp_path: Path) -> None:
    """`show` in words, not only in --json: faces, the enrolled person matched with a band,
    the sexual score, the synthetic verdict with its evidence lines, the risk and its parts;
    `items` has a risk column. No vector is ever printed."""
    from PIL import Image, PngImagePlugin

    home, corpus = tmp_path / "h", tmp_path / "c"
    corpus.mkdir()
    meta = PngImagePlugin.PngInfo()
    meta.add_text("parameters", "portrait photo\nSteps: 20, Sampler: Euler a, Model: sd15")
    Image.open(testdata("faces", "img10.jpg")).convert("RGB").save(corpus / "gen.png", pnginfo=meta)
    run(home, "enrol", "--alias", "p1", "--consent", "yes", str(testdata("faces", "img1.jpg")))
    line = run(home, "scan", str(corpus), "--json").stdout.splitlines()[0]
    sha = json.loads(line)["sha256"]
    shown = run(home, "show", sha[:12]).stdout
    flat = " ".join(shown.split())
    assert "faces: 1 found, 1 usable for matching" in flat
    assert re.search(r"matches p1: similarity 0\.\d{3} \((strong|clear|borderline)", flat), flat
    assert "sexual content score: 0." in flat
    assert "synthetic: likely synthetic (AI-generated)" in flat
    assert "Steps: 20" in flat  # an evidence line, in words
    assert re.search(r"risk 0\.\d\d: sexual .*enrolled face 0\.\d\d × 0\.25", flat), flat
    assert "embedding" not in shown.lower()
    assert "next: `haechi review`" in flat and "`haechi case new --person p1`" in flat
    data = json.loads(run(home, "show", sha, "--json").stdout)
    assert data["findings"][0]["person"] == "p1" and data["findings"][0]["band"]
    table = run(home, "items").stdout
    assert "risk" in table and f"{data['risk']['score']:.2f}" in table

    # docs/faces.md lists every field of `findings --json`, and `show --json`'s findings.
    finding = json.loads(run(home, "findings", "--json").stdout.splitlines()[0])
    faces_md = (DOCS / "faces.md").read_text(encoding="utf-8")
    table = faces_md.split("`--json` fields:")[1].split("\n\n")[1]
    documented = {
        name for row in table.splitlines()[2:] for name in re.findall(r"`(\w+)`", row.split("|")[1])
    }
    assert documented == set(finding), set(finding) ^ documented
    for key in data["findings"][0]:
        assert f"`{key}`" in faces_md.split("`haechi show ITEM` prints")[1], key

    # The language is chosen when haechi starts: a process of its own.
    ko = haechi(home, "show", sha[:12], env={"HAECHI_LANG": "ko"}).stdout
    assert "얼굴" in ko and "위험도" in ko


def test_docs_say_what_forget_leaves_and_what_doctor_checks(tmp_path: Path) -> None:
    """forget's help says what remains; README's doctor line matches what doctor checks (the
    vault key among them: a wrong key fails it)."""
    help_text = " ".join(run(tmp_path / "h", "forget", "--help").stdout.split())
    assert "What remains" in help_text and "--delete-evidence" in help_text
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    doctor_line = next(line for line in readme.splitlines() if line.startswith("| `haechi doctor`"))
    assert "vault opens with its key" in doctor_line
    out = run(tmp_path / "h", "doctor").stdout
    assert "evidence vault" in out and "data directory privacy" in out
    risk_md = (DOCS / "risk.md").read_text(encoding="utf-8")
    assert "not yet wired" not in risk_md and "wired in" in risk_md
