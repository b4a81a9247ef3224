"""`enrol --add`: more photos or own files join an enrolled person without losing her findings,
under the consent already recorded, and the custody log records the change (counts only)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import enrol_her, jpeg_bytes, noise_image, run, testdata


def _findings(home: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in run(home, "findings", "--json").stdout.splitlines()]


def test_add_photos_and_own_media_to_an_enrolled_person(tmp_path: Path) -> None:
    home = tmp_path / "h"
    corpus = tmp_path / "c"
    corpus.mkdir()
    shutil.copy(testdata("faces", "img10.jpg"), corpus / "her.jpg")
    own = noise_image(7, (400, 300))
    (corpus / "her-own-copy.jpg").write_bytes(jpeg_bytes(own, quality=80))
    (tmp_path / "own.jpg").write_bytes(jpeg_bytes(own, quality=95))

    enrol_her(home)
    run(home, "scan", str(corpus), "--no-progress")
    before = _findings(home)
    assert {f["kind"] for f in before} == {"face_match"}

    # Her own file, then another photo of her: the earlier finding stays, a new one joins it.
    out = run(home, "enrol", "--alias", "p1", "--add", "--own-media", str(tmp_path / "own.jpg"))
    assert "added to p1" in out.stdout and "1 own file(s)" in out.stdout
    out = run(home, "enrol", "--alias", "p1", "--add", str(testdata("faces", "img11.jpg")))
    assert "1 face template(s)" in out.stdout
    after = _findings(home)
    assert {f["kind"] for f in after} == {"face_match", "own_media_match"}
    assert {f["id"] for f in before} <= {f["id"] for f in after}  # nothing was lost

    persons = json.loads(run(home, "persons", "--json").stdout.splitlines()[0])
    assert persons["templates"] == 2 and persons["own_media"] == 1, persons

    log = run(home, "evidence", "log", "--json").stdout
    entries = [json.loads(x) for x in log.splitlines()]
    enrolled = [e for e in entries if e["action"] == "enrolled"]
    assert [e["details"]["what"] for e in enrolled] == ["enrolled", "added", "added"]
    assert '"p1"' not in log  # counts under a row id, never her alias
    run(home, "evidence", "verify")  # the chain holds with the new entries


def test_add_refuses_someone_else_and_unknown_aliases(tmp_path: Path) -> None:
    home = tmp_path / "h"
    run(home, "enrol", "--alias", "p1", "--consent", "yes", str(testdata("faces", "img1.jpg")))
    other = run(
        home, "enrol", "--alias", "p1", "--add", str(testdata("faces", "img12.jpg")), check=False
    )
    assert other.returncode != 0 and "does not show the person enrolled as 'p1'" in other.stderr
    unknown = run(
        home, "enrol", "--alias", "nobody", "--add", str(testdata("faces", "img1.jpg")), check=False
    )
    assert unknown.returncode != 0 and "'nobody' is not enrolled" in unknown.stderr
    again = run(
        home,
        "enrol",
        "--alias",
        "p1",
        "--consent",
        "yes",
        str(testdata("faces", "img10.jpg")),
        check=False,
    )
    assert again.returncode != 0 and "--add" in again.stderr
    persons = json.loads(run(home, "persons", "--json").stdout.splitlines()[0])
    assert persons["templates"] == 1  # nothing was added by the refusals
