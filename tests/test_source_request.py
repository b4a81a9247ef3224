"""Source photo found in a request: a photo posted with "이 사람으로 합성해 주세요" is where a
face swap's face came from; the finding names who asked, in which room and when. The same photo
posted without a request is not called one. The evidence documents (the evidence package and
the police report) name the relation and its source item."""

from __future__ import annotations

import importlib
import io
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import database_for, run, testdata
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
em: Any = importlib.import_module("evaluate_manipulation")

T0 = datetime(2024, 9, 2, 21, 0, tzinfo=UTC)


def _jpeg(rgb: np.ndarray[Any, Any], path: Path, quality: int = 92) -> None:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    path.write_bytes(buf.getvalue())


def _message(mid: int, minutes: int, who: str, name: str, text: str, photo: str | None) -> Any:
    at = T0 + timedelta(minutes=minutes)
    m = {
        "id": mid,
        "type": "message",
        "date": at.strftime("%Y-%m-%dT%H:%M:%S"),
        "date_unixtime": str(int(at.timestamp())),
        "from": name,
        "from_id": who,
        "text": text,
        "text_entities": [{"type": "plain", "text": text}],
    }
    if photo:
        m["photo"] = photo
    return m


def _export(folder: Path, ask: str) -> None:
    """A room where someone posts person_03's photo with `ask`, and later a face swap made
    from it (her face pasted onto person_01's photo) is posted by someone else."""
    data = testdata("faces")
    donor = em.load(data / "img47.jpg")  # person_03
    fake = em.swap(em.load(data / "img2.jpg"), donor)  # onto person_01's photo
    (folder / "photos").mkdir(parents=True)
    _jpeg(donor, folder / "photos" / "her.jpg", 95)
    _jpeg(fake, folder / "photos" / "made.jpg")
    messages = [
        _message(1, 0, "user7001", "의뢰인", ask, "photos/her.jpg"),
        _message(2, 3, "user7002", "작업자", "확인", None),
        _message(3, 90, "user7002", "작업자", "완성본", "photos/made.jpg"),
    ]
    doc = {"name": "합성방", "type": "private_supergroup", "id": 6001, "messages": messages}
    (folder / "result.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")


def _scan(home: Path, export: Path, *own: Path) -> dict[str, str]:
    run(home, "init")
    run(
        home,
        *("enrol", "--alias", "p3", "--consent", "yes", "--consent-by", "person_03"),
        *(a for p in own for a in ("--own-media", str(p))),
        str(testdata("faces", "img48.jpg")),
        str(testdata("faces", "img49.jpg")),
    )
    out = run(home, "scan", "--json", "--no-progress", str(export)).stdout
    return {Path(o["path"]).name: o["sha256"] for o in map(json.loads, out.splitlines())}


def _sources(home: Path, sha: str) -> list[dict[str, Any]]:
    found = json.loads(run(home, "show", sha, "--json").stdout)["findings"]
    return [f for f in found if f["kind"] == "source_photo"]


@pytest.fixture(scope="module")
def asked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A home that scanned the room where the photo came with a request."""
    root = tmp_path_factory.mktemp("asked")
    _export(root / "export", "이 사람으로 합성해 주세요")
    home = root / "h"
    database_for(home)  # on PostgreSQL, a database that outlives one test
    return home, _scan(home, root / "export")


@pytest.mark.slow  # a scan of three photos and several runs of the CLI, about 10 s
def test_a_face_taken_from_a_photo_posted_in_a_request_names_who_asked_and_where(
    asked: tuple[Path, dict[str, str]],
) -> None:
    home, shas = asked
    (taken,) = _sources(home, shas["made.jpg"])
    src = taken["source_photo"]
    assert src["role"] == "taken_from" and src["related_item"] == shas["her.jpg"]
    assert src["source_kind"] == "request" and src["pixel_agreement"] >= 0.95
    req = src["request"]
    assert (req["author"], req["author_id"], req["room"]) == ("의뢰인", "user7001", "합성방")
    assert req["message_id"] == 1 and req["at"].startswith("2024-09-02T21:00")
    (into,) = _sources(home, shas["her.jpg"])
    assert into["source_photo"]["role"] == "taken_into"
    assert into["source_photo"]["related_item"] == shas["made.jpg"]
    text = " ".join(run(home, "show", shas["made.jpg"]).stdout.split())
    assert (
        f"was taken from photo {shas['her.jpg'][:12]}, posted in a request by 의뢰인 in 합성방"
        in text
    )
    listed = [json.loads(x) for x in run(home, "findings", "--json").stdout.splitlines()]
    assert any(
        f["kind"] == "source_photo" and (f["source_photo"] or {}).get("request") for f in listed
    )


@pytest.mark.slow  # a second scan, about 8 s
def test_the_same_photo_posted_without_a_request_is_not_called_one(tmp_path: Path) -> None:
    _export(tmp_path / "export", "어제 찍은 사진")
    home = tmp_path / "h"
    # Her own photo: the face is still found to be taken from it, as her own media.
    shas = _scan(home, tmp_path / "export", tmp_path / "export" / "photos" / "her.jpg")
    (taken,) = _sources(home, shas["made.jpg"])
    src = taken["source_photo"]
    assert src["related_item"] == shas["her.jpg"] and src["source_kind"] == "own_media"
    assert src["request"] is None
    text = " ".join(run(home, "show", shas["made.jpg"]).stdout.split())
    assert "was taken from her photo" in text and "request" not in text


@pytest.mark.slow  # a package and a police report with PDFs, about 10 s
def test_the_evidence_documents_name_the_relation_and_its_source(
    asked: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    home, shas = asked
    made, her = shas["made.jpg"], shas["her.jpg"]
    pkg = tmp_path / "pkg"
    run(home, "evidence", "export", made, "--plain-media", "--out", str(pkg))
    manifest = json.loads((pkg / "manifest.json").read_text("utf-8"))
    (item,) = manifest["items"]
    (rel,) = item["relations"]
    assert rel["kind"] == "source_photo" and rel["role"] == "taken_from"
    assert rel["related_item"] == her and rel["request"]["author"] == "의뢰인"
    assert rel["related_sightings"][0]["room"] == "합성방"
    html = " ".join((pkg / "report.html").read_text("utf-8").split())
    assert her in html and "의뢰인" in html
    assert "this face was taken from" in html and "이 얼굴은" in html
    if shutil.which("sha256sum"):
        check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=pkg, capture_output=True)
        assert check.returncode == 0, check.stdout
    case = json.loads(run(home, "case", "new", "--person", "p3", "--json").stdout)["id"]
    out = tmp_path / "police"
    report = json.loads(
        run(home, "report", "police", str(case), "--out", str(out), "--json").stdout
    )
    lines = {i["sha256"]: i["relations"] for i in report["items"]}
    assert any(r["related_item"] == her and "request" in r["en"] for r in lines[made])
    police = " ".join((out / "report.html").read_text("utf-8").split())
    assert her in police and "의뢰인" in police and "합성방" in police
    assert "INTACT" in run(home, "evidence", "verify").stdout


@pytest.mark.slow  # two scans, about 10 s
def test_a_request_photo_scanned_after_the_fake_is_still_found_to_be_its_source(
    tmp_path: Path,
) -> None:
    """The fake reached the counsellor first (a folder she was sent); the room where the photo
    was asked for is exported later. The photo, once scanned, is compared with the fake."""
    _export(tmp_path / "export", "이 사람으로 합성해 주세요")
    sent = tmp_path / "sent"
    sent.mkdir()
    shutil.move(tmp_path / "export" / "photos" / "made.jpg", sent / "made.jpg")
    doc = json.loads((tmp_path / "export" / "result.json").read_text("utf-8"))
    doc["messages"] = [m for m in doc["messages"] if m.get("photo") != "photos/made.jpg"]
    (tmp_path / "export" / "result.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    home = tmp_path / "h"
    made = _scan(home, sent)["made.jpg"]
    assert not _sources(home, made)  # nothing to compare with yet
    out = run(home, "scan", "--json", "--no-progress", str(tmp_path / "export")).stdout
    her = {Path(o["path"]).name: o["sha256"] for o in map(json.loads, out.splitlines())}["her.jpg"]
    (taken,) = _sources(home, made)
    src = taken["source_photo"]
    assert src["related_item"] == her and src["source_kind"] == "request"
    assert src["request"]["author"] == "의뢰인" and src["pixel_agreement"] >= 0.95
