"""The Telegram Desktop export reader: real export structures, hand-written fixtures after
tdesktop's own writers, path escapes, broken JSON, HTML, resume, and streaming memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import TESTDATA as DATA_ROOT
from tdesktop_html import HTML_HEAD, HTML_TAIL, default_message, text_div, write_html_chat
from telegram_exports import write_big_export

from haechi.sources import tdesktop as te
from haechi.sources.chat import ChatMessage, ChatRoom

TESTDATA = DATA_ROOT / "telegram"
NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"


def _testdata_files() -> list[Path]:
    if not TESTDATA.is_dir():
        return []
    return sorted(TESTDATA.glob("*/*.json"))


def _independent_count(path: Path) -> tuple[dict[str, int], int]:
    """Messages per chat with json.load (the whole file at once), counting
    the two real message types; 'unsupported' placeholders carry nothing."""
    data = json.loads(path.read_text(encoding="utf-8"))
    chats: list[dict[str, Any]] = []
    if "messages" in data:
        chats.append(data)
    for section in ("chats", "left_chats"):
        chats.extend(data.get(section, {}).get("list", []))
    per_chat: dict[str, int] = {}
    for index, chat in enumerate(chats, start=1):
        key = str(chat["id"]) if "id" in chat else f"#{index}"
        per_chat[key] = sum(1 for m in chat["messages"] if m.get("type") in ("message", "service"))
    return per_chat, len(chats)


def _write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def _msg(i: int, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": i,
        "type": "message",
        "date": "2024-03-12T21:04:11",
        "date_unixtime": str(1710245051 + i),
        "from": "Alice",
        "from_id": "user1",
        "text": f"message {i}",
        "text_entities": [{"type": "plain", "text": f"message {i}"}],
    }
    base.update(extra)
    return base


def _single(messages: list[dict[str, Any]], chat_id: int = 555) -> dict[str, Any]:
    return {"name": "Room", "type": "private_supergroup", "id": chat_id, "messages": messages}


# --------------------------------------------------------------------------
# Real sample exports
# --------------------------------------------------------------------------


@pytest.mark.skipif(not _testdata_files(), reason="shared testdata not present")
@pytest.mark.parametrize("path", _testdata_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sample_exports_parse_without_problems(path: Path) -> None:
    info = te.detect_export(path)
    if path.name == "target.json":  # chat-miner's expected output, not an export
        assert info is None
        return
    assert info is not None
    problems: list[te.ParseProblem] = []
    messages = list(te.iter_messages(path, problems=problems))
    assert problems == []
    expected, chat_count = _independent_count(path)
    got: dict[str, int] = {}
    for message in messages:
        got[message.room.id] = got.get(message.room.id, 0) + 1
        assert message.date.tzinfo is not None
        assert message.date.utcoffset() == timedelta(0)
        assert message.kind in ("message", "service")
    assert got == {k: v for k, v in expected.items() if v}
    assert len(expected) == chat_count


def test_detect_formats(tmp_path: Path) -> None:
    single = _write(tmp_path / "a" / "result.json", _single([_msg(1)]))
    info = te.detect_export(single.parent)
    assert info is not None and info.format == "json_single" and info.root == single.parent
    account = _write(
        tmp_path / "b" / "result.json",
        {"about": "x", "personal_information": {"user_id": 1}, "chats": {"list": []}},
    )
    assert (te.detect_export(account) or pytest.fail()).format == "json_account"
    _write(tmp_path / "c" / "result.json", [1, 2, 3])
    assert te.detect_export(tmp_path / "c") is None
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "notes.txt").write_text("hello")
    assert te.detect_export(tmp_path / "d") is None
    assert te.detect_export(tmp_path / "missing") is None
    garbage = tmp_path / "e" / "result.json"
    garbage.parent.mkdir()
    garbage.write_bytes(os.urandom(4096))
    assert te.detect_export(garbage.parent) is None


@pytest.mark.skipif(not TESTDATA.is_dir(), reason="shared testdata not present")
def test_full_account_export_yields_all_chats() -> None:
    path = TESTDATA / "chat-analytics_multichat_export" / "result.json"
    messages = list(te.iter_messages(path.parent, problems=[]))
    rooms = {m.room for m in messages}
    assert rooms == {
        ChatRoom("700000001", "Chat One", "personal_chat"),
        ChatRoom("700000002", "Chat Two", "private_group"),
    }
    call = next(m for m in messages if m.id == 2003)
    assert call.kind == "service" and call.action == "phone_call"
    assert (call.author_id, call.author_name) == ("user800000000", "Charlie")
    photo = next(m for m in messages if m.id == 2004)
    assert photo.media[0].status == "not_included" and photo.media[0].path is None


def test_account_export_with_left_chats_and_saved_messages(tmp_path: Path) -> None:
    data = {
        "personal_information": {"user_id": 1},
        "chats": {
            "about": "",
            "list": [
                {"type": "saved_messages", "id": 1, "messages": [_msg(1), _msg(2)]},
                {"name": "G", "type": "private_group", "id": 2, "messages": [_msg(7)]},
            ],
        },
        "left_chats": {
            "about": "",
            "list": [{"name": "Gone", "type": "public_channel", "id": 3, "messages": [_msg(9)]}],
        },
    }
    _write(tmp_path / "result.json", data)
    got = [(m.room, m.id) for m in te.iter_messages(tmp_path, problems=[])]
    assert got == [
        (ChatRoom("1", "", "saved_messages"), 1),
        (ChatRoom("1", "", "saved_messages"), 2),
        (ChatRoom("2", "G", "private_group"), 7),
        (ChatRoom("3", "Gone", "public_channel"), 9),
    ]


# --------------------------------------------------------------------------
# Field mapping
# --------------------------------------------------------------------------


def test_entities_flattened(tmp_path: Path) -> None:
    text = [
        "Join ",
        {"type": "bold", "text": "now"},
        ": ",
        {"type": "link", "text": "https://example.org/a"},
        " or ",
        {"type": "text_link", "text": "this", "href": "https://t.me/+AbCd"},
        " ",
        {"type": "mention", "text": "@seller"},
        {"type": "pre", "text": "x = 1\ny", "language": "python"},
        {"type": "email", "text": "a@b.c"},
    ]
    entities = [e if isinstance(e, dict) else {"type": "plain", "text": e} for e in text]
    _write(tmp_path / "result.json", _single([_msg(1, text=text, text_entities=entities)]))
    (message,) = te.iter_messages(tmp_path, problems=[])
    assert message.text == "Join now: https://example.org/a or this @sellerx = 1\nya@b.c"
    assert message.links == ("https://example.org/a", "https://t.me/+AbCd")


@pytest.mark.skipif(not TESTDATA.is_dir(), reason="shared testdata not present")
def test_sample_entities_and_links() -> None:
    folder = TESTDATA / "chat-miner_minimal"
    messages = list(te.iter_messages(folder / "test_single_export.json", problems=[]))
    assert [m.text for m in messages] == ["Minimal Message", "Link:https://telegram.org/"]
    assert messages[1].links == ("https://telegram.org/",)
    assert [m.author_name for m in messages] == ["Author 1", "Author 2"]
    assert messages[0].date == datetime(2018, 12, 5, 10, 39, 10, tzinfo=UTC)
    personal = TESTDATA / "tkonverter_synthetic" / "result_personal.json"
    first = next(iter(te.iter_messages(personal, problems=[])))
    # 'text' is authoritative; links come from the entity list
    assert first.text == "Base text with entities"
    assert first.links == ("https://example.org",)
    assert first.reactions == 6


@pytest.mark.skipif(not TESTDATA.is_dir(), reason="shared testdata not present")
def test_forwards_replies_service_messages() -> None:
    folder = TESTDATA / "tkonverter_synthetic"
    personal = {m.id: m for m in te.iter_messages(folder / "result_personal.json", problems=[])}
    fwd = personal[2]
    assert fwd.forwarded_from == "Channel News"
    assert fwd.saved_from == "Saved Messages"
    assert fwd.reply_to == 1
    assert fwd.via_bot == "@gif"
    assert fwd.edited == datetime.fromtimestamp(1769936580, UTC)
    assert (fwd.author_id, fwd.author_name) == ("user10001", "Alice Example")
    video = personal[5].media
    assert [(m.relpath, m.media_type, m.mime_type) for m in video] == [
        ("files/video_note.mp4", "video_message", "video/mp4"),
        ("thumbs/video_note.jpg", "thumbnail", None),
    ]
    assert video[0].path == (folder / "files" / "video_note.mp4").resolve()
    unavailable = personal[22].media[0]
    assert unavailable.status == "not_included"

    group = {m.id: m for m in te.iter_messages(folder / "result_group.json", problems=[])}
    create = group[1]
    assert (create.kind, create.action, create.members) == (
        "service",
        "create_group",
        ("Alice Example", "Bob Sample"),
    )
    assert (create.author_id, create.author_name) == ("user777000", "Me")
    assert group[4].action == "invite_members" and group[4].members == ("Charlie Test",)
    joined = group[5]
    assert joined.action == "join_group_by_link"
    assert (joined.author_id, joined.author_name) == ("user10001", "Alice Example")
    assert group[25].forwarded_from == "Public Channel"
    assert group[26].reply_to == 7
    assert group[33].reactions == 5
    assert (group[41].author_id, group[41].author_name) == (None, None)  # send_payment has no actor
    assert 45 not in group  # "unsupported" placeholder is not a message
    assert group[32].media[0].status == "not_included"
    assert group[31].media[0].status == "not_included"  # exceeds maximum size


def test_old_export_without_unixtime_uses_local_tz(tmp_path: Path) -> None:
    old = _msg(1, edited="2019-05-01T12:30:00")
    del old["date_unixtime"]
    old["date"] = "2019-05-01T12:00:00"
    _write(tmp_path / "result.json", _single([old]))
    seoul = timezone(timedelta(hours=9))
    (message,) = te.iter_messages(tmp_path, problems=[], local_tz=seoul)
    assert message.date == datetime(2019, 5, 1, 3, 0, tzinfo=UTC)
    assert message.edited == datetime(2019, 5, 1, 3, 30, tzinfo=UTC)
    assert message.date.tzinfo is UTC


def test_bad_messages_reported_and_skipped(tmp_path: Path) -> None:
    no_date = _msg(2)
    del no_date["date"], no_date["date_unixtime"]
    _write(
        tmp_path / "result.json",
        _single([_msg(1), no_date, _msg(3, date_unixtime="soon", date="never"), _msg(4)]),
    )
    problems: list[te.ParseProblem] = []
    assert [m.id for m in te.iter_messages(tmp_path, problems=problems)] == [1, 4]
    assert [p.position for p in problems] == ["message 2", "message 3"]


def test_tdesktop_control_char_escape_is_repaired(tmp_path: Path) -> None:
    # tdesktop writes control characters as \xNN, which is not valid JSON
    raw = json.dumps(_single([_msg(1, text="PLACEHOLDER"), _msg(2)]))
    raw = raw.replace("PLACEHOLDER", "a\\x0Bb \\\\x41 c")
    (tmp_path / "result.json").write_text(raw)
    problems: list[te.ParseProblem] = []
    messages = list(te.iter_messages(tmp_path, problems=problems))
    assert problems == []
    assert messages[0].text == "a\x0bb \\x41 c"
    assert [m.id for m in messages] == [1, 2]


# --------------------------------------------------------------------------
# Path safety
# --------------------------------------------------------------------------


def _escape_export(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "export"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"secret")
    (root / "photos").mkdir(parents=True)
    (root / "photos" / "ok.jpg").write_bytes(b"ok")
    (root / "photos" / "evil.jpg").symlink_to(outside / "secret.jpg")
    (root / "photos" / "inner.jpg").symlink_to(root / "photos" / "ok.jpg")
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    messages = [
        _msg(1, photo="photos/ok.jpg"),
        _msg(2, photo="../outside/secret.jpg"),
        _msg(3, file="/etc/passwd", media_type="video_file", mime_type="video/mp4"),
        _msg(4, photo="photos/evil.jpg"),
        _msg(5, file=NOT_INCLUDED, media_type="video_file"),
        _msg(6, file="C:\\Users\\x\\secret.jpg"),
        _msg(7, photo="linkdir/secret.jpg", thumbnail="photos/inner.jpg"),
        _msg(8, photo="photos/../../outside/secret.jpg"),
        _msg(9),
    ]
    _write(root / "result.json", _single(messages))
    return root, outside


def test_path_escapes_refused_per_file(tmp_path: Path) -> None:
    root, _outside = _escape_export(tmp_path)
    problems: list[te.ParseProblem] = []
    messages = {m.id: m for m in te.iter_messages(root, problems=problems)}
    assert sorted(messages) == list(range(1, 10))  # everything else still parsed

    ok = messages[1].media[0]
    assert ok.status != "refused" and ok.path == (root / "photos" / "ok.jpg").resolve()
    for bad_id in (2, 3, 4, 6, 8):
        (ref,) = messages[bad_id].media
        assert ref.status == "refused", bad_id
        assert ref.path is None
    assert messages[3].media[0].media_type == "video_file"
    missing = messages[5].media[0]
    assert missing.status == "not_included" and missing.path is None
    escaped, inner = messages[7].media
    assert escaped.status == "refused" and escaped.path is None
    assert inner.status != "refused" and inner.path == (root / "photos" / "ok.jpg").resolve()

    assert sorted(p.position for p in problems) == [f"message {i}" for i in (2, 3, 4, 6, 7, 8)]
    assert all(p.file == root / "result.json" for p in problems)
    for m in messages.values():
        for ref in m.media:
            if ref.path is not None:
                assert ref.path.is_relative_to(root.resolve())


def test_problem_callback(tmp_path: Path) -> None:
    root, _ = _escape_export(tmp_path)
    seen: list[te.ParseProblem] = []
    count = sum(1 for _ in te.iter_messages(root, problems=seen.append))
    assert count == 9 and len(seen) == 6


# --------------------------------------------------------------------------
# Broken JSON
# --------------------------------------------------------------------------


def test_truncated_json_keeps_earlier_messages(tmp_path: Path) -> None:
    messages = [_msg(i) for i in range(1, 41)]
    full = json.dumps(_single(messages), indent=1).encode()
    cut = full.index(b'"id": 23,')  # inside message 23
    (tmp_path / "result.json").write_bytes(full[:cut])
    problems: list[te.ParseProblem] = []
    got = [m.id for m in te.iter_messages(tmp_path, problems=problems)]
    assert got == list(range(1, 23))
    (problem,) = problems
    assert problem.position == f"byte {cut}"
    assert "invalid JSON" in problem.reason and "message 22" in problem.reason


def test_invalid_byte_position_is_exact(tmp_path: Path) -> None:
    messages = [_msg(i, text="x" * 500) for i in range(1, 400)]
    full = json.dumps(_single(messages), indent=1).encode()
    where = full.index(b'"id": 300,')
    broken = full[:where] + b"@@@ " + full[where:]
    (tmp_path / "result.json").write_bytes(broken)
    problems: list[te.ParseProblem] = []
    got = [m.id for m in te.iter_messages(tmp_path, problems=problems)]
    assert got == list(range(1, 300))
    (problem,) = problems
    assert problem.position == f"byte {where}"


def test_garbage_never_raises(tmp_path: Path) -> None:
    start = json.dumps(_single([_msg(1), _msg(2)]))[:-3].encode()
    (tmp_path / "result.json").write_bytes(start + b"\xff\xfe\x00garbage" + os.urandom(200))
    problems: list[te.ParseProblem] = []
    got = [m.id for m in te.iter_messages(tmp_path, problems=problems)]
    assert got in ([1, 2], [1])
    assert len(problems) == 1 and problems[0].position.startswith("byte ")
    problems.clear()
    assert list(te.iter_messages(tmp_path / "nothing-here", problems=problems)) == []
    assert problems[0].reason == "not a Telegram Desktop export"


# --------------------------------------------------------------------------
# Resume
# --------------------------------------------------------------------------


def test_resume_after(tmp_path: Path) -> None:
    data = {
        "personal_information": {},
        "chats": {
            "list": [
                _single([_msg(i) for i in range(1, 6)], chat_id=10),
                _single([_msg(i) for i in range(1, 4)], chat_id=20),
            ]
        },
    }
    _write(tmp_path / "result.json", data)
    got = [(m.room.id, m.id) for m in te.iter_messages(tmp_path, after={"10": 3}, problems=[])]
    assert got == [("10", 4), ("10", 5), ("20", 1), ("20", 2), ("20", 3)]
    ids = [m.id for m in te.iter_messages(tmp_path, after={"10": 99, "20": 2}, problems=[])]
    assert ids == [3]


# --------------------------------------------------------------------------
# HTML exports
# --------------------------------------------------------------------------


def _check_html_chat(messages: list[ChatMessage], media_dir: Path, room: ChatRoom) -> None:
    by_id = {m.id: m for m in messages}
    assert [m.id for m in messages] == [100, 101, 102, 103, 104, 105, 106, 107, 108, 110, 109]
    assert all(m.room == room for m in messages)
    kst = timezone(timedelta(hours=9))

    create = by_id[100]
    assert create.kind == "service"
    assert create.text == "Alice created group «Leak Room» with members Bob"
    assert create.date == datetime(2024, 3, 12, tzinfo=UTC)  # day header, local_tz=UTC

    hello = by_id[101]
    assert hello.kind == "message"
    assert (hello.author_id, hello.author_name) == (None, "Alice Kim")
    assert hello.date == datetime(2024, 3, 12, 21, 4, 11, tzinfo=kst)
    assert hello.text == ("Hello & welcome https://example.org/x?a=1&b=2\nsecond line @alice x@y.z")
    assert hello.links == ("https://example.org/x?a=1&b=2",)

    joined = by_id[102]
    assert (joined.author_id, joined.author_name) == (
        None,
        "Alice Kim",
    ) and joined.text == "still Alice"

    photo = by_id[103]
    assert photo.author_name == "Bob" and photo.reply_to == 101
    (ref,) = photo.media
    assert ref.media_type == "photo" and ref.status != "refused"
    assert ref.path == (media_dir / "photos" / "photo_1@12-03-2024_21-06-00.jpg").resolve()

    fwd = by_id[104]
    assert fwd.forwarded_from == "Some Channel" and fwd.author_name == "Bob"
    assert fwd.text == "forwarded text" and fwd.media[0].media_type == "video_file"
    fwd2 = by_id[105]
    assert fwd2.forwarded_from == "Some Channel" and fwd2.author_name == "Bob"

    carol = by_id[106]
    assert carol.author_name == "Carol" and carol.via_bot == "@gifbot"
    assert carol.forwarded_from is None
    (missing,) = carol.media
    assert missing.status == "not_included" and missing.media_type == "video_file"

    doc = by_id[107]
    assert doc.author_name == "Carol" and doc.reply_to == 103
    (file_ref,) = doc.media  # the maps link is not a file
    assert (
        file_ref.media_type == "file" and file_ref.path == (media_dir / "files/doc.pdf").resolve()
    )

    invite = by_id[108]
    assert invite.kind == "service" and invite.text == "Bob invited Dave"
    assert invite.date == doc.date  # service blocks carry no time: last known
    assert invite.media[0].path == (media_dir / "photos" / "group.jpg").resolve()

    pin = by_id[110]
    assert pin.kind == "service" and pin.reply_to == 106 and pin.text == "Bob pinned this message"

    escape = by_id[109]
    assert escape.date == datetime(2024, 3, 13, 10, 0, tzinfo=UTC)  # no zone: local_tz
    assert escape.media[0].status == "refused" and escape.media[0].path is None


def test_html_single_export(tmp_path: Path) -> None:
    root = tmp_path / "ChatExport_2024-03-14"
    write_html_chat(root, base="", media_prefix="", title="Leak Room")
    info = te.detect_export(root)
    assert info is not None and info.format == "html_single"
    assert [f.name for f in info.files] == ["messages.html", "messages2.html"]
    problems: list[te.ParseProblem] = []
    messages = list(te.iter_messages(root, problems=problems))
    _check_html_chat(messages, root, ChatRoom(".", "Leak Room", ""))
    (problem,) = problems
    assert problem.file == root / "messages2.html" and "message 109" in problem.position
    assert "outside the export folder" in problem.reason


def test_html_account_export_and_page_order(tmp_path: Path) -> None:
    root = tmp_path / "DataExport"
    (root).mkdir()
    (root / "export_results.html").write_text("<html></html>")
    for n, title in ((1, "Leak Room"), (2, "Other Room")):
        folder = root / "chats" / f"chat_{n:03d}"
        write_html_chat(
            folder, base="../../", media_prefix=f"../../chats/chat_{n:03d}/", title=title
        )
    # a tenth page must sort after the second one
    chat2 = root / "chats" / "chat_002"
    (chat2 / "messages10.html").write_text(
        HTML_HEAD.format(base="../../", back="", title="Other Room")
        + default_message(500, "14.03.2024 09:00:00 UTC+09:00", text_div("late page"), name="Zed")
        + HTML_TAIL
    )
    info = te.detect_export(root)
    assert info is not None and info.format == "html_account"
    assert [f.relative_to(root).as_posix() for f in info.files] == [
        "chats/chat_001/messages.html",
        "chats/chat_001/messages2.html",
        "chats/chat_002/messages.html",
        "chats/chat_002/messages2.html",
        "chats/chat_002/messages10.html",
    ]
    problems: list[te.ParseProblem] = []
    messages = list(te.iter_messages(root, problems=problems))
    first = [m for m in messages if m.room.id == "chats/chat_001"]
    second = [m for m in messages if m.room.id == "chats/chat_002"]
    _check_html_chat(
        first, root / "chats" / "chat_001", ChatRoom("chats/chat_001", "Leak Room", "")
    )
    _check_html_chat(
        second[:-1], root / "chats" / "chat_002", ChatRoom("chats/chat_002", "Other Room", "")
    )
    assert second[-1].id == 500 and second[-1].text == "late page"
    assert len(problems) == 2  # message 109 escapes in both chats

    resumed = list(te.iter_messages(root, problems=[], after={"chats/chat_001": 104}))
    assert [m.id for m in resumed][:7] == [105, 106, 107, 108, 110, 109, 100]
    assert resumed[0].forwarded_from == "Some Channel"  # state survives skipping
    assert resumed[0].author_name == "Bob"


def test_html_tolerates_broken_markup(tmp_path: Path) -> None:
    page = (
        HTML_HEAD.format(base="", back="", title="Broken")
        + '<div class="message default clearfix" id="message1"><div class="body">'
        '<div class="pull_right date details" title="01.01.2024 10:00:00 UTC+00:00">10:00</div>'
        '<div class="from_name">A</div><div class="text">unclosed <b>bold'
        + '<div class="message default clearfix" id="message2"><div class="body">'
        '<div class="pull_right date details" title="bad date">10:00</div></div></div>'
        + '<div class="message default clearfix" id="message3"><div class="body">'
        '<div class="pull_right date details" title="01.01.2024 10:01:00">10:01</div>'
        '<div class="text">last</div></div></div></span></p>'
    )
    (tmp_path / "messages.html").write_text(page)
    problems: list[te.ParseProblem] = []
    messages = list(te.iter_messages(tmp_path, problems=problems))
    assert [m.id for m in messages] == [1, 3]
    assert messages[0].text == "unclosed bold" and messages[1].author_name == "A"
    assert len(problems) == 1 and "bad date" in problems[0].reason


# --------------------------------------------------------------------------
# Memory: streaming a large export
# --------------------------------------------------------------------------

_RSS_CHILD = """
import resource, sys
from pathlib import Path
from haechi.sources import tdesktop
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
n = sum(1 for _ in tdesktop.iter_messages(Path(sys.argv[1]), problems=[]))
print(n, base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.slow
def test_streaming_memory_stays_small(tmp_path: Path) -> None:
    """~50 MB result.json: Python allocations peak stays a few MiB (json.load
    would need ~10x the file size).  Timing is reported in REPORT.md."""
    path, count = write_big_export(tmp_path, 50 * 1024 * 1024)
    size = path.stat().st_size
    assert size > 50 * 1024 * 1024

    out = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, str(tmp_path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
    )
    parsed, base_kb, peak_kb = (int(x) for x in out.stdout.split())
    assert parsed == count
    assert (peak_kb - base_kb) * 1024 < 32 * 1024 * 1024  # < 32 MiB growth for 50 MB

    sample = 20_000  # tracemalloc makes parsing ~5x slower: trace a prefix
    tracemalloc.start()
    try:
        for seen, _message in enumerate(te.iter_messages(tmp_path, problems=[]), start=1):
            if seen == sample:
                break
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024


def test_missing_comma_position_points_at_the_fault(tmp_path: Path) -> None:
    messages = [_msg(i) for i in range(1, 200)]
    full = json.dumps(_single(messages), indent=1).encode()
    where = full.index(b'"date"', full.index(b'"id": 150,'))
    comma = full.rindex(b",", 0, where)
    broken = full[:comma] + full[comma + 1 :]  # drop the comma before "date"
    (tmp_path / "result.json").write_bytes(broken)
    problems: list[te.ParseProblem] = []
    assert [m.id for m in te.iter_messages(tmp_path, problems=problems)] == list(range(1, 150))
    (problem,) = problems
    offset = int(problem.position.split()[1])
    assert comma <= offset <= where - 1 + len(b'"date"')


@pytest.mark.parametrize("shift", range(-6, 3))
def test_control_char_escape_across_read_boundary(tmp_path: Path, shift: int) -> None:
    prefix = json.dumps(_single([_msg(1, text="PLACEHOLDER")]))
    head = prefix[: prefix.index("PLACEHOLDER")]
    filler = "y" * (65536 - len(head.encode()) + shift)
    raw = prefix.replace("PLACEHOLDER", filler + "\\\\\\x0B|\\\\" + "z")
    (tmp_path / "result.json").write_text(raw)
    problems: list[te.ParseProblem] = []
    (message,) = te.iter_messages(tmp_path, problems=problems)
    assert problems == []
    assert message.text == filler + "\\\x0b|\\z"
