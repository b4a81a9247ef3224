"""The banks themselves: create, list, show, change settings, delete; each change is an entry in
the custody log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haechi.errors import InputError, NotFoundError
from haechi.i18n import _
from haechi.services.banks.model import (
    BankView,
    as_utc,
    check_name,
    check_thresholds,
)
from haechi.store.banks import Bank, BankContent, BankSignal
from haechi.store.custody import CustodyAction, CustodyEvent, append
from haechi.store.db import Database


def bank_named(s: Session, name: str) -> Bank:
    """The bank of that name, or NotFoundError telling how to list them."""
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
            as_utc(b.created_at),
        )
        for b in banks
    ]


def log_change(s: Session, actor: str, bank: Bank, **details: Any) -> None:
    """A custody entry for a change to the bank, in the caller's transaction: counts and
    hashes only."""
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
    """Create a bank and log it in the custody log; InputError on a bad name or threshold, or a name
    already taken."""
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
        log_change(
            s, actor, bank, what="created", negative=negative, thresholds=th, rollout=rollout
        )
        return _views(s, [bank])[0]


def list_banks(db: Database) -> list[BankView]:
    """Every bank, by name, with its counts."""
    with db.session() as s:
        return _views(s, list(s.scalars(select(Bank).order_by(Bank.name))))


def get_bank(db: Database, name: str) -> BankView:
    """One bank by name, or NotFoundError."""
    with db.session() as s:
        return _views(s, [bank_named(s, name)])[0]


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
        bank = bank_named(s, name)
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
            log_change(s, actor, bank, what="settings", changes=changes)
        return _views(s, [bank])[0]


def delete_bank(db: Database, actor: str, name: str) -> int:
    """Delete a bank and its contents; returns how many contents went with it."""
    with db.session() as s:
        bank = bank_named(s, name)
        n = s.scalar(select(func.count()).where(BankContent.bank_id == bank.id)) or 0
        log_change(s, actor, bank, what="deleted", contents=n)
        s.delete(bank)
        return int(n)
