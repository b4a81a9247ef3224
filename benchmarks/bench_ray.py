"""The Ray engine's throughput against the local worker pool, on this machine.

The same generated JPEGs (HAECHI_BENCH_RAY_IMAGES, default 200, 640×480), every analyzer, the
same number of workers (2), each engine started before the clock starts (its start-up is
reported on its own): what the actors and Ray's scheduling cost per file against forked
workers on pipes. On one machine Ray can only lose; it pays where there are more machines."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image
from run import Result

from haechi.config import load_settings
from haechi.scan import scan_source
from haechi.scan.pool import Analysers, WorkerPool
from haechi.scan.progress import Observer
from haechi.sources.folder import FolderSource
from haechi.store.db import Database

N_IMAGES = int(os.environ.get("HAECHI_BENCH_RAY_IMAGES", "200"))


def _corpus(root: Path, n: int) -> None:
    root.mkdir(parents=True)
    rng = np.random.default_rng(11)
    for i in range(n):
        small = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
        im = Image.fromarray(small).resize((640, 480), Image.Resampling.BICUBIC)
        arr = np.asarray(im, np.float32) + rng.normal(0, 8, (480, 640, 3))
        buf = io.BytesIO()
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=90)
        (root / f"{i:04d}.jpg").write_bytes(buf.getvalue())


def _scan(tmp: Path, root: Path, name: str) -> tuple[float, float]:
    """(start-up seconds, items/s) of one engine on `root`, in a data directory of its own."""
    settings = load_settings(home=tmp / name, workers=2)
    db = Database(settings)
    started = time.perf_counter()
    engine: Analysers
    if name == "ray":
        from haechi.scan.ray_engine import RayPool

        engine = RayPool(settings).start()
        engine.pids()  # every actor has loaded its models
    else:
        engine = WorkerPool(settings).start()
        engine._ready()  # every worker is running
    up = time.perf_counter() - started
    try:
        t = time.perf_counter()
        summary = scan_source(
            db, settings, FolderSource(root, settings), observer=Observer(), pool=engine
        )
        rate = summary.seen / (time.perf_counter() - t)
    finally:
        engine.close()
        db.close()
    return up, rate


def run(tmp: Path) -> list[Result]:
    try:
        import ray  # noqa: F401
    except ImportError:
        print("  Ray is not installed: pip install 'haechi[cluster]'")
        return []
    root = tmp / "images"
    _corpus(root, N_IMAGES)
    local_up, local = _scan(tmp, root, "local")
    ray_up, on_ray = _scan(tmp, root, "ray")
    return [
        Result(f"local pool, 2 workers, {N_IMAGES} images", local, "items/s"),
        Result(f"Ray engine, 2 actors, {N_IMAGES} images", on_ray, "items/s", "local pool", local),
        Result("local pool start-up", local_up, "s", higher_is_better=False),
        Result("Ray start-up (local Ray, 2 actors)", ray_up, "s", "local pool", local_up, False),
    ]
