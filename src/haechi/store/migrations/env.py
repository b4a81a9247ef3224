"""Alembic environment: runs on the connection haechi hands it, or opens the configured URL."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext, MigrationInfo
from sqlalchemy import create_engine

from haechi import failpoints
from haechi.store.models import Base

config = context.config
target_metadata = Base.metadata


def _applied(
    ctx: MigrationContext, step: MigrationInfo, heads: Collection[Any], run_args: Mapping[str, Any]
) -> None:
    failpoints.hit("after_migration")  # crash trials: killed between two steps


def run() -> None:
    """Run the migrations on the connection haechi passed in `config.attributes` (inside its
    transaction), or on the configured URL when Alembic is used from the command line."""
    conn = config.attributes.get("connection")
    if conn is not None:
        context.configure(
            connection=conn,
            target_metadata=target_metadata,
            render_as_batch=True,
            on_version_apply=_applied,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as c:
        context.configure(connection=c, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
