"""Evidence from every source, through the real CLI: an item seen only in a Telegram export
(JSON or HTML) or a WARC is captured, verified and exported; an export where one item cannot
be read still completes and names it; a live chat's item is preserved from memory while the
watcher holds it."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import jpeg_bytes, noise_image, person_consent, run
from fake_telegram import FakeTelegram, photo_message
from tdesktop_html import write_html_chat
from telegram_exports import write_media_export
from warc_files import write_warc

from haechi.config import Settings
from haechi.evidence.capture import NoReadableCopyError, capture_item
from haechi.evidence.context import open_vault
from haechi.persons.enrol import enrol
from haechi.services.watch import watch_telegram
from haechi.store.db import Database
from haechi.store.evidence_models import EvidenceItem


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _capture_verify_export(home: Path, tmp: Path, items: dict[str, bytes]) -> list[dict[str, Any]]:
    """`evidence capture` each item (by SHA-256), `verify`, `export` them with plain media; the
    package's manifest items, each checked against the bytes it should carry."""
    cap = run(home, "evidence", "capture", *items)
    for sha in items:
        assert f"{sha}  preserved" in cap.stdout, cap.stdout + cap.stderr
    assert "INTACT" in run(home, "evidence", "verify").stdout
    pkg = tmp / "pkg"
    run(home, "evidence", "export", *items, "--to", str(pkg), "--plain-media")
    manifest = json.loads((pkg / "manifest.json").read_text())
    assert [i["sha256"] for i in manifest["items"]] == list(items)
    for it in manifest["items"]:
        assert it["preserved"] is True
        assert (pkg / it["media_file"]).read_bytes() == items[it["sha256"]]
    return list(manifest["items"])


@pytest.mark.slow
def test_items_seen_only_in_json_and_html_exports_are_captured_and_exported(
    tmp_path: Path,
) -> None:
    photo = jpeg_bytes(noise_image(31))
    json_root = tmp_path / "ChatExport_json"
    files = write_media_export(json_root, photo)
    html_root = tmp_path / "ChatExport_html"
    write_html_chat(html_root, base="", media_prefix="", title="Leak Room")
    html_photo = jpeg_bytes(noise_image(32))
    (html_root / "photos" / "photo_1@12-03-2024_21-06-00.jpg").write_bytes(html_photo)
    home = tmp_path / "h"
    run(home, "scan", str(json_root), str(html_root))

    voice = files["voice_messages/audio_1@01-03-2024_10-00-00.ogg"]
    wanted = {_sha(photo): photo, _sha(html_photo): html_photo, _sha(voice): voice}
    json_item, html_item, voice_item = _capture_verify_export(home, tmp_path, wanted)
    assert json_item["sightings"][0]["path"].endswith("ChatExport_json#4242/10/photos/t.jpg")
    assert html_item["sightings"][0]["room"] == "."
    assert voice_item["kind"] == "audio"  # a voice message is evidence too


@pytest.mark.slow
def test_an_item_seen_only_in_a_warc_is_captured_and_exported(tmp_path: Path) -> None:
    warc = tmp_path / "page.warc.gz"
    pics = write_warc(warc, gz=True)
    home = tmp_path / "h"
    run(home, "scan", str(warc))
    (item,) = _capture_verify_export(home, tmp_path, {_sha(pics["c"]): pics["c"]})
    assert item["sightings"][0]["url"] == "http://ex.org/c.jpg"


@pytest.mark.slow
def test_an_export_with_an_unreadable_item_completes_and_names_it(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    good, lost, never = (jpeg_bytes(noise_image(i)) for i in (41, 42, 43))
    for name, data in (("good.jpg", good), ("lost.jpg", lost), ("never.jpg", never)):
        (src / name).write_bytes(data)
    home = tmp_path / "h"
    run(home, "scan", str(src))
    run(home, "evidence", "capture", _sha(good), _sha(lost))
    # The vault copy of one item is deleted, and so is every place it was seen; a third item
    # was never preserved and its file is gone too.
    blob = next((home / "vault").rglob(f"{_sha(lost)}.enc"))
    blob.unlink()
    (src / "lost.jpg").unlink()
    (src / "never.jpg").unlink()
    shas = [_sha(good), _sha(lost), _sha(never)]

    pkg = tmp_path / "pkg"
    exp = run(home, "evidence", "export", *shas, "--to", str(pkg), "--plain-media")
    assert "evidence package written" in exp.stdout and "items: 1" in exp.stdout
    assert f"left out {_sha(lost)}: its copy is missing from the vault" in exp.stderr
    assert f"left out {_sha(never)}: no readable copy" in exp.stderr
    assert f"{src}/never.jpg (gone: no such file)" in exp.stderr
    manifest = json.loads((pkg / "manifest.json").read_text())
    assert [i["sha256"] for i in manifest["items"]] == [_sha(good)]
    assert {x["sha256"] for x in manifest["left_out"]} == {_sha(lost), _sha(never)}
    assert "Items left out" in (pkg / "report.html").read_text()

    # Hashes and sightings only: the unreadable items are still listed, marked as such.
    bare = tmp_path / "bare"
    exp2 = run(home, "evidence", "export", *shas, "--to", str(bare), "--no-media")
    assert "items: 3" in exp2.stdout and "listed without a preserved copy" in exp2.stderr
    listed = json.loads((bare / "manifest.json").read_text())["items"]
    assert {i["sha256"]: i["preserved"] for i in listed} == {
        _sha(good): True, _sha(lost): False, _sha(never): False,
    }  # fmt: skip
    # `verify` still names the lost copy: leaving it out of a package hides nothing.
    verify = run(home, "evidence", "verify", check=False)
    assert verify.returncode == 5 and f"blob {_sha(lost)}: missing" in verify.stdout


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_live_item_with_a_finding_is_preserved_from_memory(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    mine = jpeg_bytes(noise_image(51, (640, 480)), 92)
    other = jpeg_bytes(noise_image(52, (640, 480)), 92)
    own = tmp_path / "own.jpg"
    own.write_bytes(mine)
    enrol(db, settings, "p1", person_consent("match own files"), [], own_media=[own])
    own.unlink()
    tg = FakeTelegram()
    tg.add(photo_message(1, mine), mine)
    tg.add(photo_message(2, other), other)
    watch_telegram(db, settings, lambda: tg, chats=["@room"], once=True)

    # The matched photo went into the vault while the watcher held its bytes; nothing else.
    with db.session() as s:
        assert list(s.scalars(EvidenceItem.__table__.select().with_only_columns(
            EvidenceItem.sha256))) == [_sha(mine)]  # fmt: skip
    assert open_vault(settings).read_bytes(_sha(mine)) == mine
    # The other one can no longer be read: the capture says why, and what to do.
    with pytest.raises(NoReadableCopyError, match=r"not kept.*fetch the message again"):
        capture_item(db, settings, _sha(other), "u")


@pytest.mark.slow
def test_scan_summary_counts_findings_and_what_was_preserved(tmp_path: Path) -> None:
    mine = jpeg_bytes(noise_image(61, (640, 480)), 92)
    own = tmp_path / "own.jpg"
    own.write_bytes(mine)
    corpus = tmp_path / "collected"
    corpus.mkdir()
    shutil.copy(own, corpus / "copy.jpg")
    (corpus / "other.jpg").write_bytes(jpeg_bytes(noise_image(62)))
    home = tmp_path / "h"
    consent = ["--consent", "yes", "--consent-by", "person_01", "--scope", "own files"]
    run(home, "enrol", "--alias", "p", *consent, "--own-media", str(own))
    first = run(home, "scan", str(corpus))
    assert "1 new finding(s) in 1 item(s)" in first.stdout
    assert "1 of them preserved automatically in the evidence vault" in first.stdout
    assert "new findings: none" in run(home, "scan", str(corpus)).stdout
