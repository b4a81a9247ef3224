"""What a volunteer points `haechi scan` at, through the real CLI: one media file, a folder
holding several Telegram exports (any JSON name, found by content), and exports and folders
full of voice messages, stickers, SVG and documents, which are items, not errors."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import jpeg_bytes, noise_image, run, write_video
from tdesktop_html import write_html_chat
from telegram_exports import OTHER_FILES, write_media_export

from haechi.config import Settings
from haechi.scan import scan_paths
from haechi.store.db import Database


def _items(home: Path, *args: str) -> list[dict[str, Any]]:
    out = run(home, "items", "--json", *args).stdout
    return [json.loads(x) for x in out.splitlines()]


@pytest.mark.slow
def test_one_file_of_each_kind_is_scanned_on_its_own(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    write_video(clip, 1.0)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_bytes(noise_image(1)))
    voice = tmp_path / "voice.ogg"
    voice.write_bytes(b"OggS\x00\x02" + bytes(500))
    doc = tmp_path / "notes.pdf"
    doc.write_bytes(b"%PDF-1.4\n%%EOF\n")
    home = tmp_path / "h"
    scan = run(home, "scan", str(clip), str(photo), str(voice), str(doc))
    assert "not a folder" not in scan.stderr
    kinds = {Path(i["path"]).name: i["kind"] for i in _items(home)}
    assert kinds == {
        "clip.mp4": "video", "photo.jpg": "image", "voice.ogg": "audio", "notes.pdf": "document",
    }  # fmt: skip
    # Anything else is still refused, with the reason.
    (tmp_path / "notes.txt").write_text("hello")
    refused = run(home, "scan", str(tmp_path / "notes.txt"), check=False)
    assert refused.returncode == 3
    assert "not a folder, archive, export or media file haechi can read" in refused.stderr


@pytest.mark.slow
def test_a_folder_of_exports_is_scanned_as_each_export(tmp_path: Path) -> None:
    coll = tmp_path / "collection"
    write_media_export(coll / "2024-01 ChatExport", jpeg_bytes(noise_image(11)), chat_id=1001)
    # Telegram names a group's JSON result_group.json in some versions; volunteers rename.
    write_media_export(
        coll / "2024-02 ChatExport",
        jpeg_bytes(noise_image(12)),
        chat_id=1002,
        name="result_group.json",
    )
    html = coll / "html" / "ChatExport_2024-03"
    write_html_chat(html, base="", media_prefix="", title="Leak Room")
    (html / "photos" / "photo_1@12-03-2024_21-06-00.jpg").write_bytes(jpeg_bytes(noise_image(13)))
    (coll / "loose.jpg").write_bytes(jpeg_bytes(noise_image(14)))
    (coll / "settings.json").write_text('{"theme": "dark", "messages_per_page": 50}')

    home = tmp_path / "h"
    scan = run(home, "scan", str(coll))
    assert (
        f"found 3 Telegram exports in {coll}: 2024-01 ChatExport, 2024-02 ChatExport, "
        "html/ChatExport_2024-03"
    ) in scan.stderr
    rooms = {
        r["id"] for r in (json.loads(x) for x in run(home, "rooms", "--json").stdout.splitlines())
    }
    assert rooms == {"1001", "1002", "."}
    sightings = [sg for item in _items(home) for sg in item["sightings"]]
    # Export media carry their room and message; only the loose photo is a plain folder file,
    # and nothing inside an export is read a second time as a folder file.
    folder = [sg["path"] for sg in sightings if sg["source_kind"] == "folder"]
    assert folder == [f"{coll}/loose.jpg"]
    assert all(sg["room"] for sg in sightings if sg["source_kind"] == "telegram_export")
    assert len(sightings) == 2 * (1 + len(OTHER_FILES)) + 1 + 1


@pytest.mark.slow
def test_voice_stickers_svg_and_documents_are_items_not_errors(tmp_path: Path) -> None:
    export = tmp_path / "ChatExport"
    files = write_media_export(export, jpeg_bytes(noise_image(21)))
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "memo.m4a").write_bytes(b"\x00\x00\x00\x18ftypM4A \x00\x00\x02\x00" + bytes(200))
    (folder / "logo.svg").write_bytes(OTHER_FILES["files/drawing.svg"][0] + b"<!-- 2 -->")
    (folder / "style.css").write_text("body { color: red }")  # not evidence: skipped
    with zipfile.ZipFile(folder / "bundle.zip", "w") as zf:
        zf.writestr("report.hwp", b"\xd0\xcf\x11\xe0" + bytes(100))
    home = tmp_path / "h"
    scan = run(home, "scan", str(export), str(folder))
    assert "unsupported format" not in scan.stdout + scan.stderr
    assert _items(home, "--errors") == []
    audio = {Path(i["path"]).name: i for i in _items(home, "--kind", "audio")}
    docs = {Path(i["path"]).name: i for i in _items(home, "--kind", "document")}
    assert set(audio) == {"audio_1@01-03-2024_10-00-00.ogg", "song.mp3", "memo.m4a"}
    assert set(docs) == {
        "sticker.tgs",
        "drawing.svg",
        "notes.pdf",
        "logo.svg",
        "bundle.zip!report.hwp",
    }
    voice = audio["audio_1@01-03-2024_10-00-00.ogg"]
    assert (
        voice["format"] == "ogg"
        and voice["md5"]
        and voice["size"] == len(files["voice_messages/audio_1@01-03-2024_10-00-00.ogg"])
    )
    assert voice["sightings"][0]["message_id"] and voice["width"] is None
    assert docs["drawing.svg"]["format"] == "svg" and docs["drawing.svg"]["pdq"] is None
    bad = run(home, "items", "--kind", "sound", check=False)
    assert bad.returncode == 3 and "kinds: image, video, audio, document" in bad.stderr


def test_audio_and_documents_are_complete_once_hashed(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    export = tmp_path / "ChatExport"
    write_media_export(export, jpeg_bytes(noise_image(22)))
    (first,) = scan_paths(db, settings, [export])
    assert (first.new_items, first.errors) == (1 + len(OTHER_FILES), 0)
    (again,) = scan_paths(db, settings, [export])
    assert again.unchanged == again.seen == first.seen  # nothing decoded or stored again
