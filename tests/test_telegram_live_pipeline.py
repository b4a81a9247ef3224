"""Live Telegram through the one pipeline: a live chat's messages reach `haechi rooms` and
`haechi network` exactly as the same chat's Telegram Desktop export does, and its media become
items and findings through the scan's worker pool.

Telegram's servers are out of reach: `FakeTelegram` (tests/fake_telegram.py) is a FAKE OF
TELEGRAM'S SERVERS built from Telethon's own types. Everything on haechi's side is real."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import database_for, haechi, jpeg_bytes, noise_image, person_consent
from fake_telegram import ROOM, WHEN, FakeTelegram, photo_message
from sqlalchemy import select
from telethon.errors import FloodWaitError
from telethon.tl import types

from haechi.config import Settings, load_settings
from haechi.persons.enrol import enrol
from haechi.scan.pool import WorkerPool
from haechi.services.watch import watch_telegram
from haechi.sources.telegram_api import TelegramError
from haechi.store.db import Database
from haechi.store.findings import Finding
from haechi.store.models import Item, Message, Room

# One conversation, said twice: as Telethon messages and as an export's JSON.
# (message id, account, text, photo, reply to)
CHAT: list[tuple[int, int, str, str | None, int | None]] = [
    (1, 42, "신작 장당 5천원 문상 받음 디엠", None, None),
    (2, 42, "VIP방 입장료 2만원 지인 사진", "a", None),
    (3, 43, "얼마예요", None, 2),
    (4, 44, "이거 봤음?", "a", None),
    (5, 43, "입금했습니다", "b", None),
]


def _pictures() -> dict[str, bytes]:
    return {"a": jpeg_bytes(noise_image(71)), "b": jpeg_bytes(noise_image(72))}


def _live(fake: FakeTelegram, pics: dict[str, bytes]) -> None:
    for mid, user, text, pic, reply in CHAT:
        kw: dict[str, Any] = {"from_id": types.PeerUser(user), "text": text}
        if reply is not None:
            kw["reply_to"] = types.MessageReplyHeader(reply_to_msg_id=reply)
        if pic is None:
            fake.add(
                types.Message(
                    id=mid, peer_id=types.PeerChannel(ROOM.id), date=WHEN + timedelta(seconds=mid),
                    message=kw.pop("text"), **kw,
                )
            )  # fmt: skip
        else:
            message = photo_message(mid, pics[pic], **kw)
            message.date = WHEN + timedelta(seconds=mid)
            fake.add(message, pics[pic])
    fake.add(
        types.MessageService(
            id=6, peer_id=types.PeerChannel(ROOM.id), date=WHEN + timedelta(seconds=6),
            from_id=types.PeerUser(42), action=types.MessageActionChatAddUser(users=[45]),
        )
    )  # fmt: skip


def _export(folder: Path, pics: dict[str, bytes]) -> Path:
    """The same chat as Telegram Desktop exports it: the chat's bare id, "user42"."""
    folder.mkdir(parents=True)
    messages: list[dict[str, Any]] = []
    for mid, user, text, pic, reply in CHAT:
        stamp = int((WHEN + timedelta(seconds=mid)).timestamp())
        msg: dict[str, Any] = {
            "id": mid, "type": "message", "date": "2024-09-01T12:00:00",
            "date_unixtime": str(stamp), "from_id": f"user{user}", "text": text,
        }  # fmt: skip
        if reply is not None:
            msg["reply_to_message_id"] = reply
        if pic is not None:
            rel = f"photos/photo_{mid}.jpg"
            (folder / rel).parent.mkdir(exist_ok=True)
            (folder / rel).write_bytes(pics[pic])
            msg["photo"] = rel
        messages.append(msg)
    messages.append({
        "id": 6, "type": "service", "date": "2024-09-01T12:00:06",
        "date_unixtime": str(int((WHEN + timedelta(seconds=6)).timestamp())),
        "actor_id": "user42", "action": "invite_members", "members": ["user45"], "text": "",
    })  # fmt: skip
    doc = {"name": ROOM.title, "type": "private_supergroup", "id": ROOM.id, "messages": messages}
    (folder / "result.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return folder


def _lines(proc_stdout: str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in proc_stdout.splitlines() if x.strip()]


def _without_source(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows minus where the chat was read from (a folder, or `telegram:live`)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("source", "path", "url")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return [strip(r) for r in rows]


@pytest.mark.slow  # five CLI runs
def test_a_live_chat_reaches_rooms_and_network_as_its_export_does(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    pics = _pictures()
    fake = FakeTelegram()
    _live(fake, pics)
    summary = watch_telegram(db, settings, lambda: fake, chats=["@room"], once=True)
    assert (summary.messages, summary.rooms, summary.seen, summary.errors) == (6, 1, 3, 0)
    with db.session() as s:
        (room,) = s.scalars(select(Room))
        stored = {m.message_id: m for m in s.scalars(select(Message))}
    assert (room.room_key, room.name, room.kind) == ("1234567890", ROOM.title, "private_supergroup")
    assert stored[1].text == CHAT[0][2] and stored[1].author_id == "user42"
    assert stored[3].reply_to == 2 and stored[2].media_count == 1
    assert (stored[6].kind, stored[6].action, stored[6].members) == (
        "service", "invite_members", ["user45"],
    )  # fmt: skip

    exported = tmp_path / "exp-home"
    database_for(exported)
    haechi(exported, "scan", str(_export(tmp_path / "ChatExport", pics)))
    seen: dict[str, list[dict[str, Any]]] = {}
    for command in ("rooms", "network"):
        live = seen[command] = _lines(haechi(settings.home, command, "--json").stdout)
        export = _lines(haechi(exported, command, "--json").stdout)
        assert live and _without_source(live) == _without_source(export), command
    roles = {(r.get("role"), r.get("account")) for r in seen["network"]}
    assert ("seller", "user42") in roles and ("distributor", "user44") in roles


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="kills a worker by its pid")
def test_live_media_become_items_and_findings_through_the_worker_pool(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    mine = jpeg_bytes(noise_image(81, (640, 480)), 92)
    own = tmp_path / "own.jpg"
    own.write_bytes(mine)
    enrol(db, settings, "p1", person_consent("match own files"), [], own_media=[own])
    fake = FakeTelegram()
    fake.add(photo_message(1, mine), mine)
    pool = WorkerPool(settings)
    try:
        first = watch_telegram(db, settings, lambda: fake, chats=["@room"], once=True, pool=pool)
        assert (first.seen, first.new_items, first.findings) == (1, 1, 1)
        # The analysis ran in a worker process; one that dies (the kernel ending it for
        # memory) between two live messages costs nothing: a fresh one takes the next file.
        (worker,) = pool.pids()
        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # until its fork server has reaped it and can say so
        time.sleep(0.2)
        other = jpeg_bytes(noise_image(82, (640, 480)), 92)
        fake.live = [[photo_message(2, other), photo_message(3, mine)]]
        fake.media.update({2: other, 3: mine})
        second = watch_telegram(
            db, settings, lambda: fake, chats=["@room"], connections=1, pool=pool
        )
        assert pool.pids() and pool.pids() != [worker]
    finally:
        pool.close()
    assert (second.seen, second.new_items, second.known_items, second.errors) == (2, 1, 1, 0)
    with db.session() as s:
        kinds = set(s.scalars(select(Item.kind)))
        findings = list(s.scalars(select(Finding)))
    assert kinds == {"image"}
    assert len(findings) == 1 and findings[0].kind == "own_media_match"


def test_a_database_of_the_old_watcher_is_rekeyed_and_resumed(settings: Settings) -> None:
    """Before, live rows were keyed "title (marked id)", "id 42", "channel:999" and each chat
    was a source of its own with its last message id as the cursor. Upgrading (migration 0012)
    keys them as exports do, and the watcher goes on after that cursor."""
    from alembic import command
    from sqlalchemy import text

    from haechi.store.db import alembic_config, make_engine

    pic = jpeg_bytes(noise_image(91))
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    with engine.begin() as conn:
        cfg = alembic_config(settings.db_url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
        conn.execute(text(
            "INSERT INTO sources (id, kind, locator, name, created_at) VALUES "
            "(1, 'telegram', 'telegram:-1001234567890', '겹지인 room', :t)"
        ), {"t": WHEN})  # fmt: skip
        conn.execute(text(
            "INSERT INTO scans (id, source_id, status, started_at, cursor, seen, new_items,"
            " known_items, unchanged, errors, analyzers) VALUES"
            " (1, 1, 'completed', :t, '1', 1, 1, 0, 0, 0, '{}')"
        ), {"t": WHEN})  # fmt: skip
        conn.execute(text(
            "INSERT INTO items (sha256, md5, size, kind, first_seen_at) VALUES"
            " (:sha, 'm', 1, 'image', :t)"
        ), {"sha": "a" * 64, "t": WHEN})  # fmt: skip
        conn.execute(text(
            "INSERT INTO sightings (item_sha256, source_id, scan_id, locator, seen_at, room,"
            " message_id, poster, forwarded_from, forwarded_from_id) VALUES"
            " (:sha, 1, 1, '1', :t, '겹지인 room (-1001234567890)', '1', '겹지인, id 42',"
            " 'channel:999 post 7', 'channel:999')"
        ), {"sha": "a" * 64, "t": WHEN})  # fmt: skip
        if conn.dialect.name == "postgresql":
            # Rows written with their ids leave PostgreSQL's sequences behind them.
            for table in ("sources", "scans"):
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))"
                ))  # fmt: skip
    engine.dispose()

    db = Database(settings)  # upgrades
    try:
        with db.session() as s:
            row = s.execute(text(
                "SELECT room, poster, forwarded_from_id, forwarded_from FROM sightings"
            )).one()  # fmt: skip
        assert tuple(row) == ("1234567890", "user42", "channel999", "channel:999 post 7")
        fake = FakeTelegram()
        fake.add(photo_message(1, pic), pic)
        fake.add(photo_message(2, pic), pic)
        summary = watch_telegram(db, settings, lambda: fake, chats=["@room"], once=True)
        assert fake.min_ids == [1] and fake.downloads == [2] and summary.messages == 1
    finally:
        db.close()


class _SlowThenRefused(FakeTelegram):
    """A FAKE OF TELEGRAM'S SERVERS whose download of message 2 takes a while (the stream
    pauses meanwhile), then is refused with a flood wait too long to sit out."""

    async def download_media(self, message: types.Message, file: type[bytes]) -> bytes | None:
        if message.id == 2 and not self.downloads.count(-2):
            self.downloads.append(-2)
            await asyncio.sleep(1.0)
            raise FloodWaitError(request=None, capture=86_400)
        return await super().download_media(message, file)


def test_a_message_is_committed_only_with_its_media(settings: Settings, db: Database) -> None:
    """The stream pauses (and the scan commits) while message 2's photo downloads; message 2
    must not be stored before its photo is, or a restart after it would never fetch the photo."""
    strict = load_settings(home=settings.home, workers=1, telegram={"max_flood_wait_seconds": 60})
    one, two = jpeg_bytes(noise_image(93)), jpeg_bytes(noise_image(94))
    fake = _SlowThenRefused()
    fake.add(photo_message(1, one, text="first"), one)
    fake.add(photo_message(2, two, text="second"), two)
    with pytest.raises(TelegramError, match="wait 86400 s"):
        watch_telegram(db, strict, lambda: fake, chats=["@room"], once=True)
    with db.session() as s:
        assert list(s.scalars(select(Message.message_id))) == [1]  # committed at the pause
        assert len(list(s.scalars(select(Item.sha256)))) == 1
    again = watch_telegram(db, strict, lambda: fake, chats=["@room"], once=True)
    assert fake.min_ids[-1] == 1 and (again.messages, again.new_items) == (1, 1)
    with db.session() as s:
        assert sorted(s.scalars(select(Message.message_id))) == [1, 2]
