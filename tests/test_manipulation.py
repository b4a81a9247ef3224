"""Same scene, different face: a face swap of a public photo is related to the photo it was
made from, on both items, with the region and the measures; copies and other photos are not."""

from __future__ import annotations

import importlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import haechi, testdata
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
em: Any = importlib.import_module("evaluate_manipulation")


def _jpeg(rgb: np.ndarray[Any, Any], path: Path, quality: int = 90) -> None:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    path.write_bytes(buf.getvalue())


@pytest.mark.slow
def test_a_face_swap_and_its_source_are_related_on_both_items(tmp_path: Path) -> None:
    data = testdata("faces")
    original = em.load(data / "img2.jpg")  # person_01
    fake = em.swap(original, em.load(data / "img47.jpg"))  # person_03's face put in
    corpus = tmp_path / "c"
    corpus.mkdir()
    _jpeg(original, corpus / "original.jpg")
    _jpeg(em.resize(fake, 0.6), corpus / "posted.jpg", 75)
    _jpeg(em.load(data / "img3.jpg"), corpus / "unrelated.jpg")
    _jpeg(original, corpus / "copy.jpg", 70)
    home = tmp_path / "h"
    lines = {
        Path(o["path"]).name: o
        for o in map(json.loads, haechi(home, "scan", "--json", str(corpus)).stdout.splitlines())
    }
    # A relation lands on whichever of a pair is stored second (the workers decide the order),
    # so read every item's findings once the scan is over.
    for o in lines.values():
        o["findings"] = json.loads(haechi(home, "show", o["sha256"], "--json").stdout)["findings"]
    posted = [f for f in lines["posted.jpg"]["findings"] if f["kind"] == "face_changed"]
    assert posted, lines["posted.jpg"]["findings"]
    rel = posted[0]["relation"]
    assert rel["related_item"] in (lines["original.jpg"]["sha256"], lines["copy.jpg"]["sha256"])
    assert rel["role"] == "altered_pair" and rel["face_similarity"] < 0.7
    assert rel["inliers"] >= 20 and len(rel["box"]) == 4
    # The other side says it too; neither the unrelated photo nor the copy pair is related.
    shown = json.loads(haechi(home, "show", "--json", lines["original.jpg"]["sha256"]).stdout)
    assert [f["relation"]["related_item"] for f in shown["findings"]] == [
        lines["posted.jpg"]["sha256"]
    ]
    text = haechi(home, "show", lines["posted.jpg"]["sha256"]).stdout
    assert "one of these two was altered: same scene as item" in " ".join(text.split())
    assert not [f for f in lines["unrelated.jpg"]["findings"] if f["kind"] == "face_changed"]
    copy_side = [f["relation"]["related_item"] for f in lines["copy.jpg"]["findings"]]
    assert lines["original.jpg"]["sha256"] not in copy_side


@pytest.mark.slow
def test_the_small_evaluation_finds_the_swaps_and_no_false_relation(tmp_path: Path) -> None:
    assert em.main(["--data", str(testdata("faces")), "--limit", "5", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "manipulation.md").read_text()
    assert "false relations: 0 of" in text
    assert (tmp_path / "manipulation" / "example1.jpg").is_file()


@pytest.mark.slow
def test_the_side_with_an_enrolled_persons_face_is_likely_manipulated(tmp_path: Path) -> None:
    data = testdata("faces")
    original = em.load(data / "img2.jpg")  # person_01
    fake = em.swap(original, em.load(data / "img47.jpg"))  # person_03's face put in
    corpus = tmp_path / "c"
    corpus.mkdir()
    _jpeg(original, corpus / "original.jpg")
    _jpeg(fake, corpus / "posted.jpg")
    home = tmp_path / "h"
    consent = ["--consent", "yes", "--consent-by", "person_03", "--scope", "match faces"]
    haechi(
        home, "enrol", "--alias", "p3", *consent, str(data / "img48.jpg"), str(data / "img49.jpg")
    )
    scanned = {
        Path(o["path"]).name: o["sha256"]
        for o in map(json.loads, haechi(home, "scan", "--json", str(corpus)).stdout.splitlines())
    }
    # The relation is recorded when the second of the two is stored, whichever that is (the
    # workers decide), so each side's scan line may come before it: ask afterwards.
    lines = {
        name: json.loads(haechi(home, "show", sha, "--json").stdout)
        for name, sha in scanned.items()
    }
    kinds = {f["kind"]: f for f in lines["posted.jpg"]["findings"]}
    assert "face_match" in kinds, kinds
    assert kinds["face_changed"]["relation"]["role"] == "likely_manipulated"
    assert kinds["face_changed"]["person"] == "p3"
    (source,) = [f for f in lines["original.jpg"]["findings"] if f["kind"] == "face_changed"]
    assert source["relation"]["role"] == "source"
