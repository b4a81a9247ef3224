"""The live Telegram watcher, with Telethon's own message, media, forward-header and event types.

Telegram's servers cannot be reached from tests, so `FakeTelegram` (tests/fake_telegram.py)
stands in for them: it is a FAKE OF TELEGRAM'S SERVERS (and of the network half of Telethon's
client), implementing only the client methods the watcher calls. Everything on haechi's side is
real: the streaming source, the scan's writer and worker pool, the analyzers, an SQLite database
per test."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import jpeg_bytes, noise_image, write_video
from fake_telegram import (
    OTHER,
    WHEN,
    FakeTelegram,
    Sleeps,
    photo_message,
    text_message,
    video_message,
    watch,
)
from sqlalchemy import func, select
from telethon.tl import types

from haechi.config import Settings, load_settings
from haechi.sources.telegram_api import TelegramError
from haechi.store.db import Database
from haechi.store.models import Item, ItemError, Scan, Sighting


@pytest.fixture
def tg_settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "home", workers=1, telegram={"max_media_bytes": 200_000})


@pytest.fixture
def clip(tmp_path: Path) -> bytes:
    path = tmp_path / "clip.mp4"
    write_video(path, seconds=2)
    return path.read_bytes()


def _history(fake: FakeTelegram, clip: bytes) -> dict[str, bytes]:
    pics = {"a": jpeg_bytes(noise_image(1)), "b": jpeg_bytes(noise_image(2))}
    fwd = types.MessageFwdHeader(
        date=datetime(2024, 8, 30, 9, 0, tzinfo=UTC), from_id=types.PeerChannel(999),
        channel_post=77,
    )  # fmt: skip
    fake.add(
        photo_message(1, pics["a"], text="지인 사진", from_id=types.PeerUser(42), fwd_from=fwd),
        pics["a"],
    )
    fake.add(text_message(2, "just talk, no media"))
    fake.add(video_message(3, len(clip), from_id=types.PeerUser(43)), clip)
    fake.add(video_message(4, 5_000_000, text="too big"), b"never downloaded")
    fake.add(photo_message(5, pics["a"], from_id=types.PeerUser(44)), pics["a"])  # a repost
    return pics


def _count(db: Database, model: type) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_history_catch_up_records_media_with_room_poster_and_forward(
    tg_settings: Settings, db: Database, clip: bytes
) -> None:
    fake = FakeTelegram()
    pics = _history(fake, clip)
    (summary,) = watch(fake, db, tg_settings, once=True)
    assert summary.source == "telegram:live"
    assert (summary.seen, summary.new_items, summary.known_items, summary.errors) == (4, 2, 1, 1)
    assert (summary.messages, summary.rooms) == (5, 1)  # every message, text ones too
    assert fake.downloads == [1, 3, 5]  # no text message, nothing over the limit
    with db.session() as s:
        sightings = {sg.message_id: sg for sg in s.scalars(select(Sighting))}
        kinds = {i.sha256: i.kind for i in s.scalars(select(Item))}
        (too_big,) = s.scalars(select(ItemError))
        cursor = s.scalar(select(Scan.cursor))
    assert set(sightings) == {"1", "3", "5"}
    first = sightings["1"]
    assert first.item_sha256 == hashlib.sha256(pics["a"]).hexdigest()
    # Keyed as a Telegram Desktop export keys them: the bare chat id, "user42".
    assert first.room == "1234567890" and first.locator == "1234567890/1"
    assert first.url == "https://t.me/c/1234567890/1"
    assert first.poster == "user42"
    assert first.context == "지인 사진"
    assert first.posted_at is not None and first.posted_at.replace(tzinfo=UTC) == WHEN
    assert first.forwarded_from == "channel999 post 77 at 2024-08-30T09:00:00+00:00"
    assert (first.forwarded_from_id, first.forwarded_message_id) == ("channel999", "77")
    assert first.forwarded_at is not None and first.forwarded_at.day == 30
    assert sightings["5"].item_sha256 == first.item_sha256 and sightings["5"].poster == "user44"
    assert sightings["5"].forwarded_from is None
    assert kinds[sightings["3"].item_sha256] == "video"
    assert (too_big.locator, too_big.item_sha256) == ("1234567890/4", None)
    assert too_big.reason == "video of 5000000 bytes is over the limit of 200000; not downloaded"
    assert cursor == "1234567890/5"


def test_restart_resumes_after_the_cursor_without_duplicates(
    tg_settings: Settings, db: Database, clip: bytes
) -> None:
    fake = FakeTelegram()
    _history(fake, clip)
    fake.add(text_message(6, "trailing text"))
    watch(fake, db, tg_settings, once=True)
    sightings = _count(db, Sighting)
    fake.add(photo_message(7, jpeg_bytes(noise_image(3))), jpeg_bytes(noise_image(3)))
    fake.downloads.clear()
    (again,) = watch(fake, db, tg_settings, once=True)
    assert fake.min_ids == [0, 6]  # the trailing text moved the cursor too
    assert fake.downloads == [7]
    assert (again.seen, again.new_items) == (1, 1)
    assert _count(db, Sighting) == sightings + 1
    (third,) = watch(fake, db, tg_settings, once=True)
    assert third.seen == 0 and fake.min_ids[-1] == 7


def test_live_messages_flood_wait_and_reconnect(tg_settings: Settings, db: Database) -> None:
    fake = FakeTelegram()
    pic = jpeg_bytes(noise_image(8))
    fake.add(photo_message(1, pic), pic)
    fake.fail_connects = 1  # the first connection attempt fails
    fake.flood_on_download = [7]  # Telegram asks for a 7 s pause on the first download
    live_pic = jpeg_bytes(noise_image(9))
    fake.media[2] = live_pic
    fake.media[3] = live_pic
    fake.live = [
        [
            photo_message(2, live_pic, text="new post"),
            photo_message(3, live_pic, channel=OTHER.id),  # a chat nobody asked to watch
            text_message(4, "hello"),
        ],
        [photo_message(1, pic)],  # redelivered after a reconnect: already handled
    ]
    sleeps = Sleeps()
    (summary,) = watch(fake, db, tg_settings, sleeps, connections=3)
    assert sleeps.calls == [2.0, 7]  # the reconnect backoff, then the flood wait
    assert fake.connects == 3
    assert fake.downloads == [1, 2]
    assert (summary.seen, summary.new_items) == (2, 2)
    with db.session() as s:
        live = s.scalars(select(Sighting).where(Sighting.message_id == "2")).one()
        cursor = s.scalars(select(Scan.cursor)).one()
    assert live.context == "new post" and live.room == "1234567890"
    assert cursor == "1234567890/4"


def test_flood_wait_in_history_then_too_long_a_wait_stops_cleanly(
    tg_settings: Settings, db: Database, clip: bytes
) -> None:
    fake = FakeTelegram()
    _history(fake, clip)
    fake.flood_in_history = [(1, 30)]  # after message 1, Telegram asks for 30 s
    sleeps = Sleeps()
    (summary,) = watch(fake, db, tg_settings, sleeps, once=True)
    assert sleeps.calls == [30] and fake.min_ids == [0, 1]  # resumed after message 1
    assert fake.downloads == [1, 3, 5] and summary.seen == 4

    strict = load_settings(
        home=tg_settings.home, workers=1, telegram={"max_flood_wait_seconds": 60}
    )
    fake.add(photo_message(8, jpeg_bytes(noise_image(5))), jpeg_bytes(noise_image(5)))
    fake.flood_on_download = [86_400]
    with pytest.raises(TelegramError, match=r"wait 86400 s .* longer than the allowed 60 s"):
        watch(fake, db, strict, once=True)
    with db.session() as s:
        statuses = s.scalars(select(Scan.status).order_by(Scan.id)).all()
        cursors = s.scalars(select(Scan.cursor).order_by(Scan.id)).all()
    assert statuses == ["completed", "interrupted"]
    assert cursors[-1] is None  # nothing past what was committed


def test_unknown_chat_and_missing_settings_are_clear_errors(
    tg_settings: Settings, db: Database, tmp_path: Path
) -> None:
    fake = FakeTelegram()
    with pytest.raises(TelegramError, match="chat @nobody: cannot be found"):
        watch(fake, db, tg_settings, chats=["@nobody"], once=True)
    from conftest import haechi

    proc = haechi(tmp_path / "h", "watch", "telegram", check=False)
    assert proc.returncode == 2 and "HAECHI_TELEGRAM__API_ID" in proc.stderr
