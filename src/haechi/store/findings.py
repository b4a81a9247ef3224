"""Findings: what a person must look at, with the reason. General enough for every matcher
(faces, a person's own media, hash banks); unique per item, kind, subject and place in the item,
so a rescan or a repeated match never adds a second row."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from haechi.store.models import Base, utcnow

# reupload: content back at a location after a takedown request (services.recheck).
KINDS = ("face_match", "own_media_match", "hash_bank_match", "reupload")
STATUSES = ("open", "escalated", "confirmed", "dismissed")


class Finding(Base):
    """One row: something a person must look at (a face match, a match with a person's own media, a
    hash-bank match, a reupload), with its score, threshold, reason and review status."""

    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("item_sha256", "kind", "subject", "locus", name="uq_findings_what_where"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_sha256: Mapped[str] = mapped_column(
        ForeignKey("items.sha256", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    # The enrolled person the finding is about, when it is about one.
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True, default=None
    )
    # What was matched: "person:<id>", "bank:<name>" … (never NULL, so the unique key holds).
    subject: Mapped[str] = mapped_column(String(128))
    # Where in the item: "" for the whole item, "t=12.000 box=x,y,w,h" for a face in a frame.
    locus: Mapped[str] = mapped_column(String(128), default="")
    score: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")
    possible_minor: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def minor_items(session: Session, shas: Iterable[str]) -> set[str]:
    """Items with a finding flagged as a possible minor: their media stays out of exports,
    reports and drafts unless an authorisation is given (and logged)."""
    wanted = list(shas)
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(Finding.item_sha256)
            .where(Finding.item_sha256.in_(wanted), Finding.possible_minor.is_(True))
            .distinct()
        )
    )
