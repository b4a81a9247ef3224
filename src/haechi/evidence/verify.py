"""`haechi evidence verify` as a service: the custody chain (``custody.verify``) and everything
around it that can contradict it: the database itself, the list of preserved items, and every
file in the vault.

It must never repair or create anything: the database is opened read-only (no data directory,
no empty database, no migrations), so a deleted or emptied custody log shows as exactly that.
Cross-checks:

- every row of ``evidence_items`` has a capture entry (and every captured item not deleted on
  record has its row);
- every blob in the vault has a capture entry. A blob without one is decrypted and checked all
  the same, and is an alert: capture moves a blob to its final name only after its entry is
  committed, so an interrupted capture leaves only a ``.tmp`` file, never an unlogged blob;
- every capture entry's blob is present and decrypts to the hash the log names (in
  ``custody.verify``).

The verdict says whether an external anchor (head file, timestamp token) was checked: without
one, a consistently rewritten log cannot be told from the real one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, inspect, make_url, select
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session

from haechi.config import Settings
from haechi.errors import InputError, StoreError
from haechi.evidence.context import open_vault, tsa_config, vault_exists
from haechi.i18n import _
from haechi.store.custody import CustodyAction, CustodyLogEntry
from haechi.store.custody_anchor import HeadAnchor, read_head_file
from haechi.store.custody_problems import Problem, ProblemKind, VerifyReport
from haechi.store.custody_verify import verify
from haechi.store.evidence_models import EvidenceItem
from haechi.store.vault import Vault

__all__ = ["verify_evidence"]

_TABLES = ("custody_log", "custody_head", "evidence_items")


class _NoDatabaseError(Exception):
    """The database is not there, or cannot be read: said in the report, not raised."""

    def __init__(self, kind: ProblemKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def verify_evidence(settings: Settings, head_files: Sequence[Path] = ()) -> VerifyReport:
    """Check the log, the preserved items and the vault against each other; read-only."""
    anchors: list[HeadAnchor] = []
    for p in head_files:
        try:
            anchors.append(read_head_file(p))
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(
                _("{p}: not a usable head file ({exc})").format(p=p, exc=exc)
            ) from None
    vault = open_vault(settings) if vault_exists(settings) else None
    where = _describe(settings.db_url)
    try:
        with _read_only_session(settings) as s:
            report = _verify_database(s, settings, vault, anchors)
            report.database = f"{where} (opened read-only)"
            return report
    except _NoDatabaseError as gone:
        no_blobs = vault is None or not any(True for _ in vault.iter_blobs())
        if no_blobs and gone.kind is ProblemKind.DATABASE_MISSING:
            raise StoreError(
                _(
                    "{message}; there is no evidence vault with blobs either, so "
                    "nothing has been preserved here (verify creates nothing)"
                ).format(message=gone.message)
            ) from None
        report = VerifyReport(database=where)
        report.problems.append(Problem(gone.kind, gone.message))
        if vault is not None:
            _check_unlogged_blobs(report, vault, logged=set())
        return report


def _verify_database(
    s: Session, settings: Settings, vault: Vault | None, anchors: list[HeadAnchor]
) -> VerifyReport:
    cfg = tsa_config(settings)
    if cfg is not None:
        from haechi.store.tsa import anchors_from_timestamps

        anchors = [*anchors, *anchors_from_timestamps(s, cfg.cert)]
    report = verify(s, vault, anchors=anchors)
    captured: dict[str, int] = {}
    deleted: dict[str, int] = {}
    derived: set[str] = set()  # pictures made from evidence (difference pictures)
    for action, obj, seq in s.execute(
        select(CustodyLogEntry.action, CustodyLogEntry.object_ref, CustodyLogEntry.seq).where(
            CustodyLogEntry.action.in_(
                [CustodyAction.CAPTURED, CustodyAction.DELETED, CustodyAction.DERIVED]
            )
        )
    ):
        if action == CustodyAction.DERIVED and obj.startswith("derived:"):
            derived.add(obj[8:])
        elif obj.startswith("item:"):
            book = captured if action == CustodyAction.CAPTURED else deleted
            book[obj[5:]] = max(seq, book.get(obj[5:], 0))
    live = {sha for sha, seq in captured.items() if deleted.get(sha, 0) < seq}
    preserved = set(s.scalars(select(EvidenceItem.sha256)))
    blobs = sum(1 for _ in vault.iter_blobs()) if vault is not None else 0
    if report.entries == 0 and (preserved or blobs):
        held = [
            *([f"{len(preserved)} item(s) are listed as preserved"] if preserved else []),
            *([f"the vault holds {blobs} blob(s)"] if blobs else []),
        ]
        report.problems.append(
            Problem(
                ProblemKind.LOG_MISSING,
                f"the custody log is empty, but {' and '.join(held)}: the log was emptied",
            )
        )
    for sha in sorted(preserved - live):
        why = "for it" if sha not in deleted else "after its logged deletion"
        report.problems.append(
            Problem(
                ProblemKind.EVIDENCE_UNLOGGED,
                f"item {sha} is listed as preserved but the log has no capture entry {why}: "
                "the entry was removed, or the row was added behind the log's back",
                blob=sha,
            )
        )
    for sha in sorted(live - preserved):
        report.problems.append(
            Problem(
                ProblemKind.EVIDENCE_ROW_MISSING,
                f"item {sha} was captured (seq {captured[sha]}) but is no longer listed as "
                "preserved, and no deletion is logged",
                seq=captured[sha],
                blob=sha,
            )
        )
    if vault is None:
        if captured:
            report.problems.append(
                Problem(
                    ProblemKind.VAULT_MISSING,
                    f"the log records {len(captured)} captured item(s) but there is no evidence "
                    f"vault in {settings.vault_dir}",
                )
            )
    else:
        _check_unlogged_blobs(report, vault, logged=set(captured) | derived)
    report.problems.sort(key=lambda p: (p.seq is None, p.seq or 0, p.kind.value))
    return report


def _check_unlogged_blobs(report: VerifyReport, vault: Vault, logged: set[str]) -> None:
    """Blobs no capture entry records: decrypted and checked, and each one an alert."""
    for sha in vault.iter_blobs():
        if sha in logged:
            continue
        report.blobs_checked += 1
        report.blobs_unlogged += 1
        found = vault.verify_blob(sha)
        if not found:
            report.blobs_intact += 1
            state = "it decrypts and hashes correctly under this vault's key"
        else:
            state = f"and it is damaged too: {found[0].message}"
        report.problems.append(
            Problem(
                ProblemKind.BLOB_UNLOGGED,
                f"blob {sha} is in the vault but no capture entry records it ({state}): its "
                "capture entry was removed (an interrupted capture leaves only a .tmp file)",
                blob=sha,
            )
        )
    temps = list(vault.iter_temp_files())
    if temps:
        report.notes.append(
            f"{len(temps)} unfinished write(s) in the vault (.tmp, ciphertext only): captures "
            "that were interrupted before they were logged, or between logging and the final "
            "move; harmless. The next capture moves the logged ones into place and removes "
            "the rest."
        )


@contextmanager
def _read_only_session(settings: Settings) -> Iterator[Session]:
    engine = _read_only_engine(settings.db_url)
    try:
        try:
            with engine.connect() as conn:
                tables = set(inspect(conn).get_table_names())
        except OperationalError as exc:
            raise _NoDatabaseError(
                ProblemKind.DATABASE_MISSING,
                f"cannot open the database {_describe(settings.db_url)}: {exc.orig}",
            ) from None
        except DatabaseError as exc:
            raise _NoDatabaseError(
                ProblemKind.DATABASE_DAMAGED,
                f"the database {_describe(settings.db_url)} is damaged: {exc.orig}",
            ) from None
        missing = [t for t in _TABLES if t not in tables]
        if missing:
            raise _NoDatabaseError(
                ProblemKind.LOG_MISSING,
                f"the database {_describe(settings.db_url)} has no custody log "
                f"(no table {', '.join(missing)})"
                + ("; it is empty: truncated or replaced" if not tables else ""),
            )
        with Session(engine) as s:
            try:
                yield s
            except DatabaseError as exc:
                raise _NoDatabaseError(
                    ProblemKind.DATABASE_DAMAGED,
                    f"the database {_describe(settings.db_url)} is damaged: {exc.orig}",
                ) from None
    finally:
        engine.dispose()


def _read_only_engine(url: str) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        path = Path(u.database or "")
        if not u.database or not path.is_file():
            raise _NoDatabaseError(
                ProblemKind.DATABASE_MISSING,
                f"there is no database at {path}: the custody log is gone (deleted or moved)",
            )
        # Read-only (SQLite refuses every write and never creates the file), and reading a
        # write-ahead log that sits on read-only storage without its -shm index.
        from haechi.store.db import read_only_engine

        return read_only_engine(path)
    return create_engine(
        url,
        connect_args={"options": "-c default_transaction_read_only=on"}
        if u.get_backend_name() == "postgresql"
        else {},
    )


def _describe(url: str) -> str:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return str(u.database)
    return u.render_as_string(hide_password=True)
