"""Telegram Desktop exports through the whole scan: recognised, messages stored once per room
and id, media sighted with where and when, refused paths reported per file, faults positioned,
and a killed scan resumed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import TESTDATA, haechi, jpeg_bytes, kill_scan_after_batch, noise_image
from sqlalchemy import func, select
from tdesktop_html import write_html_chat
from telegram_exports import write_big_export

from haechi.config import Settings, load_settings
from haechi.scan import scan_paths
from haechi.sources import load_registry
from haechi.sources.telegram_export import TelegramExportSource
from haechi.store.db import Database
from haechi.store.models import ItemError, Message, Room, Scan, Sighting


def _exports() -> list[Path]:
    root = TESTDATA / "telegram"
    return sorted(root.glob("*/*.json")) if root.is_dir() else []


def _json_count(path: Path) -> dict[str, int]:
    """Messages per chat by json.load (independent of the streaming reader)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    chats = [data] if "messages" in data else []
    for section in ("chats", "left_chats"):
        chats.extend(data.get(section, {}).get("list", []))
    return {
        str(c["id"]) if "id" in c else f"#{i}": sum(
            1 for m in c["messages"] if m.get("type") in ("message", "service")
        )
        for i, c in enumerate(chats, start=1)
    }


def _stored(db: Database) -> dict[str, int]:
    with db.session() as s:
        rows = s.execute(
            select(Room.room_key, func.count(Message.id))
            .join(Message, Message.room_id == Room.id)
            .group_by(Room.room_key)
        )
        return {k: n for k, n in rows}


def _msg(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": i,
        "type": "message",
        "date": "2024-03-12T21:04:11",
        "date_unixtime": str(1710245051 + i),
        "from": "Seller",
        "from_id": "user42",
        "text": f"message {i}",
        **extra,
    }


def _export(root: Path, messages: list[dict[str, Any]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    doc = {"name": "Room", "type": "private_supergroup", "id": 555, "messages": messages}
    (root / "result.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1))
    return root


@pytest.mark.parametrize("path", _exports(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shared_export_scans_with_counts_matching_the_file(
    path: Path, settings: Settings, db: Database
) -> None:
    if path.name == "target.json":  # chat-miner's expected output: a list, not an export
        assert not TelegramExportSource.recognises(path)
        return
    source = load_registry().open(path, settings)
    assert source.kind == "telegram_export"
    (summary,) = scan_paths(db, settings, [path])
    assert summary.errors == 0, summary.error_lines
    expected = _json_count(path)
    assert _stored(db) == expected
    assert summary.messages == sum(expected.values()) and summary.rooms == len(expected)
    again = scan_paths(db, settings, [path])[0]  # a rescan stores nothing twice
    assert again.messages == summary.messages and _stored(db) == expected


def test_shared_exports_are_present() -> None:
    assert len(_exports()) == 6


def test_an_export_folder_is_an_export_not_a_folder(tmp_path: Path, settings: Settings) -> None:
    root = _export(tmp_path / "ChatExport", [_msg(1)])
    assert load_registry().open(root, settings).kind == "telegram_export"
    assert load_registry().open(root / "result.json", settings).kind == "telegram_export"
    (tmp_path / "plain").mkdir()
    assert load_registry().open(tmp_path / "plain", settings).kind == "folder"


def test_media_sighted_with_room_message_author_and_forward(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    root = tmp_path / "ChatExport"
    (root / "photos").mkdir(parents=True)
    (root / "photos" / "p1.jpg").write_bytes(jpeg_bytes(noise_image(1)))
    not_included = "(File not included. Change data exporting settings to download.)"
    _export(
        root,
        [
            _msg(1, photo="photos/p1.jpg", text="사진 올립니다", forwarded_from="Origin Channel"),
            _msg(2, file=not_included, media_type="video_file", reply_to_message_id=1),
            _msg(3, photo="photos/gone.jpg"),  # named by the export, missing from the folder
            {
                "id": 4,
                "type": "service",
                "date_unixtime": "1710245100",
                "actor": "Seller",
                "actor_id": "user42",
                "action": "invite_members",
                "members": ["Buyer"],
                "text": "",
            },
        ],
    )
    (summary,) = scan_paths(db, settings, [root])
    assert (summary.seen, summary.errors, summary.messages, summary.media_missing) == (1, 0, 4, 2)
    with db.session() as s:
        (sg,) = s.scalars(select(Sighting)).all()
        msgs = {m.message_id: m for m in s.scalars(select(Message))}
    assert sg.locator == "555/1/photos/p1.jpg"
    assert (sg.room, sg.message_id, sg.poster, sg.forwarded_from, sg.context) == (
        "555", "1", "user42", "Origin Channel", "사진 올립니다",
    )  # fmt: skip
    assert sg.posted_at is not None and sg.posted_at.timestamp() == 1710245052
    assert msgs[2].media == [
        {"path": not_included, "type": "video_file", "mime": None, "status": "not_included"}
    ]
    assert msgs[2].reply_to == 1 and msgs[2].media_missing == 1
    assert msgs[3].media is not None and msgs[3].media[0]["status"] == "absent"
    assert (msgs[4].kind, msgs[4].action, msgs[4].members, msgs[4].author_id) == (
        "service", "invite_members", ["Buyer"], "user42",
    )  # fmt: skip


def test_paths_escaping_the_export_are_refused_per_file(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(jpeg_bytes(noise_image(9)))
    root = tmp_path / "export"
    (root / "photos").mkdir(parents=True)
    (root / "photos" / "ok.jpg").write_bytes(jpeg_bytes(noise_image(2)))
    (root / "photos" / "link.jpg").symlink_to(outside / "secret.jpg")
    _export(
        root,
        [
            _msg(1, photo="photos/ok.jpg"),
            _msg(2, photo="../outside/secret.jpg"),
            _msg(3, photo=str(outside / "secret.jpg")),
            _msg(4, photo="photos/link.jpg"),
            _msg(5, photo="photos/../../outside/secret.jpg"),
            _msg(6, photo="C:\\Windows\\secret.jpg"),
            _msg(7, text="still read"),
        ],
    )
    (summary,) = scan_paths(db, settings, [root])
    assert summary.messages == 7 and summary.new_items == 1
    with db.session() as s:
        errors = {e.locator: e.reason for e in s.scalars(select(ItemError))}
        sighted = s.scalars(select(Sighting.locator)).all()
        statuses = {
            m.message_id: m.media[0]["status"] for m in s.scalars(select(Message)) if m.media
        }
    assert sighted == ["555/1/photos/ok.jpg"]
    assert sorted(errors) == [f"result.json@message {i}" for i in (2, 3, 4, 5, 6)]
    assert all("outside the export folder" in r for r in errors.values())
    assert statuses == {1: "present", 2: "refused", 3: "refused", 4: "refused", 5: "refused",
                        6: "refused"}  # fmt: skip


def test_truncated_json_keeps_earlier_messages_and_names_the_byte(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    root = _export(tmp_path / "export", [_msg(i) for i in range(1, 101)])
    data = (root / "result.json").read_bytes()
    cut = data.index(b'"id": 61,')
    (root / "result.json").write_bytes(data[:cut])
    (summary,) = scan_paths(db, settings, [root])
    assert summary.messages == 60 and summary.errors == 1
    with db.session() as s:
        (err,) = s.scalars(select(ItemError)).all()
    assert err.locator == f"result.json@byte {cut}"
    assert "invalid JSON" in err.reason and "message 60 of room 555" in err.reason


def test_html_export_scans_like_json(tmp_path: Path, settings: Settings, db: Database) -> None:
    root = tmp_path / "ChatExport_2024-03-14"
    write_html_chat(root, base="", media_prefix="", title="Leak Room")
    photo = root / "photos" / "photo_1@12-03-2024_21-06-00.jpg"
    photo.write_bytes(jpeg_bytes(noise_image(3)))
    (summary,) = scan_paths(db, settings, [root])
    assert summary.kind == "telegram_export" and summary.new_items == 1
    assert summary.errors == 1  # messages2.html's crafted link outside the export
    with db.session() as s:
        (room,) = s.scalars(select(Room)).all()
        sg = s.scalars(select(Sighting)).one()
    assert (room.room_key, room.name) == (".", "Leak Room")
    assert sg.room == "." and sg.poster == "Bob" and sg.message_id is not None


def test_scan_and_rooms_json_through_the_cli(tmp_path: Path) -> None:
    root = tmp_path / "export"
    (root / "photos").mkdir(parents=True)
    (root / "photos" / "a.jpg").write_bytes(jpeg_bytes(noise_image(4)))
    _export(root, [_msg(1, photo="photos/a.jpg"), _msg(2, photo="../../etc/passwd")])
    home = tmp_path / "h"
    proc = haechi(home, "scan", str(root), "--json")
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    by_status = {x["status"]: x for x in lines}
    assert set(by_status) == {"new", "error"}
    assert by_status["new"]["sightings"][0]["room"] == "555"
    assert by_status["new"]["sightings"][0]["message_id"] == "1"
    assert "outside the export folder" in by_status["error"]["error"]
    assert "2 in 1 room" in proc.stderr
    rooms = [json.loads(x) for x in haechi(home, "rooms", "--json").stdout.splitlines()]
    (room,) = rooms
    assert {k: room[k] for k in ("id", "name", "kind", "messages", "media")} == {
        "id": "555", "name": "Room", "kind": "private_supergroup", "messages": 2, "media": 2,
    }  # fmt: skip
    assert isinstance(room["risk"], float) and isinstance(room["reasons"], list)


@pytest.mark.sqlite_only
def test_a_killed_export_scan_resumes_with_every_message_once(tmp_path: Path) -> None:
    root = tmp_path / "export"
    _path, count = write_big_export(root, 2 * 1024 * 1024)
    assert count > 3 * 1000  # batches of 1000 messages: the kill after the second leaves some
    home = tmp_path / "home"
    kill_scan_after_batch(home, root, workers=1, batch=2)
    settings = load_settings(home=home, workers=1)
    db = Database(settings)
    with db.session() as s:
        before = s.scalar(select(func.count()).select_from(Message)) or 0
    assert 0 < before < count
    (summary,) = scan_paths(db, settings, [root])
    assert summary.messages == count
    with db.session() as s:
        stored = s.scalar(select(func.count()).select_from(Message))
        distinct = s.scalar(select(func.count(func.distinct(Message.message_id))))
        statuses = s.scalars(select(Scan.status).order_by(Scan.id)).all()
        resumed_ids = s.scalars(
            select(Message.message_id).where(Message.scan_id == summary.scan_id)
        ).all()
    assert stored == distinct == count
    assert statuses == ["interrupted", "completed"]
    assert min(resumed_ids) >= before  # committed work was not redone
    db.close()
