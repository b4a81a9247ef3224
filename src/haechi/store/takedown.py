"""Takedown requests: one per case, location and platform, with the date of every state it went
through. The request texts are files in the case's folder; only their names are stored here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from haechi.store.models import Base, utcnow

STATES = (
    "drafted",
    "approved",
    "sent",
    "acknowledged",
    "removed",
    "refused",
    "no_answer",
    "reappeared",
)
# Where each state may go. Nothing is sent without a person's approval first; "reappeared" is
# reached only by a recheck, after the content was gone (a new request is drafted for it).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "drafted": ("approved",),
    # Approved again after its e-mail was edited (an abuse address written in, say).
    "approved": ("sent", "approved"),
    "sent": ("acknowledged", "removed", "refused", "no_answer"),
    "acknowledged": ("removed", "refused", "no_answer"),
    "no_answer": ("acknowledged", "removed", "refused"),
    "refused": ("removed",),
    "removed": ("reappeared",),
    "reappeared": (),
}
# Waiting for the platform: past its expected response time, the request is overdue.
WAITING = ("sent", "acknowledged")
# What a recheck looks at: requests whose content may have gone or come back.
RECHECKED = ("sent", "acknowledged", "no_answer", "refused", "removed")


class TakedownRequest(Base):
    """One row: a takedown request for one location of a case, its drafted files, state with a
    timestamp per state, and its history."""

    __tablename__ = "takedown_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(64))
    # A captured URL, a Telegram message link or a WARC record's URL.
    location: Mapped[str] = mapped_column(String(4096))
    items: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default="drafted")
    # Snapshots of the directory entry when drafted, so a later edit of it does not move dates.
    response_days: Mapped[int] = mapped_column(Integer)
    verified: Mapped[bool] = mapped_column(Boolean)
    folder: Mapped[str] = mapped_column(String(4096))
    files: Mapped[list[str]] = mapped_column(JSON, default=list)
    drafted_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    approved_by: Mapped[str | None] = mapped_column(String(200), default=None)
    # Each file's SHA-256 when approved: `send` sends only what a person approved.
    approved_files: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    removed_at: Mapped[datetime | None] = mapped_column(default=None)
    refused_at: Mapped[datetime | None] = mapped_column(default=None)
    no_answer_at: Mapped[datetime | None] = mapped_column(default=None)
    reappeared_at: Mapped[datetime | None] = mapped_column(default=None)
    last_checked_at: Mapped[datetime | None] = mapped_column(default=None)
    # The finding made when the content came back.
    reappeared_finding_id: Mapped[int | None] = mapped_column(
        ForeignKey("findings.id", ondelete="SET NULL"), default=None
    )
    # [{state, at, by}] in order, and recheck results: the request's own history.
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
