"""Crash trials: a scan killed (SIGKILL) just after a committed batch, at points drawn at
random, then resumed, stores exactly what an uninterrupted scan stores: nothing lost, nothing
twice. The kill comes from a failpoint (HAECHI_FAILPOINT=after_batch:N), not from a timer, so
each trial stops at the same place on any machine."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import database_for, haechi
from PIL import Image
from sqlalchemy import func, select
from telegram_exports import write_big_export

from haechi.config import load_settings
from haechi.store.db import Database
from haechi.store.models import Item, ItemError, Message, Room, Sighting, SignalRow

pytestmark = pytest.mark.slow  # a dozen CLI scans


def _corpus(root: Path) -> tuple[Path, Path]:
    pictures = root / "pictures"
    pictures.mkdir(parents=True)
    rng = np.random.default_rng(5)
    for i in range(90):
        px = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(px).save(pictures / f"{i:03d}.png")
    (pictures / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    export, _ = write_big_export(root / "export", 2_400_000)  # ~2,400 messages: 3 batches
    return pictures, export.parent


def _state(home: Path) -> dict[str, Any]:
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


def test_a_scan_killed_after_any_batch_resumes_to_the_same_database(tmp_path: Path) -> None:
    pictures, export = _corpus(tmp_path / "data")
    env = {"HAECHI_ANALYZERS": '["pdq"]'}
    scan = ["--workers", "1", "scan", "--no-progress", str(pictures), str(export)]
    # Each data directory with a database of its own (on PostgreSQL too).
    database_for(tmp_path / "whole")
    haechi(tmp_path / "whole", *scan, env=env)
    whole = _state(tmp_path / "whole")
    assert whole["messages"] > 2000 and len(whole["sightings"]) == 91

    # The uninterrupted scan commits about 9 batches; kill after each of 4 drawn at random.
    for n in sorted(random.Random(19).sample(range(1, 9), 4)):
        home = tmp_path / f"killed-{n}"
        database_for(home)
        killed = haechi(
            home, *scan, env={**env, "HAECHI_FAILPOINT": f"after_batch:{n}"}, check=False
        )
        assert killed.returncode == -9, killed.stderr  # SIGKILL, at the failpoint
        haechi(home, *scan, env=env)  # the same command again
        got = _state(home)
        assert got == whole, f"killed after batch {n}"
        assert got["messages"] == got["distinct_messages"]  # nothing stored twice
