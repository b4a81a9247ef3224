"""Hash banks: named sets of content signals a centre has seen before (or knows to be false
positives: a negative bank), with where each entry came from.

A bank holds contents (HMA's "bank content"), each with one or more signals (a PDQ hash, an
MD5, a SHA-256, a vPDQ frame list). Only hashes are kept: never media, never a face."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from haechi.store.models import Base, utcnow

SIGNAL_TYPES = ("pdq", "md5", "sha256", "vpdq")


class Bank(Base):
    """One row: a named hash bank (HMA's naming rule), whether it is negative, enabled, its rollout
    share and its own thresholds per signal type."""

    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # HMA's rule for bank names ([A-Z_][A-Z0-9_]*), so HMA clients can name them unchanged.
    name: Mapped[str] = mapped_column(String(128), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # A match in a negative bank (known false positives) suppresses matches in the others.
    negative: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # HMA's matching_enabled_ratio: the share of the bank's contents that match, chosen by a
    # hash of the content so the same contents stay in (or out) as the ratio grows.
    rollout: Mapped[float] = mapped_column(Float, default=1.0)
    # Per signal type: {"pdq": 31, "vpdq": 31, "vpdq_share": 0.8}; missing types use settings.
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class BankContent(Base):
    """One banked thing (a photo, a video, a hash someone sent) and its provenance."""

    __tablename__ = "bank_contents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), index=True)
    # Where it came from: the case and item, or an import ("import:FILE"), or the API.
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True, default=None
    )
    item_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    source: Mapped[str] = mapped_column(String(512), default="")
    added_by: Mapped[str] = mapped_column(String(128))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # False takes the content out of matching without losing it (HMA's disable_until_ts 0).
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class BankSignal(Base):
    """One row: one hash of a banked content (hex; for vPDQ the SHA-256 of its frame list with the
    frames beside it), unique per bank, type and value."""

    __tablename__ = "bank_signals"
    __table_args__ = (
        UniqueConstraint("bank_id", "signal_type", "value", name="uq_bank_signals_value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_id: Mapped[int] = mapped_column(
        ForeignKey("bank_contents.id", ondelete="CASCADE"), index=True
    )
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), index=True)
    signal_type: Mapped[str] = mapped_column(String(16))
    # The hash as text (hex); for vPDQ the SHA-256 of its canonical frame list.
    value: Mapped[str] = mapped_column(String(64))
    quality: Mapped[int | None] = mapped_column(Integer, default=None)
    # vPDQ only: [[pdq hex, quality, timestamp], …] in frame order.
    frames: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
