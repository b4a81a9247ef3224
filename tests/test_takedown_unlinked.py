"""A case item posted in a supergroup and in a basic group: the supergroup's message gets a
request (t.me/c link); the basic group's has no link Telegram would open, and the counsellor is
told which room and message to report from inside the app, not left to assume one request
covers every place (found walking the counsellor's path: the quiet room vanished from view).
The same walk's `findings` table, at 100 columns, showed "fac…" and "be6…" in every cell."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from conftest import enrol_her, haechi, run
from conftest import testdata as shared_file


def _message(n: int, author: str, uid: str, photo: str | None, text: str = "") -> dict[str, Any]:
    msg: dict[str, Any] = {
        "id": n,
        "type": "message",
        "date": f"2026-11-0{n}T21:00:00",
        "date_unixtime": str(1793998800 + n * 60),
        "from": author,
        "from_id": uid,
        "text": text,
    }
    if photo:
        msg |= {"photo": photo, "width": 400, "height": 400}
    return msg


def _export(root: Path) -> None:
    for chat in ("chat_01", "chat_02"):
        (root / "chats" / chat / "photos").mkdir(parents=True)
        shutil.copy(shared_file("faces", "img11.jpg"), root / "chats" / chat / "photos" / "p.jpg")
    chats = [
        {
            "name": "판매방",
            "type": "private_supergroup",
            "id": 1001,
            "messages": [
                _message(1, "판매자", "user12", None, "풀버전 문상 3만원"),
                _message(2, "제작자", "user11", "chats/chat_01/photos/p.jpg"),
            ],
        },
        {
            "name": "조용한 방 \u202e",
            "type": "private_group",
            "id": 1002,
            "messages": [_message(3, "조용한사람", "user13", "chats/chat_02/photos/p.jpg")],
        },
    ]
    (root / "result.json").write_text(
        json.dumps({"about": "", "chats": {"about": "", "list": chats}}, ensure_ascii=False),
        encoding="utf-8",
    )


def test_a_place_without_a_link_is_named_not_dropped(tmp_path: Path) -> None:
    home = tmp_path / "h"
    _export(tmp_path / "export")
    enrol_her(home)
    run(home, "scan", str(tmp_path / "export"))
    case = str(json.loads(run(home, "case", "new", "--person", "p1", "--json").stdout)["id"])

    text = run(home, "takedown", "draft", case, "--lang", "en").stdout
    assert "https://t.me/c/1001/2" in text
    assert "1 place(s) have no link a request can point to" in text
    # The room is named (its override character shown, not obeyed) with the message to report.
    assert "room 조용한 방 \\u202e (1002), message 3" in text

    again = json.loads(run(home, "takedown", "draft", case, "--lang", "en", "--json").stdout)
    assert again["drafted"] == []  # the linked place has its request already
    assert [e["location"] for e in again["existing"]] == ["https://t.me/c/1001/2"]
    (place,) = again["unlinked"]
    assert (place["room"], place["message_id"], place["source_kind"]) == (
        "1002",
        "3",
        "telegram_export",
    )
    assert (
        place["item"] == hashlib.sha256(shared_file("faces", "img11.jpg").read_bytes()).hexdigest()
    )


def test_findings_fit_a_narrow_terminal_and_show_everything_in_a_wide_one(tmp_path: Path) -> None:
    home = tmp_path / "h"
    _export(tmp_path / "export")
    enrol_her(home)
    run(home, "scan", str(tmp_path / "export"))
    sha = hashlib.sha256(shared_file("faces", "img11.jpg").read_bytes()).hexdigest()

    narrow = haechi(home, "findings", env={"COLUMNS": "100"}).stdout
    assert sha[:12] in narrow  # the item's prefix is whole, not "c79…"
    assert "face_match" not in narrow and "box" not in narrow
    assert max(len(line) for line in narrow.splitlines()) <= 100

    wide = haechi(home, "findings", env={"COLUMNS": "200"}).stdout
    assert "face_match" in wide and "box" in wide and sha[:12] in wide
