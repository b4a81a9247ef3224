"""The pipeline: sources → workers (hash, decode, analyze) → one writer → the database.

Idempotent and resumable: items are keyed by SHA-256, every write is an insert-or-ignore or an
upsert, results are committed in small batches in the source's order, and the scan's cursor
names the last committed place. A killed scan loses at most one uncommitted batch, which the
next run redoes; nothing is stored twice."""

from __future__ import annotations

import multiprocessing as mp
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from haechi import hooks
from haechi.analyzers.registry import default_registry
from haechi.config import Settings
from haechi.matching.findings import Matcher, ScannedItem
from haechi.sources import Sighting, Source, SourceProblem
from haechi.sources import load_registry as load_sources
from haechi.store import items as store
from haechi.store.db import Database
from haechi.store.models import Scan
from haechi.work import Worker, WorkResult, init_process, run_in_process

BATCH_ITEMS = 32
BATCH_SECONDS = 1.0


@dataclass(frozen=True)
class ScanEvent:
    """One place handled by the scan, as reported to the CLI."""

    locator: str
    path: str
    status: str  # "new", "known", "unchanged", "error"
    sha256: str | None
    errors: tuple[str, ...] = ()


@dataclass
class ScanSummary:
    scan_id: int
    source: str
    kind: str
    seen: int = 0
    new_items: int = 0
    known_items: int = 0
    unchanged: int = 0
    errors: int = 0
    seconds: float = 0.0
    error_lines: list[str] = field(default_factory=list)


class Observer:
    """Receives progress; the CLI draws bars from it, tests may count."""

    def started(self, source: Source, total: int) -> None: ...

    def handled(self, event: ScanEvent) -> None: ...

    def committed(self, shas: Sequence[str]) -> None: ...


def analyzer_versions() -> dict[str, str]:
    return {cls.name: cls.version for cls in default_registry()}


def scan_paths(
    db: Database,
    settings: Settings,
    paths: Iterable[Path],
    *,
    observer: Observer | None = None,
    source_kind: str | None = None,
) -> list[ScanSummary]:
    sources = load_sources()
    opened = [sources.open(p, settings, source_kind) for p in paths]
    return [scan_source(db, settings, s, observer=observer or Observer()) for s in opened]


def scan_source(
    db: Database, settings: Settings, source: Source, *, observer: Observer
) -> ScanSummary:
    versions = analyzer_versions()
    started = time.monotonic()
    with db.session() as s:
        row = store.get_or_create_source(s, source.kind, source.locator, source.name)
        source_id = row.id
        # A scan still "running" here was killed: say so, its committed work stands.
        s.execute(
            update(Scan)
            .where(Scan.source_id == source_id, Scan.status == "running")
            .values(status="interrupted")
        )
        scan = Scan(source_id=source_id, analyzers=versions)
        s.add(scan)
        s.flush()
        scan_id = scan.id
        complete = frozenset(store.complete_items(s, versions))
        known = store.known_files(s, source_id)
    summary = ScanSummary(scan_id=scan_id, source=source.locator, kind=source.kind)
    places = list(source.sightings())
    observer.started(source, len(places))
    writer = _Writer(db, settings, source, source_id, scan_id, summary, observer)
    todo: list[Sighting] = []
    for place in places:
        if isinstance(place, SourceProblem):
            writer.problem(place)
            continue
        before = known.get(place.locator)
        if (
            before is not None
            and place.file_size is not None
            and (before[0], before[1]) == (place.file_size, place.file_mtime_ns)
            and before[2] in complete
        ):
            writer.unchanged(place, before[2])
            continue
        todo.append(place)
    writer.flush()
    for place, result in _run(settings, complete, todo):
        writer.result(place, result)
    writer.flush()
    summary.seconds = time.monotonic() - started
    with db.session() as s:
        s.execute(
            update(Scan)
            .where(Scan.id == scan_id)
            .values(status="completed", finished_at=datetime.now(UTC))
        )
    return summary


def _run(
    settings: Settings, complete: frozenset[str], todo: list[Sighting]
) -> Iterable[tuple[Sighting, WorkResult]]:
    """Results in the order of `todo`. One process: inline. More: a pool, a bounded window of
    files in flight, and a pool restart when a file hangs or kills its worker."""
    if not todo:
        return
    if settings.workers == 1 or len(todo) == 1:
        worker = Worker(settings, complete)
        for place in todo:
            yield place, worker.run(place.content)
        return
    yield from _PoolRunner(settings, complete).run(todo)


class _PoolRunner:
    def __init__(self, settings: Settings, complete: frozenset[str]) -> None:
        self.settings = settings
        self.complete = complete
        self.ctx = mp.get_context("spawn")
        # Decode has its own deadline; this margin only catches native hangs and crashes.
        self.timeout = settings.limits.decode_timeout_seconds + 30

    def _pool(self) -> Pool:
        return self.ctx.Pool(
            self.settings.workers, initializer=init_process, initargs=(self.settings, self.complete)
        )

    def run(self, todo: list[Sighting]) -> Iterable[tuple[Sighting, WorkResult]]:
        pool = self._pool()
        window: deque[tuple[Sighting, AsyncResult[WorkResult]]] = deque()
        pending = iter(todo)
        depth = self.settings.workers * 4
        try:
            while True:
                while len(window) < depth and (place := next(pending, None)) is not None:
                    window.append((place, pool.apply_async(run_in_process, (place.content,))))
                if not window:
                    return
                place, res = window.popleft()
                try:
                    result = res.get(timeout=self.timeout)
                except mp.TimeoutError:
                    reason = (
                        f"no result after {self.timeout:.0f} s: "
                        "the file hangs or crashes the decoder"
                    )
                    result = WorkResult(hashes=None, errors=(("decode", reason),))
                    # The only way to stop native code is to end its process; the files that
                    # were in flight beside it start again in a fresh pool.
                    pool.terminate()
                    pool.join()
                    pool = self._pool()
                    window = deque(
                        (p, pool.apply_async(run_in_process, (p.content,))) for p, _ in window
                    )
                except Exception as exc:  # an unpicklable result or a worker bug: that file's error
                    result = WorkResult(hashes=None, errors=(("worker", str(exc) or repr(exc)),))
                yield place, result
        finally:
            pool.terminate()
            pool.join()


class _Writer:
    """The one writer: applies results in order, commits a batch at a time with the cursor.
    Enrolled persons are matched inside the batch's transaction: a committed item always has
    its findings, and a replayed batch adds none twice."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        source: Source,
        source_id: int,
        scan_id: int,
        summary: ScanSummary,
        observer: Observer,
    ) -> None:
        self.db = db
        self.source = source
        self.source_id = source_id
        self.scan_id = scan_id
        self.summary = summary
        self.observer = observer
        self.buffer: list[tuple[Sighting | SourceProblem, WorkResult | str | None]] = []
        self.since = time.monotonic()
        self.matcher = Matcher(settings)
        self.to_match: list[ScannedItem] = []

    def problem(self, place: SourceProblem) -> None:
        self._add(place, None)

    def unchanged(self, place: Sighting, sha256: str) -> None:
        self._add(place, sha256)

    def result(self, place: Sighting, result: WorkResult) -> None:
        self._add(place, result)

    def _add(self, place: Sighting | SourceProblem, what: WorkResult | str | None) -> None:
        self.buffer.append((place, what))
        if len(self.buffer) >= BATCH_ITEMS or time.monotonic() - self.since >= BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        events: list[ScanEvent] = []
        with self.db.session() as s:
            for place, what in self.buffer:
                events.append(self._apply(s, place, what))
            new_findings = self.matcher.match(s, self.to_match)
            sm = self.summary
            s.execute(
                update(Scan)
                .where(Scan.id == self.scan_id)
                .values(
                    cursor=self.buffer[-1][0].locator,
                    seen=sm.seen,
                    new_items=sm.new_items,
                    known_items=sm.known_items,
                    unchanged=sm.unchanged,
                    errors=sm.errors,
                )
            )
        self.buffer.clear()
        self.to_match.clear()
        self.since = time.monotonic()
        hooks.findings_created(self.db, new_findings)
        for e in events:
            self.observer.handled(e)
        self.observer.committed([e.sha256 for e in events if e.sha256])

    def _apply(
        self, s: Session, place: Sighting | SourceProblem, what: WorkResult | str | None
    ) -> ScanEvent:
        sm = self.summary
        sm.seen += 1
        path = store.sighting_path_for(self.source.kind, self.source.locator, place.locator)
        if isinstance(place, SourceProblem):
            store.replace_errors(
                s, self.source_id, place.locator, [("source", place.reason)],
                scan_id=self.scan_id, sha256=None,
            )  # fmt: skip
            return self._error(place.locator, path, None, [f"source: {place.reason}"])
        if isinstance(what, str):
            sm.unchanged += 1
            return ScanEvent(place.locator, path, "unchanged", what)
        assert what is not None
        errors = [f"{stage}: {reason}" for stage, reason in what.errors]
        if what.hashes is None:
            store.replace_errors(
                s, self.source_id, place.locator, what.errors, scan_id=self.scan_id, sha256=None
            )
            return self._error(place.locator, path, None, errors)
        h = what.hashes
        info = what.media
        media: dict[str, Any] = {}
        if info is not None:
            media = {
                "kind": info.kind,
                "format": info.format,
                "width": info.width,
                "height": info.height,
                "duration": info.duration,
                "notes": "; ".join(info.notes) or None,
            }
        is_new = store.record_item(s, h.sha256, h.md5, h.size, **media)
        payloads: dict[str, dict[str, Any]] = {}
        for sig in what.signals:
            store.record_signal(s, h.sha256, sig.analyzer, sig.version, sig.payload)
            payloads[sig.analyzer] = sig.payload
        if not what.already_complete:
            self.to_match.append(
                ScannedItem(h.sha256, h.md5, payloads.get("faces"), payloads.get("pdq"))
            )
        store.record_sighting(s, _sighting_row(place, self.source_id, self.scan_id, h.sha256))
        if not what.already_complete:
            store.replace_errors(
                s, self.source_id, place.locator, what.errors, scan_id=self.scan_id,
                sha256=h.sha256,
            )  # fmt: skip
        if is_new:
            sm.new_items += 1
        else:
            sm.known_items += 1
        if errors:
            return self._error(place.locator, path, h.sha256, errors)
        return ScanEvent(place.locator, path, "new" if is_new else "known", h.sha256)

    def _error(self, locator: str, path: str, sha: str | None, errors: list[str]) -> ScanEvent:
        self.summary.errors += 1
        self.summary.error_lines.extend(f"{path}: {e}" for e in errors)
        return ScanEvent(locator, path, "error", sha, tuple(errors))


def _sighting_row(place: Sighting, source_id: int, scan_id: int, sha256: str) -> dict[str, Any]:
    return {
        "item_sha256": sha256,
        "source_id": source_id,
        "scan_id": scan_id,
        "locator": place.locator,
        "seen_at": datetime.now(UTC),
        "posted_at": place.posted_at,
        "room": place.room,
        "message_id": place.message_id,
        "url": place.url,
        "poster": place.poster,
        "forwarded_from": place.forwarded_from,
        "context": place.context,
        "file_size": place.file_size,
        "file_mtime_ns": place.file_mtime_ns,
    }
