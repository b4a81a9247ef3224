"""Peak memory of a whole scan (the CLI and its worker processes) against the number of files.

A scan streams its source through a bounded window, so its peak RSS should stay flat from 10k
to 100k files. The baseline, measured in the same run on the same folder, is what holding the
list of the source's places costs (what the scan did before it streamed: every sighting read
before the first was analysed), in a process of its own.

HAECHI_BENCH_MEMORY_SIZES=10000,100000 (default) sets the sizes; the files are 8×8 PNGs in
folders of 1,000, scanned with hashes and PDQ only (the models' memory is the same at any size
and would only hide the growth)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image
from run import Result

SIZES = [
    int(n) for n in os.environ.get("HAECHI_BENCH_MEMORY_SIZES", "10000,100000").split(",") if n
]
# Telegram JSON exports of these many MB (messages only, every one scored by the chat-text
# analyzer and stored).
EXPORT_MB = [
    int(n) for n in os.environ.get("HAECHI_BENCH_MEMORY_EXPORT_MB", "100,1000").split(",") if n
]
# Exports of these many MB as a real one is made: a tenth messages (result.json), the rest
# photos, one per message that carries one (`HAECHI_BENCH_MEMORY_MEDIA_EXPORT_MB=1000`: the
# issue's 1 GB export; empty to skip).
MEDIA_EXPORT_MB = [
    int(n) for n in os.environ.get("HAECHI_BENCH_MEMORY_MEDIA_EXPORT_MB", "").split(",") if n
]
# Databases already holding this many finished items (documents: complete with their hashes), each
# scanned with the same 1,000 new files: what a scan holds of the whole database.
DB_ITEMS = [
    int(n) for n in os.environ.get("HAECHI_BENCH_MEMORY_DB_ITEMS", "0,1000000").split(",") if n
]
PER_FOLDER = 1000


def _corpus(root: Path, n: int) -> None:
    rng = np.random.default_rng(n)
    for i in range(n):
        folder = root / f"{i // PER_FOLDER:04d}"
        if i % PER_FOLDER == 0:
            folder.mkdir(parents=True)
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(
            folder / f"{i:06d}.png"
        )


def _tree(pid: int) -> list[int]:
    """`pid` and every process below it, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _memory(pids: list[int]) -> tuple[int, int]:
    """Summed RSS (counts the pages forked workers share with their server once per process)
    and summed PSS (shares them out: what the tree really takes), in bytes."""
    rss = pss = 0
    for p in pids:
        try:
            with Path(f"/proc/{p}/smaps_rollup").open() as fh:
                for line in fh:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
        except OSError:
            continue  # ended meanwhile
    return rss, pss


def _peak(cmd: list[str], env: dict[str, str]) -> tuple[int, int, float]:
    """Peak summed RSS and PSS of the command's process tree (sampled every 50 ms), seconds."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_rss = peak_pss = 0
    while proc.poll() is None:
        rss, pss = _memory(_tree(proc.pid))
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.05)
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[3:]} failed: {err.decode()[-2000:]}")
    return peak_rss, peak_pss, time.perf_counter() - started


def _peaks(label: str, rss: int, pss: int, baseline: str, first: dict[str, float]) -> list[Result]:
    """Peak RSS and PSS as results against the first size's (`first` remembers it)."""
    results = []
    for what, value in (("RSS summed", rss), ("PSS", pss)):
        mb = value / 2**20
        first.setdefault(what, mb)
        results.append(
            Result(label.format(what=what), mb, "MB", baseline, first[what], higher_is_better=False)
        )
    return results


HOLD_LIST = """
import resource, sys
from pathlib import Path
from haechi.config import load_settings
from haechi.sources.folder import FolderSource
settings = load_settings(home=Path(sys.argv[2]))
places = list(FolderSource(Path(sys.argv[1]), settings).sightings())
assert places
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def _list_cost(root: Path, home: Path, env: dict[str, str]) -> int:
    """What the list of places alone costs: peak RSS of a process that builds it, minus that
    of one that only imports the same modules."""
    out = subprocess.run(
        [sys.executable, "-c", HOLD_LIST, str(root), str(home)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    bare = subprocess.run(
        [
            sys.executable,
            "-c",
            HOLD_LIST.replace("assert places", "").replace(
                "list(FolderSource(Path(sys.argv[1]), settings).sightings())", "[]"
            ),
            str(root),
            str(home),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout) - int(bare.stdout)


def run(tmp: Path) -> list[Result]:
    env = {**os.environ, "HAECHI_ANALYZERS": '["pdq"]'}
    results: list[Result] = []
    first: dict[str, float] = {}
    for n in SIZES:
        root = tmp / f"files-{n}"
        _corpus(root, n)
        home = tmp / f"home-{n}"
        cmd = [sys.executable, "-m", "haechi", "--home", str(home), "--workers", "2"]
        peak_rss, peak_pss, seconds = _peak([*cmd, "scan", "--no-progress", str(root)], env)
        held = _list_cost(root, tmp / "home-list", env)
        results += _peaks(
            f"scan {n:,} files: peak {{what}}, process tree",
            peak_rss,
            peak_pss,
            f"first size ({SIZES[0]:,})",
            first,
        )
        results.append(Result(f"scan {n:,} files: throughput", n / seconds, "items/s"))
        results.append(
            Result(
                f"the list of {n:,} places alone (pre-streaming scans held it)",
                held / 2**20,
                "MB",
            )
        )
    results += _finished(tmp, env)
    results += _exports(tmp, env)
    results += _media_exports(tmp, env)
    return results


def _finished(tmp: Path, env: dict[str, str]) -> list[Result]:
    """The same 1,000 new files scanned into databases that already hold N finished items: the
    set of finished items goes to every worker, so it is the one thing that grows with the
    database."""
    import hashlib
    import sqlite3

    root = tmp / "files-db"
    _corpus(root, 1000)
    results: list[Result] = []
    base: dict[str, float] = {}
    for n in DB_ITEMS:
        home = tmp / f"home-db-{n}"
        cmd = [sys.executable, "-m", "haechi", "--home", str(home), "--workers", "2"]
        empty = tmp / "empty"
        empty.mkdir(exist_ok=True)
        _peak([*cmd, "scan", "--no-progress", str(empty)], env)  # makes the database
        with sqlite3.connect(home / "haechi.db") as con:
            con.executemany(
                "INSERT INTO items (sha256, md5, size, kind, first_seen_at)"
                " VALUES (?, ?, 1, 'document', CURRENT_TIMESTAMP)",
                (
                    (hashlib.sha256(b"%d" % i).hexdigest(), hashlib.md5(b"%d" % i).hexdigest())
                    for i in range(n)
                ),
            )
        peak_rss, peak_pss, _ = _peak([*cmd, "scan", "--no-progress", str(root)], env)
        results += _peaks(
            f"1,000 files into a database of {n:,} items: peak {{what}}",
            peak_rss,
            peak_pss,
            f"{DB_ITEMS[0]:,} items",
            base,
        )
        shutil.rmtree(home)
    return results


def _exports(tmp: Path, env: dict[str, str]) -> list[Result]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from telegram_exports import write_big_export

    results: list[Result] = []
    first: dict[str, float] = {}
    for mb in EXPORT_MB:
        folder = tmp / f"export-{mb}"
        _, count = write_big_export(folder, mb * 2**20)
        home = tmp / f"home-export-{mb}"
        cmd = [sys.executable, "-m", "haechi", "--home", str(home), "--workers", "2"]
        peak_rss, peak_pss, seconds = _peak([*cmd, "scan", "--no-progress", str(folder)], env)
        results += _peaks(
            f"Telegram export {mb:,} MB ({count:,} messages): peak {{what}}",
            peak_rss,
            peak_pss,
            f"first size ({EXPORT_MB[0]:,} MB)",
            first,
        )
        results.append(
            Result(f"Telegram export {mb:,} MB: throughput", count / seconds, "messages/s")
        )
        # The investigator's next step: the network holds every message of the corpus.
        net_rss, _, net_seconds = _peak([*cmd, "network", "--json"], env)
        first.setdefault("network", net_rss / 2**20)
        results.append(
            Result(
                f"network of the {mb:,} MB export: peak RSS",
                net_rss / 2**20,
                "MB",
                f"first size ({EXPORT_MB[0]:,} MB)",
                first["network"],
                higher_is_better=False,
            )
        )
        results.append(Result(f"network of the {mb:,} MB export: time", net_seconds, "s"))
        (folder / "result.json").unlink()  # the disk, for the next size
    return results


def _unique_jpegs(total: int) -> Iterator[bytes]:
    """Different JPEG files (noise, 800x600) until they add up to `total` bytes: one encoding,
    each copy made unique by a comment segment after its start marker (its own SHA-256, the
    same pixels)."""
    rng = np.random.default_rng(7)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (600, 800, 3), dtype=np.uint8)).save(
        buf, "JPEG", quality=90
    )
    data = buf.getvalue()
    for i in range(max(1, total // len(data))):
        text = f"haechi bench photo {i}".encode()
        yield data[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + data[2:]


def _media_export(folder: Path, mb: int) -> tuple[int, int]:
    """A single-chat JSON export of about `mb` MB: a tenth messages, every tenth message with a
    photo of its own until the photos fill the rest. Returns (messages, photos)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from telegram_exports import message_json

    (folder / "photos").mkdir(parents=True)
    photo_bytes = mb * 2**20 * 9 // 10
    photos = _unique_jpegs(photo_bytes)
    count = written = n_photos = 0
    with (folder / "result.json").open("w", encoding="utf-8") as out:
        out.write('{"name": "Big Room", "type": "private_supergroup", "id": 4242, "messages": [\n')
        while written < mb * 2**20 // 10:
            count += 1
            msg = message_json(count)
            if count % 10 == 5 and (photo := next(photos, None)) is not None:
                n_photos += 1
                (folder / "photos" / f"p{n_photos}.jpg").write_bytes(photo)
                msg["photo"] = f"photos/p{n_photos}.jpg"
            chunk = ("," if count > 1 else "") + json.dumps(msg, ensure_ascii=False, indent=1)
            out.write(chunk)
            written += len(chunk)
        for photo in photos:  # the photos the messages did not take: one message each
            count += 1
            n_photos += 1
            (folder / "photos" / f"p{n_photos}.jpg").write_bytes(photo)
            msg = message_json(count) | {"photo": f"photos/p{n_photos}.jpg"}
            out.write("," + json.dumps(msg, ensure_ascii=False, indent=1))
        out.write("\n]}\n")
    return count, n_photos


def _media_exports(tmp: Path, env: dict[str, str]) -> list[Result]:
    results: list[Result] = []
    for mb in MEDIA_EXPORT_MB:
        folder = tmp / f"media-export-{mb}"
        count, n_photos = _media_export(folder, mb)
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20
        home = tmp / f"home-media-export-{mb}"
        cmd = [sys.executable, "-m", "haechi", "--home", str(home), "--workers", "2"]
        peak_rss, peak_pss, seconds = _peak([*cmd, "scan", "--no-progress", str(folder)], env)
        label = (
            f"Telegram export {size:,.0f} MB with media ({count:,} messages, {n_photos:,} photos)"
        )
        results.append(Result(f"{label}: peak RSS summed", peak_rss / 2**20, "MB"))
        results.append(Result(f"{label}: peak PSS", peak_pss / 2**20, "MB"))
        results.append(Result(f"{label}: throughput", size / seconds, "MB/s"))
        shutil.rmtree(folder)  # the disk, for the next size
    return results
