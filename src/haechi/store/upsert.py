"""INSERT … ON CONFLICT for both backends: SQLite and PostgreSQL spell it the same way in
SQLAlchemy, but through their own dialect modules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session


def _insert(session: Session, table: Any) -> Any:
    # The dialect modules are imported on use: PostgreSQL's alone costs ~60 ms at start-up.
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    if name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    raise NotImplementedError(f"database dialect {name!r} is not supported")


def insert_ignore(
    session: Session, table: Any, values: dict[str, Any], keys: Sequence[str]
) -> None:
    """Insert unless a row with the same `keys` exists: safe to repeat after a crash."""
    session.execute(
        _insert(session, table).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    )


def insert_ignore_many(
    session: Session, table: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """`insert_ignore` for many rows in one statement (executemany); every row has the same
    keys."""
    stmt = _insert(session, table).on_conflict_do_nothing(index_elements=list(keys))
    session.execute(stmt, list(rows))


def upsert(
    session: Session,
    table: Any,
    values: dict[str, Any],
    keys: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert a row, or update the `update` columns of the row with the same `keys` (portable ON
    CONFLICT DO UPDATE for SQLite and PostgreSQL)."""
    stmt = _insert(session, table).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={k: getattr(stmt.excluded, k) for k in update}
    )
    session.execute(stmt)


def upsert_many(
    session: Session,
    table: Any,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str],
) -> None:
    """`upsert` for many rows in one statement (executemany); every row has the same keys."""
    stmt = _insert(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={k: getattr(stmt.excluded, k) for k in update}
    )
    session.execute(stmt, list(rows))


def insert_ignore_returning(
    session: Session, table: Any, values: dict[str, Any], keys: Sequence[str], column: Any
) -> Any | None:
    """Like insert_ignore; returns `column` of the new row, or None when it existed already."""
    stmt = (
        _insert(session, table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(keys))
        .returning(column)
    )
    return session.execute(stmt).scalar_one_or_none()
