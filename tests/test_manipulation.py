"""Same scene, different face: a face swap of a public photo is related to the photo it was
made from, on both items, with the region and the measures; copies and other photos are not."""

from __future__ import annotations

import hashlib
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

from haechi.config import load_settings
from haechi.matching.scene_index import scene_index
from haechi.store.db import Database

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
    args = ["--data", str(testdata("faces")), "--limit", "5", "--videos", "1"]
    assert em.main([*args, "--out", str(tmp_path)]) == 0
    text = (tmp_path / "manipulation.md").read_text()
    assert "false relations: 0 of" in text
    assert "| video and its face-swapped video (must be related) | 1 | 1 |" in text
    assert "## Source photo found" in text
    assert (tmp_path / "manipulation" / "example1.png").is_file()


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
    # Erasing her with her evidence takes the difference picture (her face region) too.
    pic = kinds["face_changed"]["relation"]["difference_picture"]
    assert any(pic in p.name for p in (home / "vault").rglob("*"))
    haechi(home, "forget", "p3", "--yes", "--delete-evidence")
    assert not any(pic in p.name for p in (home / "vault").rglob("*"))
    assert f"derived:{pic}" in haechi(home, "evidence", "log", "--json").stdout


@pytest.mark.slow
def test_the_difference_picture_is_evidence_named_by_the_finding_and_exported(
    tmp_path: Path,
) -> None:
    data = testdata("faces")
    original = em.load(data / "img2.jpg")  # person_01
    fake = em.swap(original, em.load(data / "img47.jpg"))  # person_03's face put in
    corpus = tmp_path / "c"
    corpus.mkdir()
    _jpeg(original, corpus / "original.jpg")
    _jpeg(fake, corpus / "posted.jpg")
    home = tmp_path / "h"
    shas = {
        Path(o["path"]).name: o["sha256"]
        for o in map(json.loads, haechi(home, "scan", "--json", str(corpus)).stdout.splitlines())
    }
    rels = {
        name: [
            f["relation"]
            for f in json.loads(haechi(home, "show", sha, "--json").stdout)["findings"]
            if f["kind"] == "face_changed"
        ]
        for name, sha in shas.items()
    }
    # One picture per pair, named by the finding on both sides.
    pic = rels["posted.jpg"][0]["difference_picture"]
    assert pic and len(pic) == 64 and rels["original.jpg"][0]["difference_picture"] == pic
    listed = [json.loads(line) for line in haechi(home, "findings", "--json").stdout.splitlines()]
    assert {f["relation"]["difference_picture"] for f in listed if f["kind"] == "face_changed"} == {
        pic
    }
    assert pic in " ".join(haechi(home, "show", shas["posted.jpg"]).stdout.split())
    # Encrypted in the vault (never a plain copy), logged, and `verify` finds nothing amiss.
    blobs = [p for p in (home / "vault").rglob("*") if p.is_file() and pic in p.name]
    assert blobs and b"\x89PNG" not in blobs[0].read_bytes()[:64]
    log = haechi(home, "evidence", "log", "--json").stdout
    assert f"derived:{pic}" in log
    assert json.loads(haechi(home, "evidence", "verify", "--json").stdout)["ok"] is True
    # The package carries it beside the item, and it is only the face regions.
    out = tmp_path / "pkg"
    haechi(home, "evidence", "export", shas["posted.jpg"], "--to", str(out), "--plain-media")
    manifest = json.loads((out / "manifest.json").read_text())
    (item,) = manifest["items"]
    (entry,) = item["difference_pictures"]
    assert entry["sha256"] == pic and entry["related_item"] == shas["original.jpg"]
    with Image.open(out / entry["file"]) as im:
        w, h = im.size
    assert h == 200 and w < 3 * 200 * 1.2  # three face-sized panels, nothing more
    box = rels["posted.jpg"][0]["box"]
    assert box[2] * box[3] < original.shape[0] * original.shape[1] / 4
    assert f"{pic}  {entry['file']}" in (out / "SHA256SUMS").read_text()
    # The documents state the relation, its other item, and the picture's file in the package.
    (rel,) = item["relations"]
    assert rel["kind"] == "face_changed" and rel["related_item"] == shas["original.jpg"]
    assert rel["difference_file"] == entry["file"]
    html = " ".join((out / "report.html").read_text("utf-8").split())
    assert "same scene as item " + shas["original.jpg"] in html and entry["file"] in html
    assert "같은 장면" in html


def _pan(rgb: np.ndarray[Any, Any], path: Path, seconds: int = 4, fps: int = 5) -> None:
    """An H.264 clip of `rgb`: a slow pan across it, 960x720."""
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = 960, 720, "yuv420p"
        for i in range(seconds * fps):
            x = 40 + 4 * i
            frame = np.ascontiguousarray(rgb[40 : 40 + 1080, x : x + 1440])
            small = np.asarray(Image.fromarray(frame).resize((960, 720)))
            for p in s.encode(av.VideoFrame.from_ndarray(small, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


@pytest.mark.slow
def test_a_face_swapped_video_and_its_original_are_related_frame_by_frame(
    tmp_path: Path,
) -> None:
    data = testdata("faces")
    original = em.load(data / "img2.jpg")  # person_01, 1536x1152
    fake = em.swap(original, em.load(data / "img47.jpg"))  # person_03's face in every frame
    corpus = tmp_path / "c"
    corpus.mkdir()
    _pan(original, corpus / "original.mp4")
    _pan(fake, corpus / "swapped.mp4")
    home = tmp_path / "h"
    shas = {
        Path(o["path"]).name: o["sha256"]
        for o in map(json.loads, haechi(home, "scan", "--json", str(corpus)).stdout.splitlines())
    }
    rels = {}
    for name, sha in shas.items():
        shown = json.loads(haechi(home, "show", sha, "--json").stdout)
        (rels[name],) = [f["relation"] for f in shown["findings"] if f["kind"] == "face_changed"]
    assert rels["swapped.mp4"]["related_item"] == shas["original.mp4"]
    assert rels["original.mp4"]["related_item"] == shas["swapped.mp4"]
    rel = rels["swapped.mp4"]
    # Which frames, and when: every sampled frame shows the other face.
    assert rel["frames_compared"] >= 4 and len(rel["frames"]) == rel["frames_compared"]
    assert all(f["face_similarity"] < 0.7 for f in rel["frames"])
    assert rel["t"] in [f["t"] for f in rel["frames"]] and rel["difference_picture"]
    text = " ".join(haechi(home, "show", shas["swapped.mp4"]).stdout.split())
    assert "a video: the face differs in" in text


@pytest.mark.slow
def test_a_face_taken_from_her_own_photo_is_named_and_another_photo_of_her_is_not(
    tmp_path: Path,
) -> None:
    data = testdata("faces")
    donor = em.load(data / "img47.jpg")  # person_03: the photo her face was taken from
    fake = em.swap(em.load(data / "img2.jpg"), donor)  # put onto person_01's photo
    corpus = tmp_path / "c"
    corpus.mkdir()
    _jpeg(fake, corpus / "posted.jpg")
    _jpeg(donor, corpus / "her_photo.jpg", 95)
    _jpeg(em.load(data / "img50.jpg"), corpus / "her_other_photo.jpg", 95)  # same person
    home = tmp_path / "h"
    haechi(
        home,
        *("enrol", "--alias", "p3", "--consent", "yes", "--consent-by", "person_03"),
        *("--own-media", str(corpus / "her_photo.jpg")),
        *("--own-media", str(corpus / "her_other_photo.jpg")),
        str(data / "img48.jpg"),
        str(data / "img49.jpg"),
    )
    shas = {
        Path(o["path"]).name: o["sha256"]
        for o in map(json.loads, haechi(home, "scan", "--json", str(corpus)).stdout.splitlines())
    }
    found = {
        name: [
            f
            for f in json.loads(haechi(home, "show", sha, "--json").stdout)["findings"]
            if f["kind"] == "source_photo"
        ]
        for name, sha in shas.items()
    }
    (taken,) = found["posted.jpg"]
    src = taken["source_photo"]
    assert src["related_item"] == shas["her_photo.jpg"] and src["role"] == "taken_from"
    assert src["pixel_agreement"] >= 0.95 and taken["person"] == "p3"
    (into,) = found["her_photo.jpg"]
    assert into["source_photo"]["related_item"] == shas["posted.jpg"]
    # Her other photo is her face too, but not where this face was taken from.
    assert not found["her_other_photo.jpg"]
    text = " ".join(haechi(home, "show", shas["posted.jpg"]).stdout.split())
    assert f"was taken from her photo {shas['her_photo.jpg'][:12]}" in text
    listed = [json.loads(line) for line in haechi(home, "findings", "--json").stdout.splitlines()]
    assert {f["source_photo"]["related_item"] for f in listed if f["kind"] == "source_photo"} == {
        shas["her_photo.jpg"],
        shas["posted.jpg"],
    }


@pytest.mark.slow
def test_a_cropped_swap_is_related_and_the_words_behind_it_are_stored_and_read(
    tmp_path: Path,
) -> None:
    """A scan of a crop after its original and twenty other portraits: the relation is made,
    and the keypoint words that find crops at scale went from the analyzer through the
    database into the scan's index (tests/test_scene_index.py shows them finding a crop whose
    PDQ is lost among 200 nearer scenes)."""
    data = testdata("faces")
    original = em.load(data / "img2.jpg")
    fake = em.swap(original, em.load(data / "img47.jpg"))
    home = tmp_path / "h"
    first = tmp_path / "first"
    first.mkdir()
    _jpeg(original, first / "original.jpg")
    for n in [*range(3, 22), 50]:
        _jpeg(em.load(data / f"img{n}.jpg"), first / f"other{n}.jpg")
    haechi(home, "--workers", "2", "scan", str(first))
    later = tmp_path / "later"
    later.mkdir()
    _jpeg(em.crop(fake, 0.06), later / "cropped.jpg", 85)
    (line,) = map(json.loads, haechi(home, "scan", "--json", str(later)).stdout.splitlines())
    shown = json.loads(haechi(home, "show", line["sha256"], "--json").stdout)
    related = [
        f["relation"]["related_item"] for f in shown["findings"] if f["kind"] == "face_changed"
    ]
    original_sha = hashlib.sha256((first / "original.jpg").read_bytes()).hexdigest()
    assert related == [original_sha], shown["findings"]

    db = Database(load_settings(home=home))
    try:
        with db.session() as s:
            index = scene_index(s)
    finally:
        db.close()
    assert index.n >= 20
    assert (index.orb_n[: index.n] > 32).sum() >= 18  # portraits keep dozens of words each
