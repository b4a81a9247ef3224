"""What `haechi network` shows: the accounts with the most content per role, and rooms by reach
(how many accounts were present where content first seen in the room travelled)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from haechi.network.model import ROLE_LABELS, ROLES, Network, Role


@dataclass(frozen=True)
class RoleRow:
    """One account in the role table: how many content clusters and messages back the role,
    the strongest certainty among its claims and one example message."""

    role: Role
    account: str
    name: str
    content: int
    evidence: int
    certainty: str
    example: str
    # Why the content behind these claims is of interest (INTEREST kinds).
    interest: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The row as `network --json` carries it, with the role's English and Korean labels."""
        return {
            "type": "role",
            "interest": list(self.interest),
            "role": self.role,
            "label": {"en": ROLE_LABELS[self.role][0], "ko": ROLE_LABELS[self.role][1]},
            "account": self.account,
            "name": self.name,
            "content": self.content,
            "evidence": self.evidence,
            "certainty": self.certainty,
            "example": self.example,
        }


@dataclass(frozen=True)
class RoomRow:
    """One room by reach: how much content of interest passed through it, how much was first
    seen there, and how many rooms and accounts that content reached from there on."""

    room: str
    name: str
    risk: float
    flagged: bool
    content: int
    first_seen_here: int
    rooms_reached: int
    accounts_reached: int

    def to_json(self) -> dict[str, Any]:
        """The row as `network --json` carries it."""
        return {"type": "room", **self.__dict__}


def interest_of(net: Network, clusters: set[str | None]) -> tuple[str, ...]:
    """Why any of these pieces of content is of interest, as INTEREST kinds."""
    return tuple(
        sorted({k for c in clusters if c in net.clusters for k in net.clusters[c].interest})
    )


def top_roles(net: Network, role: Role | None = None, limit: int = 10) -> list[RoleRow]:
    """For each role (or only `role`), the `limit` accounts with the most content clusters
    behind it, then the most evidence (0: all of them)."""
    rows: list[RoleRow] = []
    for r in [role] if role else list(ROLES):
        per: dict[str, list[Any]] = defaultdict(list)
        for c in net.claims:
            if c.role == r:
                per[c.account].append(c)
        ranked = sorted(
            per.items(),
            key=lambda kv: (
                -len({c.cluster for c in kv[1]}),
                -sum(len(c.evidence) for c in kv[1]),
                kv[0],
            ),
        )
        for aid, claims in ranked[: limit or None]:
            certs = {c.certainty for c in claims}
            cert = next(x for x in ("observed", "inferred", "uncertain") if x in certs)
            ev = claims[0].evidence[0] if claims[0].evidence else None
            example = (
                f"{ev.what}: room {ev.room_name} #{ev.message_id}"
                + (f" {ev.at:%Y-%m-%d %H:%M}" if ev.at else "")
                if ev
                else claims[0].note
            )
            acc = net.accounts.get(aid)
            rows.append(
                RoleRow(
                    role=r,
                    account=aid,
                    name=acc.label if acc else aid,
                    content=len({c.cluster for c in claims if c.cluster}),
                    evidence=sum(len(c.evidence) for c in claims),
                    certainty=cert,
                    example=example,
                    interest=interest_of(net, {c.cluster for c in claims}),
                )
            )
    return rows


def rooms_by_reach(net: Network, limit: int = 10) -> list[RoomRow]:
    """Rooms that content of interest passed through, the widest reach first, at most
    `limit` (0: all); news and support posts are no step of the content's travel."""
    present: dict[str, set[str]] = defaultdict(set)
    for m in net.members:
        present[m.room].add(m.account)
    for p in net.posts:
        if p.account:
            present[p.room].add(p.account)
    interest = {cid for cid, c in net.clusters.items() if c.of_interest and not c.request_photo}
    rooms_of: dict[str, list[str]] = defaultdict(list)
    for p in net.posts:
        if p.reporting:
            continue  # a news or support post is no step of the content's travel
        if p.cluster in interest and p.room not in rooms_of[p.cluster]:
            rooms_of[p.cluster].append(p.room)
    rows: list[RoomRow] = []
    for rid, room in net.rooms.items():
        content = {c for c, rs in rooms_of.items() if rid in rs}
        first = {c for c, rs in rooms_of.items() if rs and rs[0] == rid}
        reached: set[str] = set()
        for c in content:
            rs = rooms_of[c]
            reached.update(rs[rs.index(rid) :])
        accounts = set().union(*(present[r] for r in reached)) if reached else set()
        if not content:
            continue
        rows.append(
            RoomRow(
                rid,
                room.name,
                room.risk,
                room.flagged,
                len(content),
                len(first),
                len(reached),
                len(accounts),
            )
        )
    rows.sort(key=lambda r: (-r.accounts_reached, -r.content, r.room))
    return rows[: limit or None]
