"""What needs attention now: the review queue's size and urgency, and cases by status."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from haechi.services.cases import list_cases
from haechi.services.review import QueueEntry, queue
from haechi.store.db import Database


@dataclass(frozen=True)
class Overview:
    """The dashboard's figures: findings waiting for review, how many of them are a possible
    minor or escalated, cases per status and the most urgent queue entries."""

    to_review: int
    possible_minor: int
    escalated: int
    cases_by_status: tuple[tuple[str, int], ...]
    most_urgent: tuple[QueueEntry, ...]

    def to_json(self) -> dict[str, Any]:
        """The overview as the API carries it."""
        return {
            "to_review": self.to_review,
            "possible_minor": self.possible_minor,
            "escalated": self.escalated,
            "cases_by_status": dict(self.cases_by_status),
            "most_urgent": [e.to_json() for e in self.most_urgent],
        }


def overview(db: Database, *, urgent: int = 5) -> Overview:
    """The figures for the dashboard, with the `urgent` first entries of the review queue (in
    the queue's order: possible minors, then escalated, then by risk)."""
    entries = queue(db)
    by_status = Counter(c.status for c in list_cases(db))
    return Overview(
        len(entries),
        sum(1 for e in entries if e.possible_minor),
        sum(1 for e in entries if e.status == "escalated"),
        tuple(sorted(by_status.items())),
        tuple(entries[:urgent]),
    )
