"""A scan of any size streams: the source is read only as fast as the workers take its files,
so what a scan holds is bounded by a setting, never by the number of files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from haechi.config import Settings, load_settings
from haechi.scan import scan_source
from haechi.scan.pool import WorkerPool
from haechi.scan.progress import Observer, ScanEvent
from haechi.sources import Sighting, SourceProblem
from haechi.sources.folder import FolderSource
from haechi.store.db import Database

BATCH_ITEMS = 32  # haechi.scan.writer: the writer's batch, handled (reported) when committed


def _tiny_pngs(root: Path, n: int) -> None:
    root.mkdir()
    rng = np.random.default_rng(3)
    for i in range(n):
        px = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(px).save(root / f"{i:05d}.png")


class _Counted(FolderSource):
    """A folder that counts the places it has given out (the scan reads it lazily or not)."""

    given = 0

    def sightings(self) -> Iterator[Sighting | SourceProblem]:
        for place in super().sightings():
            type(self).given += 1
            yield place


class _Gap(Observer):
    """The most places ever taken from the source and not yet handled by the writer."""

    def __init__(self) -> None:
        self.handled_n = 0
        self.widest = 0

    def handled(self, event: ScanEvent) -> None:
        self.handled_n += 1
        self.widest = max(self.widest, _Counted.given - self.handled_n)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_scan_never_holds_more_than_its_window(tmp_path: Path, workers: int) -> None:
    n = 160
    _tiny_pngs(tmp_path / "many", n)
    settings = load_settings(
        home=tmp_path / "home", workers=workers, in_flight=4, analyzers=["pdq"]
    )
    db = Database(settings)
    _Counted.given = 0
    gap = _Gap()
    pool = WorkerPool(settings).start() if workers > 1 else None
    try:
        summary = scan_source(
            db, settings, _Counted(tmp_path / "many", settings), observer=gap, pool=pool
        )
    finally:
        if pool is not None:
            pool.close()
        db.close()
    assert (summary.seen, summary.new_items, summary.errors) == (n, n, 0)
    assert _Counted.given == n
    # Before streaming, every place was read before the first one was analysed (gap = n).
    # Now: the window in the workers plus one uncommitted batch of the writer.
    assert gap.widest <= 4 + BATCH_ITEMS
    if pool is not None:
        assert pool.peak_in_flight == 4  # the window was used, and never exceeded


def test_the_window_is_a_setting_with_a_floor(tmp_path: Path, settings: Settings) -> None:
    from haechi.errors import ConfigError

    with pytest.raises(ConfigError):
        load_settings(home=tmp_path / "h", in_flight=0)
    assert settings.in_flight is None  # four per worker


def test_a_rescan_looks_up_what_it_stored_a_chunk_at_a_time(tmp_path: Path) -> None:
    """Over a chunk boundary (256 places), a rescan still tells unchanged from changed files."""
    n = 300
    _tiny_pngs(tmp_path / "many", n)
    settings = load_settings(home=tmp_path / "home", workers=1, analyzers=["pdq"])
    db = Database(settings)
    try:
        scan_source(db, settings, FolderSource(tmp_path / "many", settings), observer=Observer())
        Image.new("RGB", (8, 8), (1, 2, 3)).save(tmp_path / "many" / f"{n - 1:05d}.png")
        Image.new("RGB", (8, 8), (3, 2, 1)).save(tmp_path / "many" / "00100.png")
        again = scan_source(
            db, settings, FolderSource(tmp_path / "many", settings), observer=Observer()
        )
    finally:
        db.close()
    assert (again.seen, again.unchanged, again.new_items) == (n, n - 2, 2)
