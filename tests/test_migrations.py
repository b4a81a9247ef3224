"""The migrations build exactly the tables the models describe."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from conftest import database_for
from sqlalchemy import inspect

from haechi.store.db import (
    HEAD_REVISION,
    Database,
    alembic_config,
    current_revision,
    make_engine,
)
from haechi.store.models import Base


def test_the_database_is_at_the_newest_migration_and_the_code_knows_which(db: Database) -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(alembic_config(db.url)).get_current_head() == HEAD_REVISION
    with db.engine.connect() as conn:
        assert current_revision(conn) == HEAD_REVISION


def test_migrations_from_empty_build_what_a_new_database_gets(tmp_path: Path) -> None:
    """A new database is built from the models at once; an old one is upgraded migration by
    migration. Both must end with the same schema, at the same revision."""
    from alembic import command

    url = database_for(tmp_path / "m") or f"sqlite:///{tmp_path / 'm.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert current_revision(conn) == HEAD_REVISION
    engine.dispose()


def test_models_and_migrations_agree(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_mode(db: Database) -> None:
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert {"items", "sightings", "signals", "scans", "sources", "item_errors"} <= set(
        inspect(db.engine).get_table_names()
    )


def test_the_suite_runs_on_the_backend_it_was_asked_for(db: Database) -> None:
    expected = "postgresql" if os.environ.get("HAECHI_TEST_POSTGRES") else "sqlite"
    assert db.engine.dialect.name == expected


def _filled(table: sa.Table, **given: Any) -> dict[str, Any]:
    """A row for `table` as it is at this revision: the given values, and a plain value for
    every other column that needs one."""
    row = dict(given)
    for col in table.columns:
        if col.name in row or col.nullable or col.server_default is not None:
            continue
        if col.primary_key and isinstance(col.type, sa.Integer):
            continue
        try:
            py = col.type.python_type
        except NotImplementedError:
            py = object
        row[col.name] = {
            int: 1,
            float: 0.0,
            bool: False,
            str: f"{table.name}-{col.name}",
            bytes: b"",
            dict: {},
            list: [],
            datetime: datetime(2026, 1, 2, tzinfo=UTC),
            object: {},  # JSON
        }[py]
    return row


def test_an_upgrade_keeps_the_data_of_a_populated_database(tmp_path: Path) -> None:
    """A database with data at revision 0010 (before live Telegram's keys changed) upgrades to
    the newest: every row kept, live sightings rekeyed as exports key them, a folder's sightings
    untouched, and the schema then the models'."""
    from alembic import command

    url = database_for(tmp_path / "m") or f"sqlite:///{tmp_path / 'm.db'}"
    engine = make_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0010")
        meta = sa.MetaData()
        tables = {n: sa.Table(n, meta, autoload_with=conn) for n in ("sources", "scans", "items")}
        sightings = sa.Table("sightings", meta, autoload_with=conn)
        for sid, kind in ((1, "telegram"), (2, "folder")):
            conn.execute(tables["sources"].insert(), _filled(tables["sources"], id=sid, kind=kind))
            conn.execute(tables["scans"].insert(), _filled(tables["scans"], id=sid, source_id=sid))
        sha = "ab" * 32
        conn.execute(tables["items"].insert(), _filled(tables["items"], sha256=sha))
        old = ("Room (-1001234567890)", "Ada, id 42", "channel:77")
        for pk, sid in ((1, 1), (2, 2)):
            conn.execute(
                sightings.insert(),
                _filled(
                    sightings,
                    id=pk,
                    source_id=sid,
                    scan_id=sid,
                    item_sha256=sha,
                    room=old[0],
                    poster=old[1],
                    forwarded_from_id=old[2],
                ),
            )
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    with engine.connect() as conn:
        assert current_revision(conn) == HEAD_REVISION
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        got = conn.execute(
            sa.text("SELECT id, room, poster, forwarded_from_id FROM sightings ORDER BY id")
        ).all()
        counts = [
            conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
            for t in ("sources", "scans", "items")
        ]
    engine.dispose()
    assert [tuple(r) for r in got] == [
        (1, "1234567890", "user42", "channel77"),
        (2, *old),  # a folder's "room" is whatever the folder said: left as it was
    ]
    assert counts == [2, 2, 1]
