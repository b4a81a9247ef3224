"""The record of one scan of one source (`ScanRun`): its Scan row, marked running, then
completed or interrupted; what earlier scans stored, so a rescan skips unchanged files and a
chat resumes after its last committed message; the summary it returns; and the one writer it
owns. The run loop (`haechi.scan.run`) drives it; kept apart so the loop reads as the order in
which a source's places go to the workers and the writer."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import update

from haechi.analyzers.registry import enabled_analyzers
from haechi.config import Settings
from haechi.scan.finished import FinishedItems
from haechi.scan.progress import Observer, ScanSummary
from haechi.scan.writer import Writer
from haechi.sources import Sighting
from haechi.store import chat as chat_store
from haechi.store import items as store
from haechi.store.db import Database
from haechi.store.models import Scan


def analyzer_versions(settings: Settings | None = None) -> dict[str, str]:
    """The analyzers every stored item must have run (text analyzers read messages instead)."""
    return {cls.name: cls.version for cls in enabled_analyzers(settings)}


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
            self.complete = FinishedItems.from_hex(store.complete_items(s, self.versions))
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
        self.writer = Writer(
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
