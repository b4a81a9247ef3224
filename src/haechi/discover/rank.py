"""Ranking leads: a room named by a risky room ranks above one named in the news.

A lead's score starts from the riskiest place that named it (a flagged trading room's ad for
its "backup room" counts as that room's risk), is raised by what a public search read in its
own title and description, and a little by being named in many different places; a lead
named only in news, support or police rooms stays low however often it is named. The score
orders a queue for a person; it is not a verdict."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

OWN = 0.6  # how much a risky title/description counts beside the rooms that named it
SPREAD = 0.3  # how much being named in many places adds, in proportion to the risk
SPREAD_RATE = 0.4
SHOWN = 5  # places shown per lead


@dataclass(frozen=True)
class Naming:
    """One place a lead was named, with that place's risk."""

    kind: str  # message | page | search
    room: str
    message_id: int | None
    posted_at: datetime | None
    url: str | None
    author: str | None
    excerpt: str
    risk: float
    flagged: bool

    def to_json(self) -> dict[str, Any]:
        """The naming as `discover leads --json` carries it, the author as `by`."""
        return {
            "kind": self.kind,
            "room": self.room,
            "message_id": self.message_id,
            "posted_at": self.posted_at.isoformat() if self.posted_at else None,
            "url": self.url,
            "by": self.author,
            "excerpt": self.excerpt,
            "risk": self.risk,
            "flagged": self.flagged,
        }


@dataclass(frozen=True)
class LeadFacts:
    """What is stored about one lead, as ranking reads it: its key, link and public facts,
    the risk its own title and description read, whether haechi holds it and every naming."""

    key: str
    kind: str
    url: str
    title: str
    members: int | None
    description: str
    own_risk: float | None
    held_by: str | None
    namings: tuple[Naming, ...]


@dataclass(frozen=True)
class RankedLead:
    """A lead with its score in [0, 1] and the reasons behind it, how often and in how many
    places it was named, and the `SHOWN` riskiest namings."""

    key: str
    kind: str
    url: str
    title: str
    members: int | None
    score: float
    held_by: str | None
    times: int
    places: int
    reasons: tuple[str, ...]
    shown: tuple[Naming, ...]

    @property
    def held(self) -> bool:
        """Whether haechi already holds the room (watched, captured or stored under its id)."""
        return self.held_by is not None

    def to_json(self) -> dict[str, Any]:
        """The lead as `discover leads --json` carries it (its namings as `seen`)."""
        return {
            "lead": self.key,
            "kind": self.kind,
            "url": self.url,
            "title": self.title,
            "members": self.members,
            "score": self.score,
            "held": self.held,
            "held_by": self.held_by,
            "times": self.times,
            "places": self.places,
            "reasons": list(self.reasons),
            "seen": [n.to_json() for n in self.shown],
        }


def rank(facts: LeadFacts) -> RankedLead:
    """Score one lead: the riskiest place that named it, raised by its own public text and a
    little by how many places named it. A queue order for a person, not a verdict."""
    namings = facts.namings
    places = {(n.kind, n.room) for n in namings}
    top = max(namings, key=lambda n: (n.risk, n.flagged), default=None)
    base = top.risk if top is not None else 0.0
    own = facts.own_risk or 0.0
    score = 1.0 - (1.0 - base) * (1.0 - OWN * own)
    spread = 1.0 - math.exp(-SPREAD_RATE * max(0, len(places) - 1))
    score += (1.0 - score) * SPREAD * spread * max(base, own)
    reasons: list[str] = []
    if top is not None and top.risk > 0:
        where = {"message": "room", "page": "page", "search": "search"}[top.kind]
        flag = "flagged " if top.flagged else ""
        line = f"named in {flag}{where} {top.room!r} (risk {top.risk:.2f})"
        if top.message_id is not None:
            line += f", message {top.message_id}"
        reasons.append(line)
    if own > 0:
        reasons.append(f"its public title and description read risky ({own:.2f})")
    reasons.append(f"named {len(namings)} time(s) in {len(places)} place(s)")
    if facts.held_by:
        reasons.append(f"already held: {facts.held_by}")
    shown = sorted(
        namings, key=lambda n: (-n.risk, -(n.posted_at.timestamp() if n.posted_at else 0.0))
    )[:SHOWN]
    return RankedLead(
        key=facts.key,
        kind=facts.kind,
        url=facts.url,
        title=facts.title,
        members=facts.members,
        score=round(score, 4),
        held_by=facts.held_by,
        times=len(namings),
        places=len(places),
        reasons=tuple(reasons),
        shown=tuple(shown),
    )


def rank_all(facts: Sequence[LeadFacts]) -> list[RankedLead]:
    """Every lead ranked, highest score first, then the most often named."""
    ranked = [rank(f) for f in facts]
    ranked.sort(key=lambda r: (-r.score, -r.times, r.key))
    return ranked
