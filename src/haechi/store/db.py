"""Opening the database: engine, SQLite pragmas, and migrations applied on first use.

A data directory on read-only storage (a write-blocked copy handed over as evidence) is opened
read-only: no migration, no file created beside it, so reading commands and verification work
and writing ones fail with a clear error. Database errors leave here as StoreError naming the
database and the reason; SQLite's transactions mean a failed write changed nothing."""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from haechi.config import Settings
from haechi.errors import StoreError
from haechi.i18n import _
from haechi.private import create_private, private_dir

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration. Checked with one query on every open, so alembic (~0.1 s to import and
# read its scripts) loads only to upgrade an older database; tests/test_migrations.py keeps it
# equal to alembic's head.
HEAD_REVISION = "0011"


class Database:
    """One engine and session factory for a data directory (or a configured server)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.db_url
        self.path = sqlite_path(self.url)
        self.read_only = self.path is not None and not _writable(self.path)
        if self.path is not None and not self.read_only:
            private_dir(self.path.parent)
            if not self.path.exists():
                # SQLite would create it 0644; its -wal and -shm files copy this file's mode.
                os.close(create_private(self.path))
        self.where = (
            str(self.path)
            if self.path is not None
            else make_url(self.url).render_as_string(hide_password=True)
        )
        if self.read_only:
            assert self.path is not None
            self.engine = read_only_engine(self.path)
        else:
            self.engine = make_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.migrate()

    def migrate(self) -> None:
        """Bring the database to HEAD_REVISION (an empty one gets the current schema at once), whole
        or not at all. Raises StoreError for an unusable database, and for an old one on read-only
        storage."""
        try:
            if self.path is not None and not self.read_only:
                self._migrate_sqlite()
            else:
                with self.engine.begin() as conn:
                    self._migrate_on(conn)
        except DatabaseError as exc:
            raise store_error(exc, self.where) from None

    def _migrate_sqlite(self) -> None:
        """Python's sqlite3 opens a transaction only before INSERT, UPDATE or DELETE: each
        CREATE and ALTER of a migration would commit on its own, and a migration killed halfway
        left tables its version row did not know, a database no later command could open (found
        by tests/test_crash_trials_more.py). One explicit transaction makes the upgrade whole or
        absent; IMMEDIATE, so two processes opening an old database do not both upgrade it."""
        with self.engine.connect() as base:
            conn = base.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                self._migrate_on(conn)
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")

    def _migrate_on(self, conn: Connection) -> None:
        current = current_revision(conn)
        if current == HEAD_REVISION:
            return
        empty = current is None and not inspect(conn).get_table_names()
        if self.read_only:
            state = (
                _("is empty")
                if empty
                else _("is at schema {revision}").format(revision=current or "none")
            )
            raise StoreError(
                _(
                    "{where}: the database is on read-only storage and {state}, not "
                    "{head}; copy the data directory to writable storage to upgrade it"
                ).format(where=self.where, state=state, head=HEAD_REVISION)
            )
        if empty:
            create_current_schema(conn)
            return
        from alembic import command

        cfg = alembic_config(self.url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back on any error."""
        try:
            with self._sessions() as s, s.begin():
                yield s
        except (OperationalError, DatabaseError) as exc:
            if isinstance(exc, IntegrityError | ProgrammingError):
                raise  # a bug or a constraint the caller handles, not an unusable database
            raise store_error(exc, self.where) from None

    def close(self) -> None:
        """Release the engine's connections; on SQLite the last one closing removes the write-ahead
        log."""
        self.engine.dispose()


def sqlite_path(url: str) -> Path | None:
    """The file behind an SQLite URL; None for other databases and in-memory SQLite."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve()


def _writable(path: Path) -> bool:
    """Whether haechi may write the database and the files SQLite keeps beside it. access(2)
    answers EROFS on read-only storage even for root."""
    if not path.exists():
        return True  # a new database: creating it fails with a clear error if it cannot be
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def read_only_engine(path: Path) -> Engine:
    """An engine that only reads `path` and creates nothing beside it. Without a write-ahead
    log beside the database (haechi removes it on a clean close) the file is opened
    `immutable`, so SQLite needs no -shm file; with one, read-only, which reads the log too."""
    wal = path.with_name(path.name + "-wal")
    has_log = wal.exists() and wal.stat().st_size > 0
    if has_log and not path.with_name(path.name + "-shm").exists():
        # SQLite reads a log only through its -shm index, which it cannot create here: read
        # a private copy of the two files instead (the originals stay untouched).
        path = _private_copy(path, wal)
    uri = f"file:{quote(str(path))}?mode=ro" + ("" if has_log else "&immutable=1")

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)

    engine = create_engine("sqlite://", creator=connect)
    event.listen(engine, "connect", _read_only_pragmas)
    return engine


def _private_copy(path: Path, wal: Path) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="haechi-readonly-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    copy = folder / path.name
    shutil.copyfile(path, copy)
    shutil.copyfile(wal, folder / wal.name)
    return copy


def _read_only_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA query_only=ON")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def store_error(exc: DatabaseError, where: str) -> StoreError:
    """What a person can do about a database error, naming the database."""
    reason = str(exc.orig) if exc.orig is not None else str(exc)
    low = reason.lower()
    if "full" in low or "too large" in low:
        hint = "free some space and run the command again; what was stored before is intact"
    elif "disk i/o" in low:
        hint = (
            "the disk is full, too small for the file or failing: free some space (or check "
            "the disk) and run the command again; what was stored before is intact"
        )
    elif "readonly" in low or "read-only" in low:
        hint = "it is on read-only storage: reading commands work, writing ones need a copy"
    elif "not a database" in low or "malformed" in low or "encrypted" in low:
        hint = "it is damaged or not a haechi database; nothing was changed (restore a backup)"
    elif "unable to open" in low:
        hint = "check that the folder exists and is readable"
    else:
        hint = "nothing was changed"
    return StoreError(
        _("cannot use the database {where}: {reason}; {hint}").format(
            where=where, reason=reason, hint=hint
        )
    )


def make_engine(url: str) -> Engine:
    """An engine for a database URL: SQLite with WAL, foreign keys and a 30 s busy timeout; other
    servers with a pre-ping so a dropped connection is replaced."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers (the web app, `haechi items`) run while a scan writes.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def create_current_schema(conn: Connection) -> None:
    """A new, empty database gets the models' tables at once and is stamped with the newest
    migration, as Alembic's own "create_all, then stamp" recipe does; running each migration
    in turn builds the same schema (tests/test_migrations.py), only slower."""
    from haechi.store.models import Base

    Base.metadata.create_all(conn)
    # Alembic's version table, as Alembic creates it.
    conn.execute(
        text(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
            "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
        )
    )
    conn.execute(
        text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": HEAD_REVISION}
    )


def current_revision(conn: Connection) -> str | None:
    """The migration this database is at; None when it has none yet."""
    try:
        with conn.begin_nested():
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError):  # no such table (SQLite, PostgreSQL)
        return None


def alembic_config(url: str) -> Config:
    """An Alembic configuration for haechi's migrations against `url`, built in code (there is no
    alembic.ini)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg
