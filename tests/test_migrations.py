"""The migrations build exactly the tables the models describe."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
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
