"""The scan's one writer: it takes what the source and the workers hand it, in the source's
order, and commits it a batch at a time (items, signals, sightings, errors and chat messages,
matched with enrolled persons and hash banks in the same transaction) together with the scan's
cursor, so a killed scan resumes after its last committed place. Apart from the run loop
(`haechi.scan.run`), which decides what goes to the workers and when a stream may commit; the
rows it writes are built in `haechi.scan.rows`."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from haechi import failpoints, hooks
from haechi.analyzers.registry import load_registry
from haechi.config import Settings
from haechi.errors import ConfigError
from haechi.i18n import _
from haechi.matching.findings import Matcher, ScannedItem
from haechi.media import Content
from haechi.scan.progress import Observer, ScanEvent, ScanSummary
from haechi.scan.rows import media_row, message_row, sighting_row
from haechi.scan.work import WorkResult
from haechi.sources import ChatMessage, Sighting, SourceProblem
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


class Writer:
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
        """A place the source could not read: stored as that place's error."""
        self._add(place, None)

    def unchanged(self, place: Sighting, sha256: str) -> None:
        """A file an earlier scan stored unchanged and fully analysed, as item `sha256`."""
        self._add(place, sha256)

    def result(self, place: Sighting, result: WorkResult) -> None:
        """What a worker made of the file at `place`."""
        self._add(place, result)

    def _add(self, place: Sighting | SourceProblem, what: WorkResult | str | None) -> None:
        self.buffer.append((place, what))
        self.cursor = place.locator
        if self.autoflush and (
            len(self.buffer) >= BATCH_ITEMS or time.monotonic() - self.since >= BATCH_SECONDS
        ):
            self.flush()

    def flush(self, *, force_cursor: bool = False) -> None:
        """Commit what is held as one batch with the cursor, then report it to the observer;
        `force_cursor` commits the cursor even with nothing held (the scan's end)."""
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
        """The text analyzer that scores messages, loaded on first use (None when none is
        installed)."""
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
            rows.append(message_row(msg, pk, self.scan_id, risk))
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
        batch.item(h.sha256, h.md5, h.size, {} if info is None else media_row(info))
        payloads: dict[str, dict[str, Any]] = {}
        for sig in what.signals:
            batch.signal(h.sha256, sig.analyzer, sig.version, sig.payload)
            payloads[sig.analyzer] = sig.payload
        batch.sightings.append(sighting_row(place, self.source_id, self.scan_id, h.sha256))
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
