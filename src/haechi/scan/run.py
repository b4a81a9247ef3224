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
loses none of its media."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from haechi import failpoints, hooks
from haechi.analyzers.registry import enabled_analyzers, load_registry
from haechi.config import Settings
from haechi.errors import ConfigError
from haechi.i18n import _
from haechi.matching.findings import Matcher, ScannedItem
from haechi.media import Content
from haechi.scan.pool import Analysers, WorkerPool
from haechi.scan.progress import Observer, ScanEvent, ScanSummary
from haechi.scan.work import MediaInfo, Worker, WorkResult
from haechi.sources import ChatMessage, Pause, Sighting, Source, SourceProblem
from haechi.sources import load_registry as load_sources
from haechi.store import chat as chat_store
from haechi.store import items as store
from haechi.store.db import Database
from haechi.store.evidence_models import EvidenceItem
from haechi.store.findings import Finding
from haechi.store.models import Scan

if TYPE_CHECKING:
    from haechi.analyzers.base import TextAnalyzer

BATCH_ITEMS = 32
BATCH_MESSAGES = 1000
BATCH_SECONDS = 1.0
# A rescan looks up what it stored of this many places at once (see `_todo`).
KNOWN_CHUNK = 256
# A stream's media (a live chat's downloads, held in memory) go to the workers and are committed
# once they add up to this, at the next message, whatever their number.
STREAM_HELD_BYTES = 64 * 1024 * 1024


def analyzer_versions(settings: Settings | None = None) -> dict[str, str]:
    """The analyzers every stored item must have run (text analyzers read messages instead)."""
    return {cls.name: cls.version for cls in enabled_analyzers(settings)}


def text_analyzer(settings: Settings) -> TextAnalyzer[Any] | None:
    """The text analyzer that scores chat messages: the one installed in the
    `haechi.text_analyzers` group, whatever its name (None when there is none). A message has
    one stored risk, so two installed text analyzers are a configuration error."""
    from haechi.analyzers.base import TextAnalyzer

    found = list(load_registry("haechi.text_analyzers"))
    if not found:
        return None
    if len(found) > 1:
        raise ConfigError(
            _("more than one text analyzer is installed ({names}): uninstall all but one").format(
                names=", ".join(c.name for c in found)
            )
        )
    analyzer = found[0](settings)
    assert isinstance(analyzer, TextAnalyzer), "the text contract test holds every one to it"
    return analyzer


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


class ScanRun:
    """One scan of one source: its Scan row, the one writer, and what is already known."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        kind: str,
        locator: str,
        name: str,
        *,
        observer: Observer | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.versions = analyzer_versions(settings)
        self.started = time.monotonic()
        with db.session() as s:
            row = store.get_or_create_source(s, kind, locator, name)
            self.source_id = row.id
            # A scan still "running" here was killed: say so, its committed work stands.
            s.execute(
                update(Scan)
                .where(Scan.source_id == self.source_id, Scan.status == "running")
                .values(status="interrupted")
            )
            scan = Scan(source_id=self.source_id, analyzers=self.versions)
            s.add(scan)
            s.flush()
            self.scan_id = scan.id
            self.complete = frozenset(store.complete_items(s, self.versions))
            # What this source's earlier scans stored is looked up a chunk at a time, as the
            # source is read (`sort_out`), never loaded whole; a first scan looks up nothing.
            self.rescan = store.has_sightings(s, self.source_id)
            # Messages are committed in source order, so a room's highest stored id is where a
            # killed scan stopped. An export folder is a snapshot (a new export is a new folder).
            self.resume = chat_store.last_message_ids(s, self.source_id)
        self.summary = ScanSummary(
            scan_id=self.scan_id,
            source=locator,
            kind=kind,
            auto_capture=settings.vault.capture_findings,
        )
        self.writer = _Writer(
            db,
            settings,
            kind,
            locator,
            self.source_id,
            self.scan_id,
            self.summary,
            observer or Observer(),
        )

    def known(self, places: Sequence[object]) -> dict[str, tuple[int | None, int | None, str]]:
        """What earlier scans stored of these places (by locator)."""
        locators = {p.locator for p in places if isinstance(p, Sighting)}
        if not self.rescan or not locators:
            return {}
        with self.db.session() as s:
            return store.known_files(s, self.source_id, locators)

    def unchanged_sha(
        self, place: Sighting, known: Mapping[str, tuple[int | None, int | None, str]]
    ) -> str | None:
        """The stored item when this place's file is unchanged and fully analysed."""
        before = known.get(place.locator)
        if (
            before is not None
            and place.file_size is not None
            and (before[0], before[1]) == (place.file_size, place.file_mtime_ns)
            and before[2] in self.complete
        ):
            return before[2]
        return None

    def finish(self, status: str = "completed") -> ScanSummary:
        """Commit what is held, record the scan's end with `status`, and return its summary."""
        self.writer.flush(force_cursor=True)
        self.summary.seconds = time.monotonic() - self.started
        with self.db.session() as s:
            s.execute(
                update(Scan)
                .where(Scan.id == self.scan_id)
                .values(status=status, finished_at=datetime.now(UTC))
            )
        return self.summary

    def abandon(self) -> None:
        """The scan stopped on an error: marked interrupted, without committing what the writer
        still holds (a message whose media were not analysed must be read again)."""
        self.summary.seconds = time.monotonic() - self.started
        with self.db.session() as s:
            s.execute(
                update(Scan)
                .where(Scan.id == self.scan_id)
                .values(status="interrupted", finished_at=datetime.now(UTC))
            )


def _run(
    settings: Settings,
    complete: frozenset[str],
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


class _Writer:
    """The one writer: applies results in order, commits a batch at a time with the cursor.
    Enrolled persons are matched inside the batch's transaction: a committed item always has
    its findings, and a replayed batch adds none twice."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        kind: str,
        locator: str,
        source_id: int,
        scan_id: int,
        summary: ScanSummary,
        observer: Observer,
    ) -> None:
        self.db = db
        self.settings = settings
        self.kind = kind
        self.locator = locator
        # Built with the first message: a scan of media only never loads the lexicon.
        self._analyzer: TextAnalyzer[Any] | None = None
        self._analyzer_loaded = False
        self.rooms: dict[str, int] = {}
        self.chat: list[ChatMessage] = []
        self.source_id = source_id
        self.scan_id = scan_id
        self.summary = summary
        self.observer = observer
        # Off for a stream, whose scan decides when to commit (only between messages).
        self.autoflush = True
        self.buffer: list[tuple[Sighting | SourceProblem, WorkResult | str | None]] = []
        self.since = time.monotonic()
        # The last place handled; committed with the batch that holds it.
        self.cursor: str | None = None
        self.matcher = Matcher(settings)
        self.to_match: list[ScannedItem] = []
        # The batch's bytes as the workers read them, for capturing a new finding's item
        # from them (a live chat's download exists nowhere else).
        self.contents: dict[str, Content] = {}

    def message(self, msg: ChatMessage, *, skip: bool) -> None:
        """A chat message; `skip` when a killed scan already committed it."""
        self.summary.messages += 1
        self.summary.media_missing += sum(1 for m in msg.media if m.status != "present")
        if msg.room.id not in self.rooms:
            self.rooms[msg.room.id] = -1
            self.summary.rooms += 1
        if skip:
            return
        self.chat.append(msg)
        self.cursor = f"{msg.room.id}/{msg.id}"
        if self.autoflush and (
            len(self.chat) >= BATCH_MESSAGES or time.monotonic() - self.since >= BATCH_SECONDS
        ):
            self.flush()

    def problem(self, place: SourceProblem) -> None:
        self._add(place, None)

    def unchanged(self, place: Sighting, sha256: str) -> None:
        self._add(place, sha256)

    def result(self, place: Sighting, result: WorkResult) -> None:
        self._add(place, result)

    def _add(self, place: Sighting | SourceProblem, what: WorkResult | str | None) -> None:
        self.buffer.append((place, what))
        self.cursor = place.locator
        if self.autoflush and (
            len(self.buffer) >= BATCH_ITEMS or time.monotonic() - self.since >= BATCH_SECONDS
        ):
            self.flush()

    def flush(self, *, force_cursor: bool = False) -> None:
        if not self.buffer and not self.chat and not (force_cursor and self.cursor is not None):
            return
        batch = store.Batch(self.source_id, self.scan_id)
        staged = [self._stage(batch, place, what) for place, what in self.buffer]
        with self.db.session() as s:
            self._store_chat(s)
            new = store.write_batch(s, batch)
            events = [self._event(e, new) for e in staged]
            new_findings = self.matcher.match(s, self.to_match)
            found_items = set(
                s.scalars(select(Finding.item_sha256).where(Finding.id.in_(new_findings)))
            )
            sm = self.summary
            s.execute(
                update(Scan)
                .where(Scan.id == self.scan_id)
                .values(
                    cursor=self.cursor,
                    seen=sm.seen,
                    new_items=sm.new_items,
                    known_items=sm.known_items,
                    unchanged=sm.unchanged,
                    errors=sm.errors,
                )
            )
        failpoints.hit("after_batch")
        self.buffer.clear()
        self.chat.clear()
        self.to_match.clear()
        self.since = time.monotonic()
        try:
            hooks.findings_created(self.db, new_findings, self.contents)
        finally:
            self.contents.clear()
        if new_findings:
            self._count_findings(len(new_findings), found_items)
        for e in events:
            self.observer.handled(e)
        self.observer.committed([e.sha256 for e in events if e.sha256])

    def _count_findings(self, n: int, items: set[str]) -> None:
        sm = self.summary
        sm.findings += n
        sm.finding_items |= items
        with self.db.session() as s:
            sm.preserved_items.update(
                s.scalars(select(EvidenceItem.sha256).where(EvidenceItem.sha256.in_(items)))
            )

    @property
    def analyzer(self) -> TextAnalyzer[Any] | None:
        if not self._analyzer_loaded:
            self._analyzer = text_analyzer(self.settings)
            self._analyzer_loaded = True
        return self._analyzer

    def _store_chat(self, s: Session) -> None:
        rows = []
        for msg in self.chat:
            pk = self.rooms.get(msg.room.id, -1)
            if pk < 0:
                room = msg.room
                pk = chat_store.room_id(s, self.source_id, room.id, room.name, room.kind)
                self.rooms[room.id] = pk
            risk = None
            if self.analyzer is not None:
                score, evidence = self.analyzer.message_risk(msg.text)
                risk = (score, self.analyzer.full_version, evidence)
            rows.append(_message_row(msg, pk, self.scan_id, risk))
        chat_store.record_messages(s, rows)

    def _stage(
        self, batch: store.Batch, place: Sighting | SourceProblem, what: WorkResult | str | None
    ) -> ScanEvent:
        """Add one handled place's rows to `batch`; its event, with status "item" when the
        batch's write decides between new and known."""
        path = store.sighting_path_for(self.kind, self.locator, place.locator)
        if isinstance(place, SourceProblem):
            batch.replace_errors(place.locator, [("source", place.reason)], None)
            return ScanEvent(place.locator, path, "error", None, (f"source: {place.reason}",))
        if isinstance(what, str):
            return ScanEvent(place.locator, path, "unchanged", what)
        assert what is not None
        errors = tuple(f"{stage}: {reason}" for stage, reason in what.errors)
        if what.hashes is None:
            batch.replace_errors(place.locator, what.errors, None)
            return ScanEvent(place.locator, path, "error", None, errors)
        h = what.hashes
        info = what.media
        batch.item(h.sha256, h.md5, h.size, {} if info is None else _media_row(info))
        payloads: dict[str, dict[str, Any]] = {}
        for sig in what.signals:
            batch.signal(h.sha256, sig.analyzer, sig.version, sig.payload)
            payloads[sig.analyzer] = sig.payload
        batch.sightings.append(_sighting_row(place, self.source_id, self.scan_id, h.sha256))
        if not what.already_complete:
            self.contents[h.sha256] = place.content
            self.to_match.append(
                ScannedItem.from_payloads(
                    h.sha256, h.md5, payloads.get("faces"), payloads.get("pdq")
                )
            )
            batch.replace_errors(place.locator, what.errors, h.sha256)
        return ScanEvent(place.locator, path, "item", h.sha256, errors)

    def _event(self, staged: ScanEvent, new: set[str]) -> ScanEvent:
        """The final event of a staged place, counted in the summary. An item new to the
        store is "new" at its first place in the batch, "known" at any later one."""
        sm = self.summary
        sm.seen += 1
        if staged.status == "unchanged":
            sm.unchanged += 1
            return staged
        if staged.sha256 is not None and staged.status == "item":
            if staged.sha256 in new:
                new.discard(staged.sha256)
                sm.new_items += 1
                status = "new"
            else:
                sm.known_items += 1
                status = "known"
            if not staged.errors:
                return replace(staged, status=status)
        return self._error(staged.locator, staged.path, staged.sha256, list(staged.errors))

    def _error(self, locator: str, path: str, sha: str | None, errors: list[str]) -> ScanEvent:
        self.summary.errors += 1
        self.summary.error_lines.extend(f"{path}: {e}" for e in errors)
        return ScanEvent(locator, path, "error", sha, tuple(errors))


def _size(place: Sighting) -> int:
    try:
        return place.content.size
    except OSError:
        return 0  # a file gone meanwhile: its worker says so


def _media_row(info: MediaInfo) -> dict[str, Any]:
    return {
        "kind": info.kind,
        "format": info.format,
        "width": info.width,
        "height": info.height,
        "duration": info.duration,
        "notes": "; ".join(info.notes) or None,
    }


def _sighting_row(place: Sighting, source_id: int, scan_id: int, sha256: str) -> dict[str, Any]:
    return {
        "item_sha256": sha256,
        "source_id": source_id,
        "scan_id": scan_id,
        "locator": place.locator,
        "seen_at": place.seen_at or datetime.now(UTC),
        "posted_at": place.posted_at,
        "room": place.room,
        "message_id": place.message_id,
        "url": place.url,
        "poster": place.poster,
        "forwarded_from": place.forwarded_from,
        "forwarded_from_id": place.forwarded_from_id,
        "forwarded_message_id": place.forwarded_message_id,
        "forwarded_at": place.forwarded_at,
        "context": place.context,
        "file_size": place.file_size,
        "file_mtime_ns": place.file_mtime_ns,
    }


def _message_row(
    msg: ChatMessage, room_pk: int, scan_id: int, risk: tuple[float, str, dict[str, Any]] | None
) -> dict[str, Any]:
    """A chat message as a row of the messages table."""
    missing = sum(1 for m in msg.media if m.status != "present")
    return {
        "room_id": room_pk,
        "message_id": msg.id,
        "scan_id": scan_id,
        "kind": msg.kind,
        "posted_at": msg.date,
        "edited_at": msg.edited,
        "author_id": msg.author_id,
        "author_name": msg.author_name,
        "forwarded_from": msg.forwarded_from,
        "saved_from": msg.saved_from,
        "reply_to": msg.reply_to,
        "via_bot": msg.via_bot,
        "action": msg.action,
        "members": list(msg.members) or None,
        "text": msg.text,
        "links": list(msg.links) or None,
        "media": [
            {"path": m.relpath, "type": m.media_type, "mime": m.mime_type, "status": m.status}
            for m in msg.media
        ]
        or None,
        "media_count": len(msg.media),
        "media_missing": missing,
        "reactions": msg.reactions,
        "risk": risk[0] if risk else None,
        "risk_version": risk[1] if risk else None,
        "risk_detail": risk[2] if risk else None,
    }
