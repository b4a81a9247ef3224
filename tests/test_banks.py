"""Hash banks through the CLI: a case's confirmed item banked in one step and matched in a new
scan; per-bank thresholds, negative banks, rollout and disabling; video clips matched against
banked videos in both directions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import database_for, jpeg_bytes, noise_image, run, write_video
from conftest import testdata as data_file
from PIL import Image

from haechi.analyzers.pdq import pdq_hex


def _queue(home: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in run(home, "review", "--all", "--json").stdout.splitlines()]


def _bank_findings(home: Path) -> list[dict[str, Any]]:
    return [q for q in _queue(home) if q["kind"] == "hash_bank_match"]


# Hash-only scans: these tests need PDQ, not faces.
PDQ_ONLY = {"HAECHI_ANALYZERS": '["pdq"]'}


def _scan(home: Path, folder: Path) -> None:
    run(home, "scan", str(folder), "--no-progress", env=PDQ_ONLY)


def _log(home: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in run(home, "evidence", "log", "--json").stdout.splitlines()]


@pytest.mark.slow  # a dozen CLI runs and scans
def test_a_confirmed_case_item_lands_in_a_bank_and_a_new_scan_matches_it(tmp_path: Path) -> None:
    home = tmp_path / "h"
    run(home, "init")
    corpus = tmp_path / "c"
    corpus.mkdir()
    shutil.copy(data_file("faces", "img10.jpg"), corpus / "her.jpg")
    (corpus / "scene.jpg").write_bytes(jpeg_bytes(noise_image(3)))
    run(home, "enrol", "--alias", "p1", "--consent", "yes", str(data_file("faces", "img1.jpg")))
    run(home, "scan", str(corpus), "--no-progress")
    case = json.loads(run(home, "case", "new", "--person", "p1", "--json").stdout)["id"]
    run(home, "banks", "create", "P1_CONFIRMED", "--description", "confirmed in case")

    # Nothing confirmed yet: the bank refuses, and says what to do.
    early = run(home, "banks", "add-case", "P1_CONFIRMED", str(case), check=False)
    assert early.returncode != 0 and "no confirmed item" in early.stderr

    (finding,) = [q for q in _queue(home) if q["kind"] == "face_match"]
    run(home, "review", "confirm", str(finding["finding_id"]))
    added = json.loads(
        run(home, "banks", "add-case", "P1_CONFIRMED", str(case), "--tag", "ncii", "--json").stdout
    )
    assert added["contents_added"] == 1 and added["signals_added"] == 3  # sha256, md5, pdq
    shown = json.loads(run(home, "banks", "show", "P1_CONFIRMED", "--json").stdout)
    (content,) = shown["first_contents"]
    assert content["case"] == case and content["item_sha256"] == finding["item_sha256"]
    assert content["source"] == f"case:{case}" and content["tags"] == ["ncii"]
    assert set(content["signals"]) == {"sha256", "md5", "pdq"}
    # Banked once: repeating adds nothing.
    again = json.loads(run(home, "banks", "add-case", "P1_CONFIRMED", str(case), "--json").stdout)
    assert again["signals_added"] == 0 and again["signals_known"] == 3
    banked = [e for e in _log(home) if e["action"] == "banked"]
    assert [e["details"]["what"] for e in banked] == ["created", "added"]
    assert banked[1]["details"]["case"] == case and banked[1]["object"] == "bank:P1_CONFIRMED"
    timeline = json.loads(run(home, "case", "show", str(case), "--json").stdout)["timeline"]
    assert any(e["kind"] == "banked" for e in timeline)

    # A re-encoded, resized copy turns up elsewhere: a new item, matched by PDQ.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    im = Image.open(data_file("faces", "img10.jpg")).convert("RGB")
    im.resize((im.width * 3 // 4, im.height * 3 // 4)).save(elsewhere / "copy.jpg", quality=75)
    (elsewhere / "other.jpg").write_bytes(jpeg_bytes(noise_image(9)))
    run(home, "scan", str(elsewhere), "--no-progress")
    (hit,) = _bank_findings(home)
    assert "P1_CONFIRMED" in str(hit["reason"]) and float(str(hit["score"])) <= 31
    assert "INTACT" in run(home, "evidence", "verify").stdout


def _image(folder: Path, name: str, seed: int) -> tuple[Path, str]:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(jpeg_bytes(noise_image(seed)))
    return path, pdq_hex(np.asarray(Image.open(path).convert("RGB")))[0]


def _flip(h: str, bits: int) -> str:
    v = int(h, 16) ^ ((1 << bits) - 1)  # the lowest `bits` bits flipped
    return f"{v:064x}"


@pytest.mark.slow  # a dozen CLI runs and scans
def test_thresholds_negative_banks_rollout_and_disable(tmp_path: Path) -> None:
    home = tmp_path / "h"
    run(home, "init")
    _, h1 = _image(tmp_path / "a", "one.jpg", 11)
    _, h2 = _image(tmp_path / "b", "two.jpg", 12)
    _, h3 = _image(tmp_path / "c", "three.jpg", 13)
    bad = run(home, "banks", "create", "lower", check=False)
    assert bad.returncode != 0 and "capital letters" in bad.stderr
    run(home, "banks", "create", "STRICT", "--pdq", "10")
    run(home, "banks", "create", "LOOSE")
    run(home, "banks", "create", "KNOWN_FP", "--negative")
    # 20 bits away: inside LOOSE's 31, outside STRICT's 10.
    run(home, "banks", "add", "STRICT", "--pdq", _flip(h1, 20))
    run(home, "banks", "add", "LOOSE", "--pdq", _flip(h1, 20), "--tag", "t1")
    # h2 is in LOOSE but also a known false positive: suppressed.
    run(home, "banks", "add", "LOOSE", "--pdq", h2)
    run(home, "banks", "add", "KNOWN_FP", "--pdq", _flip(h2, 3))
    # h3 in a disabled bank: not matched.
    run(home, "banks", "create", "OFF")
    run(home, "banks", "add", "OFF", "--pdq", h3)
    run(home, "banks", "disable", "OFF")
    for sub in ("a", "b", "c"):
        _scan(home, tmp_path / sub)
    hits = _bank_findings(home)
    assert [(h["reason"], h["score"]) for h in hits] == [
        ("PDQ within distance 20 (≤ 31) of content 2 in bank LOOSE", 20.0)
    ]
    listed = [json.loads(x) for x in run(home, "banks", "list", "--json").stdout.splitlines()]
    assert {b["name"]: b["enabled"] for b in listed}["OFF"] is False
    assert {b["name"]: b["negative"] for b in listed}["KNOWN_FP"] is True

    # Rollout 0: the bank's contents stop matching; 1 brings them back (by content hash).
    run(home, "banks", "enable", "OFF")
    run(home, "banks", "set", "OFF", "--rollout", "0")
    shutil.copytree(tmp_path / "c", tmp_path / "c2")
    (tmp_path / "c2" / "three.jpg").rename(tmp_path / "c2" / "three-again.jpg")
    # The same bytes are one item, already matched; a different file with the same picture:
    Image.open(tmp_path / "c" / "three.jpg").save(tmp_path / "c2" / "three.png")
    _scan(home, tmp_path / "c2")
    assert len(_bank_findings(home)) == 1
    run(home, "banks", "set", "OFF", "--rollout", "1")
    Image.open(tmp_path / "c" / "three.jpg").save(tmp_path / "c2" / "three.bmp")
    _scan(home, tmp_path / "c2")
    assert [h["reason"] for h in _bank_findings(home)][-1].startswith("PDQ within distance 0")


@pytest.mark.slow  # a dozen CLI runs and scans
def test_a_clip_matches_a_banked_video_and_a_video_holding_a_banked_clip(tmp_path: Path) -> None:
    home = tmp_path / "h"
    run(home, "init")
    long_dir, clip_dir = tmp_path / "long", tmp_path / "clip"
    long_dir.mkdir()
    clip_dir.mkdir()
    write_video(long_dir / "long.mp4", 8)
    write_video(clip_dir / "clip.mp4", 3)  # the same first 3 s, encoded on their own
    _scan(home, long_dir)
    long_sha = json.loads(run(home, "items", "--json").stdout.splitlines()[0])["sha256"]
    run(home, "banks", "create", "VIDEOS")
    added = json.loads(run(home, "banks", "add", "VIDEOS", "--item", long_sha, "--json").stdout)
    assert added["signals_added"] == 3  # sha256, md5, vpdq
    _scan(home, clip_dir)
    (hit,) = _bank_findings(home)
    # All of the clip's frames are in the banked video; under half of the video's in the clip.
    assert "100% of this video's frames" in str(hit["reason"])

    # The other way round: the clip banked, a longer video holding it is found. A second data
    # directory, with a database of its own on PostgreSQL too.
    home2 = tmp_path / "h2"
    database_for(home2)
    run(home2, "init")
    _scan(home2, clip_dir)
    clip_sha = json.loads(run(home2, "items", "--json").stdout.splitlines()[0])["sha256"]
    run(home2, "banks", "create", "CLIPS")
    run(home2, "banks", "add", "CLIPS", "--item", clip_sha)
    _scan(home2, long_dir)
    (hit,) = _bank_findings(home2)
    assert "100% of the banked one's" in str(hit["reason"])
