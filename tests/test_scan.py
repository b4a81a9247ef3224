"""The pipeline: idempotent, resumable, and one bad file never stops a scan."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import BinaryIO

import pytest
from conftest import haechi, jpeg_bytes, kill_scan_after_batch, noise_image, write_video
from sqlalchemy import func, select

from haechi.config import Settings, load_settings
from haechi.errors import ConfigError, HaechiError
from haechi.media import FileContent
from haechi.scan import analyzer_versions, scan_paths
from haechi.scan.finished import FinishedItems
from haechi.scan.pool import WorkerPool
from haechi.sources import Sighting as Place
from haechi.sources import load_registry as load_sources
from haechi.store.db import Database
from haechi.store.items import complete_items
from haechi.store.models import Item, ItemError, Scan, Sighting, SignalRow


def _corpus(root: Path) -> None:
    root.mkdir()
    for i in range(4):
        (root / f"p{i}.jpg").write_bytes(jpeg_bytes(noise_image(i)))
    (root / "dup.jpg").write_bytes((root / "p0.jpg").read_bytes())
    (root / "empty.jpg").write_bytes(b"")
    (root / "text.png").write_text("not a picture")
    write_video(root / "clip.mp4", seconds=3)


def _count(db: Database, model: type) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_scan_stores_each_item_once_with_all_signals(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    _corpus(tmp_path / "c")
    (summary,) = scan_paths(db, settings, [tmp_path / "c"])
    assert (summary.seen, summary.new_items, summary.known_items, summary.errors) == (8, 7, 1, 2)
    assert _count(db, Item) == 7  # dup.jpg is p0.jpg
    assert _count(db, Sighting) == 8
    with db.session() as s:
        done = set(complete_items(s, analyzer_versions()))
        video = s.scalars(select(Item).where(Item.kind == "video")).one()
        errors = {e.locator: e.reason for e in s.scalars(select(ItemError))}
    assert len(done) == 7  # the two broken files count as done: decoding them again is futile
    assert video.duration is not None and 2.5 < video.duration < 3.5
    assert errors == {
        "empty.jpg": "empty file (0 bytes)",
        "text.png": "not an image: the name says .png but the content is text",
    }


def test_rescan_reads_nothing_unchanged_and_redoes_what_changed(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    root = tmp_path / "c"
    _corpus(root)
    scan_paths(db, settings, [root])
    (again,) = scan_paths(db, settings, [root])
    assert (again.unchanged, again.new_items, again.known_items) == (8, 0, 0)
    assert again.errors == 0  # unchanged broken files are not re-reported as new errors
    (root / "empty.jpg").write_bytes(jpeg_bytes(noise_image(50)))  # the broken file is fixed
    (third,) = scan_paths(db, settings, [root])
    assert (third.unchanged, third.new_items) == (7, 1)
    with db.session() as s:
        assert s.scalars(select(ItemError.locator)).all() == ["text.png"]
        statuses = s.scalars(select(Scan.status)).all()
    assert statuses == ["completed"] * 3
    assert _count(db, Item) == 8


def test_new_analyzer_version_is_computed_for_stored_items(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    _corpus(tmp_path / "c")
    scan_paths(db, settings, [tmp_path / "c"])
    with db.session() as s:
        bumped = analyzer_versions() | {"pdq": "999"}
        assert set(complete_items(s, analyzer_versions()))
        # Only the broken files stay "done"; every decodable item needs the new version.
        assert len(set(complete_items(s, bumped))) == 2


@pytest.mark.sqlite_only
def test_parallel_scan_equals_serial_scan(tmp_path: Path) -> None:
    root = tmp_path / "c"
    _corpus(root)
    results = []
    for workers in (1, 2):
        settings = load_settings(home=tmp_path / f"h{workers}", workers=workers)
        db = Database(settings)
        scan_paths(db, settings, [root])
        with db.session() as s:
            results.append(
                sorted(
                    (r.item_sha256, r.analyzer, r.version, str(r.payload))
                    for r in s.scalars(select(SignalRow))
                )
            )
        db.close()
    assert results[0] == results[1]


@pytest.mark.sqlite_only
def test_a_killed_scan_resumes_with_every_item_exactly_once(tmp_path: Path) -> None:
    root = tmp_path / "big"
    root.mkdir()
    n = 100  # batches of at most 32 items: the kill after the first leaves most undone
    for i in range(n):
        (root / f"{i:03d}.jpg").write_bytes(jpeg_bytes(noise_image(i, (96, 64))))
    for i in range(0, n, 20):  # some duplicates under other names
        shutil.copy(root / f"{i:03d}.jpg", root / f"copy-{i:03d}.jpg")
    files = len(list(root.iterdir()))
    home = tmp_path / "home"
    kill_scan_after_batch(home, root, workers=2, batch=1)
    settings = load_settings(home=home, workers=2)
    db = Database(settings)
    before = _count(db, Sighting)
    assert 0 < before < files
    (summary,) = scan_paths(db, settings, [root])
    assert _count(db, Sighting) == files
    assert _count(db, Item) == n
    with db.session() as s:
        per_item = s.execute(
            select(SignalRow.item_sha256, func.count()).group_by(SignalRow.item_sha256)
        ).all()
        statuses = s.scalars(select(Scan.status).order_by(Scan.id)).all()
    assert len(per_item) == n and all(c == len(analyzer_versions()) for _, c in per_item)
    assert statuses == ["interrupted", "completed"]
    assert summary.unchanged == before and summary.errors == 0  # committed work not redone
    db.close()


def test_the_analyzers_setting_limits_what_a_scan_runs(tmp_path: Path) -> None:
    _corpus(tmp_path / "c")
    settings = load_settings(home=tmp_path / "h", workers=1, analyzers=["pdq"])
    db = Database(settings)
    scan_paths(db, settings, [tmp_path / "c"])
    with db.session() as s:
        ran = set(s.scalars(select(SignalRow.analyzer)))
    db.close()
    assert ran == {"hashes", "pdq"}
    bad = load_settings(home=tmp_path / "h", analyzers=["pdq", "astrology"])
    with pytest.raises(ConfigError, match="no analyzer named astrology"):
        analyzer_versions(bad)


def test_cli_workers_skip_content_finished_in_an_earlier_scan(tmp_path: Path) -> None:
    """The CLI starts its workers before it opens the database; they must still learn which
    items are finished. A truncated photo shows it: analysed again it would be reported as
    a decode error a second time; known as finished, its copy elsewhere is only hashed."""
    home = tmp_path / "home"
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        folder.mkdir()
    broken = jpeg_bytes(noise_image(7, (640, 480)))[:900]
    (first / "cut.jpg").write_bytes(broken)
    (first / "fine.jpg").write_bytes(jpeg_bytes(noise_image(8, (640, 480))))
    (second / "cut-again.jpg").write_bytes(broken)
    (second / "fine-again.jpg").write_bytes(jpeg_bytes(noise_image(8, (640, 480))))
    (second / "other.jpg").write_bytes(jpeg_bytes(noise_image(9, (640, 480))))
    lines = haechi(home, "--workers", "2", "scan", "--json", str(first)).stdout.splitlines()
    assert [json.loads(x)["status"] for x in lines] == ["error", "new"]
    lines = haechi(home, "--workers", "2", "scan", "--json", str(second)).stdout.splitlines()
    got = {json.loads(x)["path"].rsplit("/", 1)[-1]: json.loads(x)["status"] for x in lines}
    assert got == {"cut-again.jpg": "known", "fine-again.jpg": "known", "other.jpg": "new"}


def _photos_for_two_workers(
    tmp_path: Path, n: int, size: tuple[int, int]
) -> tuple[Settings, list[Place]]:
    root = tmp_path / "c"
    root.mkdir()
    for i in range(n):
        (root / f"{i}.jpg").write_bytes(jpeg_bytes(noise_image(i, size)))
    settings = load_settings(home=tmp_path / "h", workers=2)
    places = [p for p in load_sources().open(root, settings).sightings() if isinstance(p, Place)]
    assert all(isinstance(p.content, FileContent) for p in places)
    return settings, places


def _file_of(place: Place) -> Path:
    assert isinstance(place.content, FileContent)
    return place.content.path


@dataclass(frozen=True)
class _CrashingDecoder(FileContent):
    """Stands in for a file that makes a decoder crash in native code, which no safe test file
    can be made to do on purpose: reading it ends the worker process at once, as a segfault
    would."""

    def open(self) -> BinaryIO:
        os._exit(139)


def test_a_worker_that_dies_costs_only_the_file_it_held(tmp_path: Path) -> None:
    """That file is reported with the reason; every other file is analysed, also those that
    waited in the dead worker's pipe; the scan goes on with a fresh worker at once, not after
    the deadline for hung files (decode_timeout_seconds + 30 = 330 s by default)."""
    settings, places = _photos_for_two_workers(tmp_path, 8, (640, 480))
    places[2] = replace(places[2], content=_CrashingDecoder(_file_of(places[2]), "2.jpg"))
    pool = WorkerPool(settings)
    assert pool.timeout >= 300  # the default: not shortened for this test
    pool.set_complete(FinishedItems.empty())
    started = time.monotonic()
    try:
        results = list(pool.run(places))
    finally:
        pool.close()
    assert time.monotonic() - started < 60
    assert [p.locator for p, _ in results] == [p.locator for p in places]
    for i, (_, result) in enumerate(results):
        if i == 2:
            assert result.hashes is None
            assert result.errors == (
                ("worker", "the process analysing this file died (exit code 139)"),
            )
        else:
            assert result.errors == () and result.hashes is not None
            assert {sig.analyzer for sig in result.signals} >= {"pdq", "faces", "nudity"}


@dataclass(frozen=True)
class _HangingDecoder(FileContent):
    """Stands in for a file on which native decoding never returns."""

    def open(self) -> BinaryIO:
        time.sleep(3600)
        raise AssertionError("not reached")


def test_a_file_that_hangs_its_worker_is_stopped_at_the_deadline(tmp_path: Path) -> None:
    """Only that worker is stopped and replaced; the other files are analysed meanwhile."""
    settings, places = _photos_for_two_workers(tmp_path, 6, (320, 240))
    places[1] = replace(places[1], content=_HangingDecoder(_file_of(places[1]), "1.jpg"))
    pool = WorkerPool(settings)
    pool.timeout = 3  # the deadline for a hung file, shortened for the test
    pool.set_complete(FinishedItems.empty())
    try:
        results = list(pool.run(places))
    finally:
        pool.close()
    assert [p.locator for p, _ in results] == [p.locator for p in places]
    reason = "no result after 3 s: the file hangs the decoder; stopped"
    assert results[1][1].errors == (("decode", reason),)
    assert all(
        r.errors == () and r.hashes is not None for i, (_, r) in enumerate(results) if i != 1
    )


@pytest.mark.slow
@pytest.mark.sqlite_only  # the pool's behaviour: once, on SQLite, is enough
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the workers in /proc")
def test_a_scan_goes_on_at_once_when_a_worker_is_killed(tmp_path: Path) -> None:
    """As the kernel's out-of-memory killer would: SIGKILL to one worker of a running
    `haechi scan`. The file it held is the one error, named with the reason; every other file
    is stored; the scan ends without waiting for the hung-file deadline (330 s)."""
    root = tmp_path / "c"
    root.mkdir()
    n = 60
    for i in range(n):
        (root / f"{i:02d}.jpg").write_bytes(jpeg_bytes(noise_image(i, (1280, 800)), 95))
    home = tmp_path / "home"
    cmd = [sys.executable, "-m", "haechi", "--home", str(home), "--workers", "2"]
    started = time.monotonic()
    with (tmp_path / "stderr.txt").open("w+") as err:
        scan = subprocess.Popen(
            [*cmd, "scan", "--json", "--no-progress", str(root)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        assert scan.stdout is not None
        first = scan.stdout.readline()  # a batch is stored: the workers are at work
        os.kill(_workers_of(scan.pid)[0], signal.SIGKILL)
        out = first + scan.stdout.read()
        scan.wait(timeout=120)
        err.seek(0)
        assert scan.returncode == 0, err.read()
    seconds = time.monotonic() - started
    lines = [json.loads(x) for x in out.splitlines()]
    assert len(lines) == n
    failed = [x for x in lines if x["status"] == "error"]
    assert len(failed) == 1, failed
    reason = "worker: the process analysing this file died (killed by signal SIGKILL)"
    assert failed[0]["error"] == reason
    assert sum(x["status"] == "new" for x in lines) == n - 1
    held = Path(failed[0]["path"]).name
    settings = load_settings(home=home)
    db = Database(settings)
    with db.session() as s:
        stored = set(s.scalars(select(Sighting.locator)))
        errors = {e.locator: e.reason for e in s.scalars(select(ItemError))}
    db.close()
    assert stored == {f"{i:02d}.jpg" for i in range(n)} - {held}
    assert list(errors) == [held] and "died" in errors[held]
    print(f"scan with a killed worker: {seconds:.1f} s")
    assert seconds < 60  # a generous bound: before, the scan waited 330 s for the dead worker


def _workers_of(scan_pid: int) -> list[int]:
    """The scan's worker processes: children of its fork server, itself the scan's child."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
    children = {pid for pid, ppid in parents.items() if ppid == scan_pid}
    workers = sorted(pid for pid, ppid in parents.items() if ppid in children)
    assert len(workers) == 2, (scan_pid, children, workers)
    return workers


def test_workers_that_cannot_start_stop_the_scan_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool starts in a background thread; when the system refuses the processes (here:
    every start method fails as under a process limit), the scan says so instead of
    waiting."""
    settings, places = _photos_for_two_workers(tmp_path, 2, (320, 240))
    pool = WorkerPool(settings)

    def refused(*args: object, **kwargs: object) -> None:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(BaseProcess, "start", refused)
    try:
        with pytest.raises(HaechiError, match=r"could not be started: .*temporarily unavailable"):
            list(pool.run(places))
    finally:
        pool.close()


def test_without_a_fork_server_the_workers_are_fresh_interpreters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the fork server cannot run, the scan still gets its workers (started with
    'spawn', which loads the models in each) and the same results."""
    from multiprocessing import forkserver

    settings, places = _photos_for_two_workers(tmp_path, 4, (320, 240))

    def no_fork_server(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")  # where the server puts its socket

    monkeypatch.setattr(forkserver, "connect_to_new_process", no_fork_server)
    pool = WorkerPool(settings)
    pool.set_complete(FinishedItems.empty())
    try:
        results = list(pool.run(places))
    finally:
        pool.close()
    assert pool.ctx.get_start_method() == "spawn"
    assert [p.locator for p, _ in results] == [p.locator for p in places]
    assert all(
        r.errors == () and {"pdq", "faces"} <= {s.analyzer for s in r.signals} for _, r in results
    )


def test_workers_learn_a_large_set_of_finished_items(tmp_path: Path) -> None:
    """A data directory with thousands of finished items: the set (far more than a pipe
    buffer holds) reaches both workers without blocking anyone, and a copy of a finished
    item is only hashed, not decoded again."""
    import hashlib
    import threading

    settings, places = _photos_for_two_workers(tmp_path, 4, (320, 240))
    with places[0].content.open() as fh:
        finished = hashlib.sha256(fh.read()).hexdigest()
    pool = WorkerPool(settings).start()
    results: list[tuple[str, bool]] = []

    def scan() -> None:
        pool.set_complete(FinishedItems.from_hex([*(f"{i:064x}" for i in range(20_000)), finished]))
        results.extend((p.locator, r.already_complete) for p, r in pool.run(places))

    worker = threading.Thread(target=scan, daemon=True)
    worker.start()
    worker.join(timeout=120)
    done = not worker.is_alive()
    pool.close()
    assert done, "the workers never received the finished items"
    assert results == [("0.jpg", True), ("1.jpg", False), ("2.jpg", False), ("3.jpg", False)]
    assert not list((settings.home_dir / "tmp").iterdir())  # the hand-over file is gone


def test_a_killed_scans_hand_over_file_is_removed_by_the_next(tmp_path: Path) -> None:
    import subprocess
    import sys

    settings = load_settings(home=tmp_path / "h", workers=2)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    folder = settings.home_dir / "tmp"
    folder.mkdir(parents=True)
    orphan = folder / f"finished-{gone}-abc.txt"
    orphan.write_text("0" * 64)
    live = folder / f"finished-{os.getpid()}-abc.txt"  # a scan still running here
    live.write_text("0" * 64)
    pool = WorkerPool(settings)
    pool.close()
    assert not orphan.exists() and live.exists()
    assert len(list(folder.iterdir())) == 1
