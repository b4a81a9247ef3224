"""Evidence packages of a case: every item of the case, exported as one package, with a line in
the case's timeline. `haechi evidence export --case` and the police report call this."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from haechi.config import Settings
from haechi.evidence.package import PackageResult, export_package
from haechi.services.cases import case_item_shas, record
from haechi.store import items as items_store
from haechi.store.custody import CustodyAction, CustodyEvent, CustodyRecord, append, entries
from haechi.store.custody_anchor import HeadAnchor, write_head_file
from haechi.store.db import Database
from haechi.store.evidence_models import EvidenceItem
from haechi.store.notes import open_details, persons_of_items, seal
from haechi.store.tsa import TSAConfig, timestamp_head
from haechi.store.vault import Vault


def export_case(
    db: Database,
    settings: Settings,
    case_id: int,
    to: Path,
    *,
    actor: str,
    extra_items: Sequence[str] = (),
    title: str | None = None,
    recipients: Sequence[str] = (),
    plain_media: bool = False,
    include_media: bool = True,
    authorise_minor: bool = False,
) -> PackageResult:
    """Package every item of the case (and `extra_items`). The case title is free text that may
    name the person: it goes into the package only when given here, never into the log."""
    refs = [*extra_items, *case_item_shas(db, case_id)]
    case_ref = f"case {case_id}"
    res = export_package(
        db,
        settings,
        refs,
        to,
        actor=actor,
        title=title or case_ref,
        case_ref=case_ref,
        recipients=recipients,
        plain_media=plain_media,
        include_media=include_media,
        authorise_minor=authorise_minor,
    )
    record(db, case_id, actor, "exported", items=len(res.items), to=res.path.name)
    return res


@dataclass(frozen=True)
class HeadStamp:
    """A custody head signed by a timestamp authority."""

    seq: int
    head_hash: str
    gen_time: datetime
    serial: str


@dataclass(frozen=True)
class LogEntry:
    """A custody entry and its details as a person reads them (sealed notes opened when the
    vault is at hand; the hashed record keeps the sealed form)."""

    record: CustodyRecord
    opened: Any


def timestamp_custody_head(db: Database, cfg: TSAConfig) -> HeadStamp:
    """Have the timestamp authority sign the current custody head and keep its token
    (network)."""
    with db.session() as s:
        row = timestamp_head(s, cfg)
        return HeadStamp(row.seq, row.head_hash, row.gen_time, str(row.serial))


def write_custody_head(db: Database, to: Path) -> HeadAnchor:
    """Write the custody head (seq and hash) to a file to keep on other media."""
    with db.session() as s:
        return write_head_file(s, to)


def custody_log(
    db: Database,
    vault: Vault | None,
    *,
    item: str | None = None,
    action: str | None = None,
    limit: int = 0,
) -> list[LogEntry]:
    """Custody entries, oldest first: about one item (SHA-256 or prefix), of one action, the
    last `limit` (0: all)."""
    with db.session() as s:
        objects = None if item is None else [f"item:{items_store.get_item(s, item).sha256}"]
        rows = entries(s, objects=objects, actions=[action] if action else None)
        if limit:
            rows = rows[-limit:]
        return [LogEntry(r, open_details(s, vault, r.details)) for r in rows]


def record_shared(
    db: Database, vault: Vault | None, actor: str, refs: Sequence[str], with_: str, note: str | None
) -> list[tuple[str, int]]:
    """Log that items were handed to `with_`, the note sealed (when a vault is given) for the
    persons the items show; returns (SHA-256, custody seq) per item."""
    done = []
    with db.session() as s:
        for ref in refs:
            sha = items_store.get_item(s, ref).sha256
            sealed = seal(s, vault, note, persons_of_items(s, [sha])) if vault and note else None
            rec = append(
                s,
                CustodyEvent(
                    actor, CustodyAction.SHARED, f"item:{sha}", {"with": with_, "note": sealed}
                ),
            )
            done.append((sha, rec.seq))
    return done


def record_viewed(db: Database, vault: Vault, actor: str, ref: str, reason: str | None) -> str:
    """Log that a preserved item is being viewed (the reason sealed); returns its SHA-256."""
    with db.session() as s:
        sha = items_store.get_item(s, ref).sha256
        details = {}
        if reason:
            details["reason"] = seal(s, vault, reason, persons_of_items(s, [sha]))
        append(s, CustodyEvent(actor, CustodyAction.VIEWED, f"item:{sha}", details))
    return sha


def not_preserved(db: Database, shas: Sequence[str]) -> list[str]:
    """Those of `shas` that are not in the evidence vault."""
    with db.session() as s:
        return [sha for sha in shas if s.get(EvidenceItem, sha) is None]
