"""The pipeline: sources → workers (hash, decode, analyze) → one writer → the database.

Idempotent and resumable: items are keyed by SHA-256, every write is an insert-or-ignore or an
upsert, results are committed in small batches in the source's order, and the scan's cursor
names the last committed place. A killed scan loses at most one uncommitted batch, which the
next run redoes; nothing is stored twice.

Chat sources also yield their messages: the writer scores each message's text and stores it
(keyed by source, room and message id) in the same ordered batches, as the source streams, so a
large export never sits in memory; only the media waiting for workers do.

A streaming source (a live chat) goes through the same writer and the same worker pool, a few
messages at a time: its media are analysed and committed together with the messages that carry
them, at each pause of the stream, so a restart resumes after the last committed message and
loses none of its media.

This module holds the run loop: what goes to the workers, what straight to the writer, and
when a stream commits. The scan's record and summary are `haechi.scan.record` (`ScanRun`), the
writer and its batches `haechi.scan.writer`, the rows it writes `haechi.scan.rows`."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path

from haechi.config import Settings
from haechi.scan.finished import FinishedItems
from haechi.scan.pool import Analysers, WorkerPool
from haechi.scan.progress import Observer, ScanSummary
from haechi.scan.record import ScanRun
from haechi.scan.work import Worker, WorkResult
from haechi.scan.writer import BATCH_ITEMS, BATCH_MESSAGES
from haechi.sources import ChatMessage, Pause, Sighting, Source, SourceProblem
from haechi.sources import load_registry as load_sources
from haechi.store.db import Database

# A rescan looks up what it stored of this many places at once (see `_todo`).
KNOWN_CHUNK = 256
# A stream's media (a live chat's downloads, held in memory) go to the workers and are committed
# once they add up to this, at the next message, whatever their number.
STREAM_HELD_BYTES = 64 * 1024 * 1024


def scan_paths(
    db: Database,
    settings: Settings,
    paths: Iterable[Path],
    *,
    observer: Observer | None = None,
    source_kind: str | None = None,
    pool: Analysers | None = None,
) -> list[ScanSummary]:
    """Scan each path as one source. `pool`: worker processes the caller started early (the
    CLI does, before it opens the database); the caller closes it."""
    sources = load_sources()
    observer = observer or Observer()
    opened: list[Source] = []
    for p in paths:
        found = sources.open_all(p, settings, source_kind)
        for note in found.notes:
            observer.note(note)
        opened.extend(found.sources)
    return [scan_source(db, settings, s, observer=observer, pool=pool) for s in opened]


def scan_source(
    db: Database,
    settings: Settings,
    source: Source,
    *,
    observer: Observer,
    pool: Analysers | None = None,
) -> ScanSummary:
    """Read `source` to its end and store what it holds: files are hashed and analysed (through
    `pool` when given, else in this process), written by the one writer in batches, matched
    with enrolled persons and hash banks; `observer` hears of each file. A file already stored
    unchanged is not read again. Returns the source's summary (counts, findings, errors).

    Streams: the source is read only as fast as the workers take its files (at most
    `in_flight` of them between the source and the writer), and what needs no worker (a
    message, a problem, an unchanged file) goes straight to the writer. No list of the
    source's places is ever held, whatever its size. `pool`: the worker processes, or
    another engine with the same interface (haechi.scan.ray_engine)."""
    run = ScanRun(db, settings, source.kind, source.locator, source.name, observer=observer)
    if source.streaming:
        return _stream(run, source, observer, pool)
    own: WorkerPool | None = None
    if pool is not None:
        pool.set_complete(run.complete)
    # The total is not known before the end: counting it would read the source twice.
    observer.started(source, None)
    places = source.sightings()
    try:
        todo = _todo(run, places)
        first = next(todo, None)
        if first is not None:
            ahead = [first]
            if pool is None and settings.workers > 1:
                second = next(todo, None)
                if second is not None:
                    # The worker processes start (import, load models) while the source is
                    # still being read; a rescan with nothing new never starts them, and one
                    # file alone is analysed here.
                    ahead.append(second)
                    own = WorkerPool(settings)
                    own.set_complete(run.complete)
                    own.start()
            analysed = _run(settings, run.complete, itertools.chain(ahead, todo), pool or own)
            for place, result in analysed:
                run.writer.result(place, result)
        return run.finish()
    finally:
        _close(places)
        if own is not None:
            own.close()


def _todo(
    run: ScanRun, places: Iterable[Sighting | SourceProblem | ChatMessage | Pause]
) -> Iterator[Sighting]:
    """The places the workers must analyse, read from the source as they ask for them; the
    rest (messages, problems, unchanged files) go to the writer on the way. A rescan reads
    `KNOWN_CHUNK` places at a time, to look up what it stored of them in one query."""
    size = KNOWN_CHUNK if run.rescan else 1
    chunk: list[Sighting | SourceProblem | ChatMessage | Pause] = []
    for place in places:
        chunk.append(place)
        if len(chunk) >= size:
            yield from _sort_out(run, chunk)
            chunk = []
    yield from _sort_out(run, chunk)


def _sort_out(
    run: ScanRun, chunk: list[Sighting | SourceProblem | ChatMessage | Pause]
) -> Iterator[Sighting]:
    writer = run.writer
    known = run.known(chunk)
    for place in chunk:
        if isinstance(place, ChatMessage):
            writer.message(place, skip=place.id <= run.resume.get(place.room.id, -(2**63)))
        elif isinstance(place, Pause):
            continue
        elif isinstance(place, SourceProblem):
            writer.problem(place)
        elif (sha := run.unchanged_sha(place, known)) is not None:
            writer.unchanged(place, sha)
        else:
            yield place


def _close(places: object) -> None:
    """A generator's close: the source stops reading now (its files closed), not whenever it
    is collected."""
    close = getattr(places, "close", None)
    if close is not None:
        close()


def _stream(
    run: ScanRun, source: Source, observer: Observer, pool: Analysers | None
) -> ScanSummary:
    """A streaming source: its media go to the worker pool a few at a time and are committed
    with the messages that carry them, at each pause and every `BATCH_ITEMS` media. Always
    through worker processes, whatever `workers` says: a stream runs for days on what
    strangers post, and a file that crashes or hangs a decoder must cost only that file."""
    settings = run.settings
    writer = run.writer
    writer.autoflush = False  # commits only between messages: see `drain`
    own = WorkerPool(settings) if pool is None else None
    workers = pool or own
    assert workers is not None
    workers.set_complete(run.complete)
    media: list[Sighting] = []
    held = 0  # their bytes

    def drain() -> None:
        """Analyse the media held, then commit them with the messages before them."""
        nonlocal held
        if media:
            for place, result in workers.run(media):
                writer.result(place, result)
            media.clear()
            held = 0
        writer.flush()

    source.resume(run.resume)
    observer.started(source, 0)
    places = source.sightings()
    try:
        for place in places:
            if isinstance(place, Pause):
                drain()
            elif isinstance(place, ChatMessage):
                # A commit falls between messages only: a message stored is a message whose
                # media are stored, and a restart that starts after it misses nothing.
                if (
                    len(media) >= BATCH_ITEMS
                    or held >= STREAM_HELD_BYTES
                    or len(writer.chat) >= BATCH_MESSAGES
                ):
                    drain()
                writer.message(place, skip=place.id <= run.resume.get(place.room.id, -(2**63)))
            elif isinstance(place, SourceProblem):
                writer.problem(place)
            else:
                media.append(place)
                held += place.file_size or _size(place)
        drain()
    except BaseException:
        run.abandon()  # what was committed stands; what was held is read again next time
        raise
    finally:
        _close(places)
        if own is not None:
            own.close()
    return run.finish()


def _run(
    settings: Settings,
    complete: FinishedItems,
    todo: Iterable[Sighting],
    pool: Analysers | None = None,
) -> Iterable[tuple[Sighting, WorkResult]]:
    """Results in the order of `todo`, read as they are analysed: in `pool`, or in this
    process (one worker, or one file)."""
    if pool is not None:
        yield from pool.run(todo)
        return
    worker: Worker | None = None
    for place in todo:
        worker = worker or Worker(settings, complete)
        yield place, worker.run(place.content)


def _size(place: Sighting) -> int:
    try:
        return place.content.size
    except OSError:
        return 0  # a file gone meanwhile: its worker says so
