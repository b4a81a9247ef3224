"""Hash banks: create them, add hashes with their provenance (a case's confirmed items in one
step, an imported list, an API call), set thresholds, rollout and negative banks.

Every change to a bank's contents is an entry in the custody log (counts and hashes only: a
bank holds no media and nothing about a face). Matching against banks is in
`haechi.matching.banks`; file formats in `haechi.share.formats`."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haechi.errors import InputError, NotFoundError
from haechi.i18n import _
from haechi.matching.thresholds import PDQ_MAX_SAFE_DISTANCE
from haechi.store.banks import SIGNAL_TYPES, Bank, BankContent, BankSignal
from haechi.store.custody import CustodyAction, CustodyEvent, append
from haechi.store.db import Database

NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
HEX = re.compile(r"^[0-9a-f]+$")
HEX_LEN = {"pdq": 64, "md5": 32, "sha256": 64}
# Threshold keys a bank may set: a distance per distance-based type, and the vPDQ share.
THRESHOLD_KEYS = ("pdq", "vpdq", "vpdq_share")


@dataclass(frozen=True)
class Frame:
    """One vPDQ frame: PDQ hex, quality, timestamp in seconds."""

    pdq: str
    quality: int
    t: float


@dataclass(frozen=True)
class SignalIn:
    signal_type: str
    value: str = ""  # the hash; for vPDQ filled in from the frames
    quality: int | None = None
    frames: tuple[Frame, ...] = ()


@dataclass(frozen=True)
class ContentIn:
    """One thing to bank: its signals and where it came from."""

    signals: tuple[SignalIn, ...]
    item_sha256: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class BankView:
    id: int
    name: str
    description: str
    negative: bool
    enabled: bool
    rollout: float
    thresholds: dict[str, Any]
    contents: int
    signals: dict[str, int]
    created_by: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "negative": self.negative,
            "enabled": self.enabled,
            "rollout": self.rollout,
            "thresholds": self.thresholds,
            "contents": self.contents,
            "signals": self.signals,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class ContentView:
    id: int
    bank: str
    enabled: bool
    case_id: int | None
    item_sha256: str | None
    source: str
    added_by: str
    added_at: datetime
    tags: tuple[str, ...]
    signals: tuple[SignalIn, ...] = field(default=())

    def provenance(self) -> dict[str, Any]:
        return {
            "case": self.case_id,
            "item_sha256": self.item_sha256,
            "source": self.source,
            "added_by": self.added_by,
            "added_at": self.added_at.isoformat(),
            "tags": list(self.tags),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "bank": self.bank,
            "enabled": self.enabled,
            **self.provenance(),
            "signals": {s.signal_type: signal_text(s) for s in self.signals},
        }


@dataclass(frozen=True)
class AddResult:
    bank: str
    contents_added: int
    signals_added: int
    signals_known: int  # already in the bank: kept once, with its first provenance
    content_ids: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "bank": self.bank,
            "contents_added": self.contents_added,
            "signals_added": self.signals_added,
            "signals_known": self.signals_known,
            "content_ids": list(self.content_ids),
        }


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def signal_text(sig: SignalIn) -> str:
    """A signal as python-threatexchange writes it: hex, or for vPDQ its JSON list of
    "pdqhex,quality,timestamp" strings."""
    if sig.signal_type == "vpdq":
        return json.dumps([f"{f.pdq},{f.quality},{f.t:.3f}" for f in sig.frames])
    return sig.value


def vpdq_value(frames: Sequence[Frame]) -> str:
    """The stored key of a vPDQ signal: SHA-256 of its canonical frame list."""
    text = "\n".join(f"{f.pdq},{f.quality},{f.t:.3f}" for f in frames)
    return hashlib.sha256(text.encode()).hexdigest()


def check_signal(sig: SignalIn) -> SignalIn:
    """The signal normalised (lowercase hex), or InputError naming what is wrong."""
    st = sig.signal_type
    if st not in SIGNAL_TYPES:
        raise InputError(
            _("unknown signal type {st!r}: one of {signal_types}").format(
                st=st, signal_types=", ".join(SIGNAL_TYPES)
            )
        )
    if st == "vpdq":
        if not sig.frames:
            raise InputError(_("a vPDQ signal needs at least one frame"))
        frames = tuple(
            Frame(check_signal(SignalIn("pdq", f.pdq)).value, int(f.quality), float(f.t))
            for f in sig.frames
        )
        for f in frames:
            if not 0 <= f.quality <= 100 or f.t < 0:
                raise InputError(
                    _("vPDQ frame at {t}: quality 0-100 and a time ≥ 0 expected").format(t=f.t)
                )
        return SignalIn("vpdq", vpdq_value(frames), None, frames)
    value = sig.value.strip().lower()
    if len(value) != HEX_LEN[st] or not HEX.match(value):
        raise InputError(
            _("{value!r} is not a {st} hash ({hex_len} hex characters)").format(
                value=sig.value[:80], st=st, hex_len=HEX_LEN[st]
            )
        )
    if sig.quality is not None and not 0 <= sig.quality <= 100:
        raise InputError(_("PDQ quality {quality} is outside 0-100").format(quality=sig.quality))
    return SignalIn(st, value, sig.quality)


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise InputError(
            _(
                "bank name {name!r}: capital letters, digits and _ only, not "
                "starting with a digit (HMA's rule, so HMA clients can use "
                "it), e.g. CASE_17_IMAGES"
            ).format(name=name)
        )
    return name


def check_thresholds(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in values.items():
        if k not in THRESHOLD_KEYS:
            raise InputError(
                _("unknown threshold {k!r}: one of {threshold_keys}").format(
                    k=k, threshold_keys=", ".join(THRESHOLD_KEYS)
                )
            )
        if k == "vpdq_share":
            if not 0 < float(v) <= 1:
                raise InputError(_("vpdq_share is a share of frames, above 0 and at most 1"))
            out[k] = float(v)
        else:
            if not 0 <= int(v) <= PDQ_MAX_SAFE_DISTANCE:
                # Beyond ~90 bits unrelated images match (random pairs sit near 128).
                raise InputError(
                    _("{k} distance {v}: use 0-90 (31 is PDQ's usual threshold)").format(k=k, v=v)
                )
            out[k] = int(v)
    return out


def _bank(s: Session, name: str) -> Bank:
    bank = s.scalar(select(Bank).where(Bank.name == name))
    if bank is None:
        raise NotFoundError(
            _("no bank {name!r}: `haechi banks list` shows the banks").format(name=name)
        )
    return bank


def _views(s: Session, banks: Sequence[Bank]) -> list[BankView]:
    ids = [b.id for b in banks]
    contents: dict[int, int] = {}
    for bid, n in s.execute(
        select(BankContent.bank_id, func.count())
        .where(BankContent.bank_id.in_(ids))
        .group_by(BankContent.bank_id)
    ):
        contents[bid] = n
    signals: dict[int, dict[str, int]] = {}
    for bid, st, n in s.execute(
        select(BankSignal.bank_id, BankSignal.signal_type, func.count())
        .where(BankSignal.bank_id.in_(ids))
        .group_by(BankSignal.bank_id, BankSignal.signal_type)
    ):
        signals.setdefault(bid, {})[st] = n
    return [
        BankView(
            b.id,
            b.name,
            b.description,
            b.negative,
            b.enabled,
            b.rollout,
            dict(b.thresholds),
            contents.get(b.id, 0),
            signals.get(b.id, {}),
            b.created_by,
            _utc(b.created_at),
        )
        for b in banks
    ]


def _log(s: Session, actor: str, bank: Bank, **details: Any) -> None:
    append(s, CustodyEvent(actor, CustodyAction.BANKED, f"bank:{bank.name}", details))


def create_bank(
    db: Database,
    actor: str,
    name: str,
    *,
    description: str = "",
    negative: bool = False,
    thresholds: dict[str, Any] | None = None,
    rollout: float = 1.0,
) -> BankView:
    check_name(name)
    if not 0 <= rollout <= 1:
        raise InputError(_("the rollout is a share of the bank's contents, 0 to 1"))
    th = check_thresholds(thresholds or {})
    with db.session() as s:
        if s.scalar(select(Bank.id).where(Bank.name == name)) is not None:
            raise InputError(
                _("a bank named {name} exists already: `haechi banks show {name}`").format(
                    name=name
                )
            )
        bank = Bank(
            name=name,
            description=description.strip(),
            negative=negative,
            rollout=float(rollout),
            thresholds=th,
            created_by=actor,
        )
        s.add(bank)
        s.flush()
        _log(s, actor, bank, what="created", negative=negative, thresholds=th, rollout=rollout)
        return _views(s, [bank])[0]


def list_banks(db: Database) -> list[BankView]:
    with db.session() as s:
        return _views(s, list(s.scalars(select(Bank).order_by(Bank.name))))


def get_bank(db: Database, name: str) -> BankView:
    with db.session() as s:
        return _views(s, [_bank(s, name)])[0]


def update_bank(
    db: Database,
    actor: str,
    name: str,
    *,
    enabled: bool | None = None,
    rollout: float | None = None,
    thresholds: dict[str, Any] | None = None,
    negative: bool | None = None,
    description: str | None = None,
) -> BankView:
    """Change a bank's settings; each change is logged with its before and after."""
    with db.session() as s:
        bank = _bank(s, name)
        changes: dict[str, Any] = {}
        if enabled is not None and enabled != bank.enabled:
            changes["enabled"] = [bank.enabled, enabled]
            bank.enabled = enabled
        if rollout is not None and rollout != bank.rollout:
            if not 0 <= rollout <= 1:
                raise InputError(_("the rollout is a share of the bank's contents, 0 to 1"))
            changes["rollout"] = [bank.rollout, rollout]
            bank.rollout = float(rollout)
        if thresholds:
            new = {**bank.thresholds, **check_thresholds(thresholds)}
            changes["thresholds"] = [dict(bank.thresholds), new]
            bank.thresholds = new
        if negative is not None and negative != bank.negative:
            changes["negative"] = [bank.negative, negative]
            bank.negative = negative
        if description is not None:
            bank.description = description.strip()
        if changes:
            bank.updated_at = datetime.now(UTC)
            _log(s, actor, bank, what="settings", changes=changes)
        return _views(s, [bank])[0]


def delete_bank(db: Database, actor: str, name: str) -> int:
    """Delete a bank and its contents; returns how many contents went with it."""
    with db.session() as s:
        bank = _bank(s, name)
        n = s.scalar(select(func.count()).where(BankContent.bank_id == bank.id)) or 0
        _log(s, actor, bank, what="deleted", contents=n)
        s.delete(bank)
        return int(n)


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
        bank = _bank(s, name)
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
            _log(
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
        _bank(s, name)
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
            _utc(c.added_at),
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
        bank = _bank(s, name)
        q = (
            select(BankContent)
            .where(BankContent.bank_id == bank.id, BankContent.id > after)
            .order_by(BankContent.id)
        )
        if limit is not None:
            q = q.limit(limit)
        return _content_views(s, list(s.scalars(q)), bank.name)


def get_content(db: Database, name: str, content_id: int) -> ContentView:
    with db.session() as s:
        bank = _bank(s, name)
        row = s.get(BankContent, content_id)
        if row is None or row.bank_id != bank.id:
            raise NotFoundError(
                _("bank {name} has no content {content_id}").format(
                    name=name, content_id=content_id
                )
            )
        return _content_views(s, [row], bank.name)[0]


def set_content_enabled(
    db: Database, actor: str, name: str, content_id: int, enabled: bool
) -> ContentView:
    with db.session() as s:
        bank = _bank(s, name)
        row = s.get(BankContent, content_id)
        if row is None or row.bank_id != bank.id:
            raise NotFoundError(
                _("bank {name} has no content {content_id}").format(
                    name=name, content_id=content_id
                )
            )
        if row.enabled != enabled:
            row.enabled = enabled
            bank.updated_at = datetime.now(UTC)
            _log(s, actor, bank, what="content", content=content_id, enabled=enabled)
        return _content_views(s, [row], bank.name)[0]


def delete_content(db: Database, actor: str, name: str, content_id: int) -> None:
    with db.session() as s:
        bank = _bank(s, name)
        row = s.get(BankContent, content_id)
        if row is None or row.bank_id != bank.id:
            raise NotFoundError(
                _("bank {name} has no content {content_id}").format(
                    name=name, content_id=content_id
                )
            )
        bank.updated_at = datetime.now(UTC)
        _log(s, actor, bank, what="content_deleted", content=content_id)
        s.delete(row)


def record_feedback(db: Database, actor: str, name: str, content_id: int, verdict: str) -> None:
    """A platform's word on a match against a content (confirm or reject), in the custody log."""
    with db.session() as s:
        bank = _bank(s, name)
        _log(s, actor, bank, what="feedback", content=content_id, verdict=verdict)


def item_bank_signals(db: Database, ref: str, min_quality: int) -> tuple[str, tuple[SignalIn, ...]]:
    """The full SHA-256 of the item `ref` names (a SHA-256 or a unique prefix) and what it
    gives a bank (see `item_signals`)."""
    from haechi.store.items import get_item

    with db.session() as s:
        sha = get_item(s, ref).sha256
        return sha, item_signals(s, sha, min_quality)
