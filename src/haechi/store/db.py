"""Opening the database: engine, SQLite pragmas, and migrations applied on first use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from haechi.config import Settings
from haechi.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration. Checked with one query on every open, so alembic (~0.1 s to import and
# read its scripts) loads only to upgrade an older database; tests/test_migrations.py keeps it
# equal to alembic's head.
HEAD_REVISION = "0007"


class Database:
    """One engine and session factory for a data directory (or a configured server)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.db_url
        if self.url.startswith("sqlite"):
            settings.home_dir.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.migrate()

    def migrate(self) -> None:
        try:
            with self.engine.begin() as conn:
                current = current_revision(conn)
                if current == HEAD_REVISION:
                    return
                if current is None and not inspect(conn).get_table_names():
                    create_current_schema(conn)
                    return
                from alembic import command

                cfg = alembic_config(self.url)
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except OperationalError as exc:
            raise StoreError(f"cannot open the database at {self.url}: {exc.orig}") from None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back on any error."""
        with self._sessions() as s, s.begin():
            yield s

    def close(self) -> None:
        self.engine.dispose()


def make_engine(url: str) -> Engine:
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
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg
