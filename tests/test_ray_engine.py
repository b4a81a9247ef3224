"""The Ray engine: the same analyzers as Ray actors, the same writer on the driver. Its results
equal the local pool's, and an actor killed mid-scan costs only the file it held, which the
next scan (resumed like a local one) analyses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import database_for, haechi, jpeg_bytes, noise_image
from sqlalchemy import select

from haechi.config import Settings, load_settings
from haechi.scan import scan_source
from haechi.scan.pool import WorkerPool
from haechi.scan.progress import Observer, ScanEvent
from haechi.sources.folder import FolderSource
from haechi.store.db import Database
from haechi.store.models import Item, ItemError, Sighting, SignalRow

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow  # a local Ray cluster takes seconds to start


def _corpus(root: Path, n: int) -> None:
    root.mkdir()
    for i in range(n):
        (root / f"p{i:03d}.jpg").write_bytes(jpeg_bytes(noise_image(i, (160, 120))))
    (root / "broken.jpg").write_bytes(b"\xff\xd8 not really")


def _state(db: Database) -> tuple[set[Any], set[Any], set[Any]]:
    """What a scan stored, without ids or times: items, their signals, their sightings."""
    with db.session() as s:
        items = {(i.sha256, i.kind, i.width, i.height) for i in s.scalars(select(Item))}
        signals = {
            (r.item_sha256, r.analyzer, r.version, repr(sorted(r.payload.items())))
            for r in s.scalars(select(SignalRow))
        }
        sightings = {(r.locator, r.item_sha256) for r in s.scalars(select(Sighting))}
    return items, signals, sightings


def _errors(db: Database) -> dict[str, str]:
    with db.session() as s:
        return {e.locator: e.reason for e in s.scalars(select(ItemError))}


def _settings(home: Path) -> Settings:
    # Each data directory with a database of its own (on PostgreSQL too).
    return load_settings(
        home=home, workers=2, analyzers=["pdq", "faces"], database_url=database_for(home)
    )


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


class _KillOne(Observer):
    """Kills one actor (its process, as the kernel or a lost node would) once `after` files
    have been handled: a worker dying mid-scan, at a point counted in files, not in time."""

    def __init__(self, engine: Any, after: int) -> None:
        self.engine = engine
        self.after = after
        self.seen = 0
        self.killed = False

    def handled(self, event: ScanEvent) -> None:
        self.seen += 1
        if self.seen >= self.after and not self.killed:
            self.killed = True
            ray.kill(self.engine.actors[0])


def test_ray_results_equal_the_pool_and_a_killed_actor_loses_nothing(
    tmp_path: Path, local_ray: None
) -> None:
    from haechi.scan.ray_engine import RayPool

    root = tmp_path / "c"
    _corpus(root, 40)

    local = _settings(tmp_path / "local")
    db_local = Database(local)
    pool = WorkerPool(local).start()
    try:
        scan_source(db_local, local, FolderSource(root, local), observer=Observer(), pool=pool)
    finally:
        pool.close()

    on_ray = load_settings(
        home=tmp_path / "ray",
        workers=2,
        analyzers=["pdq", "faces"],
        in_flight=4,
        database_url=database_for(tmp_path / "ray"),
    )
    db_ray = Database(on_ray)
    engine = RayPool(on_ray).start()
    killer = _KillOne(engine, after=3)
    try:
        first = scan_source(
            db_ray, on_ray, FolderSource(root, on_ray), observer=killer, pool=engine
        )
        assert killer.killed
        died = {loc: why for loc, why in _errors(db_ray).items() if "Ray actor" in why}
        # At most the one file the killed actor held; every other file is stored.
        assert len(died) <= 1
        print(f"files lost to the killed actor: {len(died)} {died}")
        assert first.seen == 41 and first.errors == 1 + len(died)
        assert engine.peak_in_flight <= 4
        again = scan_source(
            db_ray, on_ray, FolderSource(root, on_ray), observer=Observer(), pool=engine
        )
        assert again.new_items + again.known_items == len(died)
    finally:
        engine.close()
    assert _state(db_ray) == _state(db_local)
    assert _errors(db_ray) == _errors(db_local)  # the dead actor's error is gone: redone
    db_local.close()
    db_ray.close()


def test_scan_engine_ray_through_the_cli(tmp_path: Path) -> None:
    """Without an address the CLI starts a local Ray with the configured CPUs and stops it; a
    later local scan of the same data directory finds everything done."""
    root = tmp_path / "c"
    _corpus(root, 4)
    home = tmp_path / "home"
    env = {"HAECHI_ANALYZERS": '["pdq"]'}
    scan = ["--workers", "2", "scan", "--no-progress"]
    out = haechi(home, *scan, "--engine", "ray", "--json", str(root), env=env)
    by_path = {Path(e["path"]).name: e for e in map(json.loads, out.stdout.splitlines())}
    assert len(by_path) == 5
    assert by_path["broken.jpg"]["status"] == "error"
    assert {e["status"] for p, e in by_path.items() if p != "broken.jpg"} == {"new"}
    again = haechi(home, *scan, "--json", str(root), env=env)
    assert {e["status"] for e in map(json.loads, again.stdout.splitlines())} == {"unchanged"}
    bad = haechi(home, "scan", "--engine", "nope", str(root), check=False)
    assert bad.returncode != 0 and "--engine" in bad.stderr
    lonely = haechi(home, "scan", "--address", "10.0.0.1:6379", str(root), check=False)
    assert lonely.returncode != 0 and "--engine ray" in lonely.stderr
