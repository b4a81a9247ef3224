"""Findings: what a person must look at, with the reason. General enough for every matcher
(faces, a person's own media, hash banks); unique per item, kind, subject and place in the item,
so a rescan or a repeated match never adds a second row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from haechi.store.models import Base, utcnow

KINDS = ("face_match", "own_media_match", "hash_bank_match")
STATUSES = ("open", "confirmed", "dismissed")


class Finding(Base):
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
