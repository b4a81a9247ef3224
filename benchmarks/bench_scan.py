"""Scan throughput and PDQ cost on generated 1-megapixel JPEGs."""

from __future__ import annotations

import hashlib
import io
import os
import time
from pathlib import Path

import imagehash
import numpy as np
import pdqhash
from PIL import Image
from run import Result

from haechi.analyzers.pdq import PdqAnalyzer
from haechi.config import load_settings
from haechi.media import FileContent, decode_media
from haechi.scan import scan_paths
from haechi.store.db import Database

N_IMAGES = int(os.environ.get("HAECHI_BENCH_IMAGES", "200"))


def _corpus(root: Path, n: int) -> list[Path]:
    root.mkdir(parents=True)
    rng = np.random.default_rng(7)
    paths = []
    for i in range(n):
        small = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
        im = Image.fromarray(small).resize((1280, 800), Image.Resampling.BICUBIC)
        arr = np.asarray(im, np.float32) + rng.normal(0, 8, (800, 1280, 3))
        buf = io.BytesIO()
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=90)
        p = root / f"{i:04d}.jpg"
        p.write_bytes(buf.getvalue())
        paths.append(p)
    return paths


def _naive(paths: list[Path]) -> float:
    """One process, one image at a time: read, SHA-256, decode, imagehash's pHash."""
    t = time.perf_counter()
    for p in paths:
        data = p.read_bytes()
        hashlib.sha256(data).hexdigest()
        with Image.open(io.BytesIO(data)) as im:
            str(imagehash.phash(im))
    return len(paths) / (time.perf_counter() - t)


def _same_hashes(paths: list[Path]) -> float:
    """One process, one image at a time, the same hashes haechi stores: SHA-256, MD5, PDQ."""
    t = time.perf_counter()
    for p in paths:
        data = p.read_bytes()
        hashlib.sha256(data).hexdigest()
        hashlib.md5(data).hexdigest()
        with Image.open(io.BytesIO(data)) as im:
            pdqhash.compute(np.asarray(im.convert("RGB")))
    return len(paths) / (time.perf_counter() - t)


def run(work: Path) -> list[Result]:
    paths = _corpus(work / "corpus", N_IMAGES)
    naive = _naive(paths)
    same = _same_hashes(paths)
    # The hashing pipeline (SHA-256, MD5, PDQ, storage) against the naive hashing loop; the
    # models' cost is measured by bench_judge and bench_faces.
    settings = load_settings(home=work / "home", analyzers=["pdq"])
    db = Database(settings)
    t = time.perf_counter()
    scan_paths(db, settings, [work / "corpus"])
    ours = N_IMAGES / (time.perf_counter() - t)
    t = time.perf_counter()
    scan_paths(db, settings, [work / "corpus"])
    rescan = N_IMAGES / (time.perf_counter() - t)
    db.close()

    analyzer = PdqAnalyzer(settings)
    sample = paths[:50]
    t = time.perf_counter()
    for p in sample:
        analyzer.analyze(decode_media(FileContent(p, p.name), settings.limits))
    ours_ms = (time.perf_counter() - t) * 1000 / len(sample)
    arrays = [np.asarray(Image.open(p).convert("RGB")) for p in sample]
    t = time.perf_counter()
    for a in arrays:
        pdqhash.compute(a)
    limit_ms = (time.perf_counter() - t) * 1000 / len(sample)
    t = time.perf_counter()
    for p in sample:
        pdqhash.compute(np.asarray(Image.open(p).convert("RGB")))
    direct_ms = (time.perf_counter() - t) * 1000 / len(sample)
    return [
        Result(
            f"scan items/s, hashes + PDQ ({N_IMAGES} x 1 MP JPEG, {settings.workers} workers)",
            ours,
            "items/s",
            "naive: 1 process, imagehash pHash",
            naive,
        ),
        Result(
            "scan items/s, hashes + PDQ (same run)",
            ours,
            "items/s",
            "SHA-256+MD5+PDQ in 1 process, no storage",
            same,
        ),
        Result("rescan items/s (nothing changed)", rescan, "items/s", "first scan", ours),
        Result(
            "PDQ via haechi (decode + hash), per image",
            ours_ms,
            "ms",
            "pdqhash.compute on a decoded array (the limit)",
            limit_ms,
            higher_is_better=False,
        ),
        Result(
            "PDQ via haechi (decode + hash), per image",
            ours_ms,
            "ms",
            "PIL open + pdqhash.compute directly",
            direct_ms,
            higher_is_better=False,
        ),
    ]
