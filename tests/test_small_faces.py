"""Small faces in large pictures: faces of 20-70 px pasted into one-megapixel scenes are found
and matched with their enrolled person, and never with another (scripts/small_faces.py)."""

from __future__ import annotations

import functools
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import haechi, testdata
from PIL import Image

from haechi.analyzers import face_detect as fd
from haechi.analyzers import face_model as fz

# The evaluation's own generator and measure (scripts/ is not a package mypy checks).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
sf: Any = importlib.import_module("small_faces")


@functools.cache
def _model() -> fz.FaceModel:
    return fz.FaceModel()


@pytest.mark.slow
def test_the_first_scenes_of_the_frozen_set_are_all_found_and_matched() -> None:
    data = testdata("faces")
    scenes = list(sf.build(data, _model(), scenes=4))
    assert min(p.box[2] for sc in scenes for p in sc.faces) < 32  # faces the old gate refused
    tally = sf.measure(scenes, _model(), data)
    assert (tally.found, tally.matched, tally.wrong) == (tally.faces, tally.faces, 0)


@pytest.mark.slow
def test_the_frozen_set_reaches_ninety_percent_with_no_wrong_match() -> None:
    data = testdata("faces")
    scenes = list(sf.build(data, _model()))
    assert sf.fingerprint(scenes) == sf.FROZEN_SHA256  # the set tuned on, unchanged
    tally = sf.measure(scenes, _model(), data)
    assert tally.matched >= 0.9 * tally.faces
    assert tally.wrong == 0


def test_a_portrait_is_not_searched_again_for_small_faces() -> None:
    rows = np.zeros((1, 15), np.float32)
    rows[0, 2], rows[0, 14] = 300, 0.9
    assert not fd._wants_small_pass(rows)
    rows[0, 2] = 30
    assert fd._wants_small_pass(rows)
    assert fd._wants_small_pass(np.zeros((0, 15), np.float32))


@pytest.mark.slow
def test_a_22_px_face_in_a_megapixel_scene_is_matched_by_a_scan(tmp_path: Path) -> None:
    data = testdata("faces")
    enrol, paste = sf.split(data)
    ids = sf.identities(data)
    name = next(n for n in paste if ids[n] == "person_03")
    (box,) = sf.face_boxes(data, [name], _model()).values()
    scene = sf._background(np.random.default_rng(5))
    with Image.open(data / name) as im:
        sf._paste(scene, np.asarray(im.convert("RGB")), box, 22, (700, 400))
    corpus = tmp_path / "c"
    corpus.mkdir()
    Image.fromarray(scene).save(corpus / "crowd.jpg", quality=88)
    home = tmp_path / "h"
    args = ["--consent", "yes", "--consent-by", "person_03", "--scope", "match faces"]
    haechi(home, "enrol", "--alias", "p3", *args, str(data / enrol["person_03"][0]))
    (line,) = [
        json.loads(x) for x in haechi(home, "scan", "--json", str(corpus)).stdout.splitlines()
    ]
    assert [f["kind"] for f in line["findings"]] == ["face_match"]
    assert line["findings"][0]["person"] == "p3"
