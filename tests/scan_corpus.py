"""A corpus for whole-scan trials and what a scan stored from it, for the tests that compare a
scan against another (killed and resumed, or run by several workers at once): 90 small pictures
and a broken one, a Telegram Desktop export of about 2,400 messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from conftest import database_for
from PIL import Image
from sqlalchemy import func, select
from telegram_exports import write_big_export

from haechi.config import load_settings
from haechi.store.db import Database
from haechi.store.models import Item, ItemError, Message, Room, Sighting, SignalRow


def corpus(root: Path) -> tuple[Path, Path]:
    """Write the corpus under `root`: the pictures' folder and the export's folder."""
    pictures = root / "pictures"
    pictures.mkdir(parents=True)
    rng = np.random.default_rng(5)
    for i in range(90):
        px = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(px).save(pictures / f"{i:03d}.png")
    (pictures / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    export, _ = write_big_export(root / "export", 2_400_000)  # ~2,400 messages: 3 batches
    return pictures, export.parent


def state(home: Path) -> dict[str, Any]:
    """Everything a scan stores, without row ids, scan ids or times."""
    db = Database(load_settings(home=home, database_url=database_for(home)))
    try:
        with db.session() as s:
            out: dict[str, Any] = {
                "items": sorted((i.sha256, i.kind, i.width) for i in s.scalars(select(Item))),
                "signals": sorted(
                    (r.item_sha256, r.analyzer, repr(sorted(r.payload.items())))
                    for r in s.scalars(select(SignalRow))
                ),
                "sightings": sorted(
                    (r.locator, r.item_sha256) for r in s.scalars(select(Sighting))
                ),
                "errors": sorted((e.locator, e.reason) for e in s.scalars(select(ItemError))),
                "rooms": sorted(r.room_key for r in s.scalars(select(Room))),
                "messages": s.scalar(select(func.count()).select_from(Message)),
                "distinct_messages": s.scalar(
                    select(func.count(func.distinct(Message.room_id * 10**9 + Message.message_id)))
                ),
                "risk": s.scalar(select(func.sum(Message.risk))),
            }
    finally:
        db.close()
    return out
