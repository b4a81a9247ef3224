"""Watching live sources: a live Telegram stream scanned through the same pipeline as a folder
or an export (`haechi.scan.scan_source`: its writer, its worker pool, its resume point)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from haechi.config import Settings
from haechi.scan.progress import Observer, ScanSummary
from haechi.sources.live import KIND, LIVE_ROOT, bare_id
from haechi.store.db import Database
from haechi.store.models import Scan, Source

if TYPE_CHECKING:
    from haechi.scan.pool import WorkerPool
    from haechi.sources.telegram_api import Connect, Log, Sleep


def watch_telegram(
    db: Database,
    settings: Settings,
    connect: Connect,
    *,
    chats: Sequence[str] | None = None,
    login: bool = False,
    once: bool = False,
    connections: int | None = None,
    sleep: Sleep = asyncio.sleep,
    log: Log = lambda _: None,
    observer: Observer | None = None,
    pool: WorkerPool | None = None,
) -> ScanSummary:
    """Read the chats (catch up, then listen until stopped; `once`: catch up and return) and
    store their messages and media as a scan of the source `telegram:live`."""
    from haechi.scan import scan_source
    from haechi.sources.telegram_live import TelegramLiveStream

    stream = TelegramLiveStream(
        connect,
        settings,
        chats=chats,
        login=login,
        once=once,
        connections=connections,
        after=legacy_cursors(db),
        sleep=sleep,
        log=log,
    )
    return scan_source(db, settings, stream, observer=observer or Observer(), pool=pool)


def legacy_cursors(db: Database) -> dict[str, int]:
    """Where watchers before `telegram:live` stopped: they kept one source per chat
    (`telegram:<marked id>`) and no messages, only the last message id as the scan's cursor.
    Room key (the bare chat id) → that id, so an upgraded watcher does not read it all again."""
    out: dict[str, int] = {}
    with db.session() as s:
        rows = s.execute(
            select(Source.locator, Scan.cursor)
            .join(Scan, Scan.source_id == Source.id)
            .where(Source.kind == KIND, Source.locator != LIVE_ROOT, Scan.cursor.is_not(None))
        )
        for locator, cursor in rows:
            chat = locator.removeprefix(f"{KIND}:")
            if not chat.lstrip("-").isdigit() or cursor is None or not cursor.isdigit():
                continue
            key = str(bare_id(int(chat)))
            out[key] = max(out.get(key, 0), int(cursor))
    return out
