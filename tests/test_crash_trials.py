"""Crash trials: a scan killed (SIGKILL) just after a committed batch, at points drawn at
random, then resumed, stores exactly what an uninterrupted scan stores: nothing lost, nothing
twice. The kill comes from a failpoint (HAECHI_FAILPOINT=after_batch:N), not from a timer, so
each trial stops at the same place on any machine."""

from __future__ import annotations

import os
import random
import time
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
    start = time.monotonic()
    haechi(tmp_path / "whole", *scan, env=env)
    whole_ms = int((time.monotonic() - start) * 1000)
    whole = _state(tmp_path / "whole")
    assert whole["messages"] > 2000 and len(whole["sightings"]) == 91

    # The uninterrupted scan commits about 9 batches; kill after some of them, drawn at
    # random (4 here); `make trials` (HAECHI_TRIALS=20) kills after each of 8, then at 12
    # moments drawn at random over the whole run.
    trials = int(os.environ.get("HAECHI_TRIALS", "4"))
    rng = random.Random(19)
    points = [f"after_batch:{n}" for n in sorted(rng.sample(range(1, 9), min(trials, 8)))]
    points += [f"after_ms:{rng.randrange(0, whole_ms)}" for _ in range(trials - len(points))]
    for n, point in enumerate(points):
        home = tmp_path / f"killed-{n}"
        database_for(home)
        killed = haechi(home, *scan, env={**env, "HAECHI_FAILPOINT": point}, check=False)
        if point.startswith("after_batch"):
            assert killed.returncode == -9, killed.stderr  # SIGKILL, at the failpoint
        haechi(home, *scan, env=env)  # the same command again
        got = _state(home)
        assert got == whole, f"killed at {point}"
        assert got["messages"] == got["distinct_messages"]  # nothing stored twice
