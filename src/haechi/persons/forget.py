"""`forget`: erase a person completely: consent records, templates, own-media hashes, their
findings, and their entries in the template index; then scrub the database files so the erased
bytes survive neither in SQLite's free pages nor in its write-ahead log.

Items scanned from media stay (they are the collected material, not the person's data); the
findings that linked them to the person go. Free-text notes in the custody log about her are
erased by destroying their keys (`haechi.store.notes`). The titles and notes of cases about her,
and of other cases where they name her alias, are overwritten with the same marker; the cases
stay, unnamed, with their items, timeline and requests. Her preserved items (those with her
findings) stay in the evidence vault unless `delete_evidence` is given: they are evidence of a
crime, and the result says what remains and why. Items that are also another enrolled person's
evidence are never deleted with her."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from haechi import hooks
from haechi.config import Settings
from haechi.errors import NotFoundError, StoreError
from haechi.evidence.context import actor_name, open_vault, vault_exists
from haechi.evidence.delete import delete_preserved
from haechi.i18n import _
from haechi.matching.faces import rewrite_index
from haechi.store.cases import Case, CaseEvent
from haechi.store.custody import CustodyAction, CustodyEvent, CustodyLogEntry, append
from haechi.store.db import Database
from haechi.store.evidence_models import EvidenceItem
from haechi.store.findings import Finding
from haechi.store.notes import ERASED, erase_notes
from haechi.store.persons import ConsentRecord, FaceTemplate, OwnMediaHash, Person
from haechi.store.vault import Vault, VaultError


@dataclass(frozen=True)
class ForgetResult:
    """What a forget removed, by kind, and what it kept (the evidence unless she asked)."""

    alias: str
    removed: tuple[tuple[str, int], ...]
    # Free-text notes in the custody log whose keys were destroyed.
    notes_erased: int = 0
    # Her preserved items left in the vault (not counting evidence_shared), and the custody
    # entries about them (no name).
    evidence_kept: tuple[str, ...] = ()
    custody_entries_kept: int = 0
    # Deleted with --delete-evidence (each logged as `deleted`, by hash).
    evidence_deleted: tuple[str, ...] = ()
    # Kept even with --delete-evidence: also evidence for another enrolled person.
    evidence_shared: tuple[str, ...] = ()
    # Why notes not tied to her could not be searched for her alias (no vault key), or None.
    notes_unsearched: str | None = None


def forget(
    db: Database, settings: Settings, alias: str, *, delete_evidence: bool = False
) -> ForgetResult:
    """Erase the person enrolled as `alias`: consent, templates, own-media hashes, findings,
    index entries and the keys of the custody notes about her, with the custody entry that
    records the erasure in the same transaction; the database files are then rewritten so
    nothing of it stays on disk. Her preserved evidence stays (without her name) unless
    `delete_evidence`; the result says what was removed and what remains. Raises
    `NotFoundError` for an alias not enrolled."""
    sqlite = db.engine.dialect.name == "sqlite"
    now = datetime.now(UTC)
    counts: list[tuple[str, int]] = []
    vault, vault_problem = _vault(settings)
    if delete_evidence and vault_problem is not None:
        raise VaultError(
            _("cannot delete her preserved items: {reason}").format(reason=vault_problem)
        )
    with db.session() as s:
        if sqlite:
            # Deleted rows are overwritten with zeros rather than left in free pages.
            s.execute(text("PRAGMA secure_delete=ON"))
        pid = s.scalar(select(Person.id).where(Person.alias == alias))
        if pid is None:
            raise NotFoundError(_("no enrolled person {alias}").format(alias=repr(alias)))
        hers, shared = _her_evidence(s, pid)
        notes = erase_notes(s, vault, pid, alias)
        counts.append(("case_texts", _erase_case_texts(s, pid, alias)))
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
        # The log entry commits with the deletion: a crash leaves either both or neither. It
        # has an opaque id and no details: the permanent log keeps only that an erasure happened.
        append(
            s,
            CustodyEvent(
                actor_name(settings), CustodyAction.FORGOTTEN, f"person:{uuid.uuid4().hex}"
            ),
            at=now,
        )
    deleted: list[str] = []
    if delete_evidence and vault is not None:
        deleted = [sha for sha in hers if sha not in shared]
        delete_preserved(db, vault, deleted, actor_name(settings))
    kept = tuple(sha for sha in hers if sha not in deleted and sha not in shared)
    with db.session() as s:
        rewrite_index(s, settings)
        n_entries = s.scalar(
            select(func.count())
            .select_from(CustodyLogEntry)
            .where(CustodyLogEntry.object_ref.in_([f"item:{sha}" for sha in kept]))
        )
    scrub(db)
    event = hooks.PersonForgotten(at=now, removed_counts=tuple(counts))
    hooks.person_forgotten(db, event)
    return ForgetResult(
        alias,
        tuple(counts),
        notes_erased=notes,
        evidence_kept=kept,
        custody_entries_kept=int(n_entries or 0),
        evidence_deleted=tuple(deleted),
        evidence_shared=tuple(sha for sha in hers if sha in shared),
        notes_unsearched=vault_problem,
    )


def _erase_case_texts(s: Session, pid: int, alias: str) -> int:
    """Overwrite the title and every note of her cases, and of other cases where they name
    her alias, with the erased marker; returns how many texts were overwritten."""
    hers = set(s.scalars(select(Case.id).where(Case.person_id == pid)))
    name = alias.strip()
    if name:
        hers |= set(s.scalars(select(Case.id).where(Case.title.icontains(name, autoescape=True))))
    titles = list(s.scalars(select(Case.id).where(Case.id.in_(hers), Case.title != ERASED)))
    s.execute(update(Case).where(Case.id.in_(titles)).values(title=ERASED))
    about: ColumnElement[bool] = CaseEvent.case_id.in_(hers)
    if name:
        about = or_(about, CaseEvent.text.icontains(name, autoescape=True))
    notes = list(
        s.scalars(select(CaseEvent.id).where(about, CaseEvent.text != "", CaseEvent.text != ERASED))
    )
    s.execute(update(CaseEvent).where(CaseEvent.id.in_(notes)).values(text=ERASED))
    return len(titles) + len(notes)


def _vault(settings: Settings) -> tuple[Vault | None, str | None]:
    """The vault (to read notes not tied to her, and to delete her items), or why not."""
    if not vault_exists(settings):
        return None, None  # nothing was ever preserved or sealed
    try:
        return open_vault(settings), None
    except VaultError as exc:
        return None, str(exc)


def _her_evidence(s: Session, pid: int) -> tuple[list[str], set[str]]:
    """Her preserved items (those with her findings), and which of them another enrolled
    person also has findings on."""
    hers = sorted(
        s.scalars(
            select(EvidenceItem.sha256)
            .where(
                EvidenceItem.sha256.in_(select(Finding.item_sha256).where(Finding.person_id == pid))
            )
            .distinct()
        )
    )
    shared = set(
        s.scalars(
            select(Finding.item_sha256).where(
                Finding.item_sha256.in_(hers), Finding.person_id != pid
            )
        )
    )
    return hers, shared


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
                "VACUUM FULL persons, consent_records, face_templates, own_media_hashes, "
                "findings, note_keys, note_key_persons, evidence_items, cases, case_events"
            )
    db.engine.dispose()


def _checkpoint(raw: object) -> None:
    busy, _log, _done = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()  # type: ignore[attr-defined]
    if busy:
        raise StoreError(
            _(
                "another process holds the database open, so the write-ahead log could not be "
                "cleared; close it and run `haechi forget` again"
            )
        )
