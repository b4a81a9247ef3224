"""Bank contents: add hashes (a list, or a case's confirmed items in one step), list, enable,
disable and delete them, record feedback; each change is an entry in the custody log."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from haechi.errors import InputError, NotFoundError
from haechi.i18n import _
from haechi.services.banks.catalogue import bank_named, log_change
from haechi.services.banks.model import (
    AddResult,
    ContentIn,
    ContentView,
    Frame,
    SignalIn,
    as_utc,
    check_signal,
)
from haechi.store.banks import Bank, BankContent, BankSignal
from haechi.store.db import Database


def add_contents(
    db: Database,
    actor: str,
    name: str,
    contents: Iterable[ContentIn],
    *,
    source: str,
    case_id: int | None = None,
) -> AddResult:
    """Bank `contents` in one transaction (all or none). A signal the bank holds already is
    not added twice: it keeps its first provenance."""
    checked = [
        ContentIn(tuple(check_signal(sig) for sig in c.signals), c.item_sha256, c.tags)
        for c in contents
    ]
    with db.session() as s:
        bank = bank_named(s, name)
        known: set[tuple[str, str]] = set()
        for st, v in s.execute(
            select(BankSignal.signal_type, BankSignal.value).where(BankSignal.bank_id == bank.id)
        ):
            known.add((st, v))
        added_contents: list[int] = []
        added = dup = 0
        for c in checked:
            new = [sig for sig in c.signals if (sig.signal_type, sig.value) not in known]
            dup += len(c.signals) - len(new)
            if not new:
                continue
            row = BankContent(
                bank_id=bank.id,
                case_id=case_id,
                item_sha256=c.item_sha256,
                source=source[:512],
                added_by=actor,
                tags=sorted(set(c.tags)),
            )
            s.add(row)
            s.flush()
            for sig in new:
                known.add((sig.signal_type, sig.value))
                s.add(
                    BankSignal(
                        content_id=row.id,
                        bank_id=bank.id,
                        signal_type=sig.signal_type,
                        value=sig.value,
                        quality=sig.quality,
                        frames=[[f.pdq, f.quality, f.t] for f in sig.frames] or None,
                    )
                )
                added += 1
            added_contents.append(row.id)
        if added:
            bank.updated_at = datetime.now(UTC)
            log_change(
                s,
                actor,
                bank,
                what="added",
                source=source[:512],
                case=case_id,
                contents=len(added_contents),
                signals=added,
                already_held=dup,
            )
        return AddResult(bank.name, len(added_contents), added, dup, tuple(added_contents))


def item_signals(s: Session, sha256: str, min_quality: int) -> tuple[SignalIn, ...]:
    """What an item gives a bank: its MD5 and SHA-256, its PDQ (a still image of trusted
    quality) or its vPDQ frames (a video)."""
    from haechi.store.models import Item, SignalRow

    item = s.get(Item, sha256)
    if item is None:
        raise NotFoundError(_("no item {sha256}").format(sha256=sha256))
    out = [SignalIn("sha256", item.sha256), SignalIn("md5", item.md5)]
    payload = s.scalar(
        select(SignalRow.payload)
        .where(SignalRow.item_sha256 == sha256, SignalRow.analyzer == "pdq")
        .order_by(SignalRow.created_at.desc())
        .limit(1)
    )
    if payload:
        if payload.get("pdq") and (payload.get("quality") or 0) >= min_quality:
            out.append(SignalIn("pdq", payload["pdq"], int(payload["quality"])))
        frames = tuple(
            Frame(f["pdq"], int(f["quality"]), float(f.get("t") or 0.0))
            for f in payload.get("frames") or ()
        )
        if frames:
            out.append(SignalIn("vpdq", frames=frames))
    return tuple(out)


def add_case(
    db: Database,
    settings_min_quality: int,
    actor: str,
    name: str,
    case_id: int,
    *,
    tags: Sequence[str] = (),
) -> AddResult:
    """Bank the items of a case that a reviewer confirmed (a confirmed finding), in one step;
    the case's timeline and the custody log record it."""
    from haechi.services.cases import record
    from haechi.store.cases import Case, CaseItem
    from haechi.store.findings import Finding

    with db.session() as s:
        if s.get(Case, case_id) is None:
            raise NotFoundError(
                _("no case {case_id}: `haechi case list` shows the cases").format(case_id=case_id)
            )
        bank_named(s, name)
        shas = list(
            s.scalars(
                select(CaseItem.item_sha256)
                .join(Finding, Finding.item_sha256 == CaseItem.item_sha256)
                .where(CaseItem.case_id == case_id, Finding.status == "confirmed")
                .distinct()
                .order_by(CaseItem.item_sha256)
            )
        )
        if not shas:
            raise InputError(
                _(
                    "case {case_id} has no confirmed item yet: confirm findings "
                    "first (`haechi review --case {case_id}`)"
                ).format(case_id=case_id)
            )
        contents = [
            ContentIn(item_signals(s, sha, settings_min_quality), sha, tuple(tags)) for sha in shas
        ]
    result = add_contents(db, actor, name, contents, source=f"case:{case_id}", case_id=case_id)
    record(
        db,
        case_id,
        actor,
        "banked",
        bank=name,
        items=len(shas),
        signals=result.signals_added,
    )
    return result


def _content_views(s: Session, rows: Sequence[BankContent], bank_name: str) -> list[ContentView]:
    ids = [c.id for c in rows]
    sigs: dict[int, list[SignalIn]] = {}
    for sig in s.scalars(
        select(BankSignal).where(BankSignal.content_id.in_(ids)).order_by(BankSignal.id)
    ):
        frames = tuple(Frame(f[0], int(f[1]), float(f[2])) for f in sig.frames or ())
        sigs.setdefault(sig.content_id, []).append(
            SignalIn(sig.signal_type, sig.value, sig.quality, frames)
        )
    return [
        ContentView(
            c.id,
            bank_name,
            c.enabled,
            c.case_id,
            c.item_sha256,
            c.source,
            c.added_by,
            as_utc(c.added_at),
            tuple(c.tags or ()),
            tuple(sigs.get(c.id, ())),
        )
        for c in rows
    ]


def contents(
    db: Database, name: str, *, after: int = 0, limit: int | None = None
) -> list[ContentView]:
    """A bank's contents with their signals and provenance, in the order they were added."""
    with db.session() as s:
        bank = bank_named(s, name)
        q = (
            select(BankContent)
            .where(BankContent.bank_id == bank.id, BankContent.id > after)
            .order_by(BankContent.id)
        )
        if limit is not None:
            q = q.limit(limit)
        return _content_views(s, list(s.scalars(q)), bank.name)


def _content_row(s: Session, bank: Bank, name: str, content_id: int) -> BankContent:
    """The bank's content `content_id`; NotFoundError when this bank does not hold it."""
    row = s.get(BankContent, content_id)
    if row is None or row.bank_id != bank.id:
        raise NotFoundError(
            _("bank {name} has no content {content_id}").format(name=name, content_id=content_id)
        )
    return row


def get_content(db: Database, name: str, content_id: int) -> ContentView:
    """One content of the bank with its signals, or NotFoundError if the bank does not hold it."""
    with db.session() as s:
        bank = bank_named(s, name)
        row = _content_row(s, bank, name, content_id)
        return _content_views(s, [row], bank.name)[0]


def set_content_enabled(
    db: Database, actor: str, name: str, content_id: int, enabled: bool
) -> ContentView:
    """Enable or disable one content (a disabled one no longer matches); logged only when it
    changes."""
    with db.session() as s:
        bank = bank_named(s, name)
        row = _content_row(s, bank, name, content_id)
        if row.enabled != enabled:
            row.enabled = enabled
            bank.updated_at = datetime.now(UTC)
            log_change(s, actor, bank, what="content", content=content_id, enabled=enabled)
        return _content_views(s, [row], bank.name)[0]


def delete_content(db: Database, actor: str, name: str, content_id: int) -> None:
    """Delete one content and its signals from the bank, with a custody entry."""
    with db.session() as s:
        bank = bank_named(s, name)
        row = _content_row(s, bank, name, content_id)
        bank.updated_at = datetime.now(UTC)
        log_change(s, actor, bank, what="content_deleted", content=content_id)
        s.delete(row)


def record_feedback(db: Database, actor: str, name: str, content_id: int, verdict: str) -> None:
    """A platform's word on a match against a content (confirm or reject), in the custody log."""
    with db.session() as s:
        bank = bank_named(s, name)
        log_change(s, actor, bank, what="feedback", content=content_id, verdict=verdict)


def item_bank_signals(db: Database, ref: str, min_quality: int) -> tuple[str, tuple[SignalIn, ...]]:
    """The full SHA-256 of the item `ref` names (a SHA-256 or a unique prefix) and what it
    gives a bank (see `item_signals`)."""
    from haechi.store.items import get_item

    with db.session() as s:
        sha = get_item(s, ref).sha256
        return sha, item_signals(s, sha, min_quality)
