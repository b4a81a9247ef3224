"""`forget`: erase a person completely: consent records, templates, own-media hashes, their
findings, and their entries in the template index; then scrub the database files so the erased
bytes survive neither in SQLite's free pages nor in its write-ahead log.

Items scanned from media stay (they are the collected material, not the person's data); the
findings that linked them to the person go."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, text

from haechi import hooks
from haechi.config import Settings
from haechi.errors import NotFoundError, StoreError
from haechi.matching.faces import rewrite_index
from haechi.store.db import Database
from haechi.store.findings import Finding
from haechi.store.persons import ConsentRecord, FaceTemplate, OwnMediaHash, Person


@dataclass(frozen=True)
class ForgetResult:
    alias: str
    removed: tuple[tuple[str, int], ...]


def forget(db: Database, settings: Settings, alias: str) -> ForgetResult:
    sqlite = db.engine.dialect.name == "sqlite"
    counts: list[tuple[str, int]] = []
    with db.session() as s:
        if sqlite:
            # Deleted rows are overwritten with zeros rather than left in free pages.
            s.execute(text("PRAGMA secure_delete=ON"))
        pid = s.scalar(select(Person.id).where(Person.alias == alias))
        if pid is None:
            raise NotFoundError(f"no enrolled person {alias!r}")
        for name, model in (
            ("findings", Finding),
            ("templates", FaceTemplate),
            ("own_media_hashes", OwnMediaHash),
            ("consent_records", ConsentRecord),
        ):
            n = s.scalar(select(func.count()).select_from(model).where(model.person_id == pid))
            s.execute(delete(model).where(model.person_id == pid))
            counts.append((name, int(n or 0)))
        s.execute(delete(Person).where(Person.id == pid))
        counts.append(("persons", 1))
    with db.session() as s:
        rewrite_index(s, settings)
    scrub(db)
    event = hooks.PersonForgotten(at=datetime.now(UTC), removed_counts=tuple(counts))
    hooks.person_forgotten(db, event)
    return ForgetResult(alias, tuple(counts))


def scrub(db: Database) -> None:
    """Rewrite the database files so no deleted bytes remain in them."""
    db.engine.dispose()  # other pooled connections would hold the WAL open
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        if db.engine.dialect.name == "sqlite":
            raw.isolation_level = None  # VACUUM cannot run inside a transaction
            raw.execute("PRAGMA secure_delete=ON")
            _checkpoint(raw)
            raw.execute("VACUUM")
            _checkpoint(raw)
        else:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM FULL persons, consent_records, face_templates, own_media_hashes, findings"
            )
    db.engine.dispose()


def _checkpoint(raw: object) -> None:
    busy, _log, _done = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()  # type: ignore[attr-defined]
    if busy:
        raise StoreError(
            "another process holds the database open, so the write-ahead log could not be "
            "cleared; close it and run `haechi forget` again"
        )
