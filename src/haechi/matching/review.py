"""Findings as a person reviews them: one per item, kind and subject (a video's matching frames
together, with their times and the best score), where the item was seen in chat rooms (room,
poster, forward, time), and the network roles on the content it belongs to. Read-only."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from haechi.network.corpus import room_node_id
from haechi.network.model import ROLE_LABELS, ROLES, Network
from haechi.store.findings import Finding
from haechi.store.models import Message, Room, Sighting


@dataclass(frozen=True)
class Place:
    """One stored finding: a face in one frame (or the whole item), its score."""

    id: int
    t: float | None
    box: tuple[int, ...] | None
    score: float
    status: str


@dataclass(frozen=True)
class Grouped:
    """The findings of one kind about one subject in one item. `best` is the closest place:
    the highest similarity, or the smallest distance for own media."""

    kind: str
    subject: str
    person: str | None
    item_sha256: str
    best: Finding
    places: tuple[Place, ...]

    @property
    def times(self) -> list[float]:
        """The video times (seconds) of the group's places, in order; empty for a still image."""
        return sorted(p.t for p in self.places if p.t is not None)

    @property
    def status(self) -> str:
        """The review status the group's findings share, or `mixed`."""
        statuses = {p.status for p in self.places}
        return statuses.pop() if len(statuses) == 1 else "mixed"


def _closer(kind: str, a: Finding, b: Finding) -> bool:
    return a.score < b.score if kind == "own_media_match" else a.score > b.score


def group_findings(rows: Iterable[tuple[Finding, str | None]]) -> list[Grouped]:
    """One entry per item, kind and subject, in the order the rows first name them."""
    groups: dict[tuple[str, str, str], list[tuple[Finding, str | None]]] = {}
    for f, alias in rows:
        groups.setdefault((f.item_sha256, f.kind, f.subject), []).append((f, alias))
    out = []
    for (sha, kind, subject), members in groups.items():
        best = members[0][0]
        for f, _ in members[1:]:
            if _closer(kind, f, best):
                best = f
        places = tuple(
            sorted(
                (
                    Place(
                        f.id,
                        (f.details or {}).get("t"),
                        tuple((f.details or {}).get("box") or ()) or None,
                        f.score,
                        f.status,
                    )
                    for f, _ in members
                ),
                key=lambda p: (p.t is None, p.t or 0.0, p.id),
            )
        )
        out.append(Grouped(kind, subject, members[0][1], sha, best, places))
    return out


@dataclass(frozen=True)
class ChatPlace:
    """Where an item was posted in a chat room."""

    room: str
    room_name: str | None
    message_id: str | None
    poster: str | None
    poster_name: str | None
    forwarded_from: str | None
    at: str | None

    def to_json(self) -> dict[str, Any]:
        """The place as plain JSON values."""
        return dict(self.__dict__)

    def line(self) -> str:
        """The place in one line for a person: room and message, poster, forward origin and time to
        the minute."""
        where = f"{self.room_name or self.room} #{self.message_id or '?'}"
        who = self.poster_name or self.poster
        by = f" by {who}" if who else ""
        if self.poster_name and self.poster and self.poster != self.poster_name:
            by += f" ({self.poster})"
        fwd = f" (forwarded from {self.forwarded_from})" if self.forwarded_from else ""
        return f"{where}{by}{fwd}" + (f" {self.at[:16]}" if self.at else "")


def chat_places(session: Session, sha256: str) -> list[ChatPlace]:
    """Every chat room place where the item was posted, oldest first, with the room's and the
    poster's names when stored."""
    rows = session.execute(
        select(Sighting, Room.name, Room.id)
        .join(
            Room,
            (Room.source_id == Sighting.source_id) & (Room.room_key == Sighting.room),
            isouter=True,
        )
        .where(Sighting.item_sha256 == sha256, Sighting.room.is_not(None))
        .order_by(Sighting.posted_at, Sighting.id)
    )
    out = []
    for sg, name, room_pk in rows:
        author = None
        if room_pk is not None and (sg.message_id or "").lstrip("-").isdigit():
            author = session.scalar(
                select(Message.author_name).where(
                    Message.room_id == room_pk, Message.message_id == int(sg.message_id or 0)
                )
            )
        out.append(
            ChatPlace(
                room=room_node_id(sg.source_id, sg.room or ""),
                room_name=name,
                message_id=sg.message_id,
                poster=sg.poster,
                poster_name=author,
                forwarded_from=sg.forwarded_from_id or sg.forwarded_from,
                at=sg.posted_at.isoformat() if sg.posted_at else None,
            )
        )
    return out


def network_view(net: Network | None, sha256: str) -> dict[str, Any] | None:
    """The content an item belongs to in the network, why it is of interest, and every role
    claimed on it (None: the item was never posted in a chat room)."""
    if net is None or sha256 not in net.item_cluster:
        return None
    cid = net.item_cluster[sha256]
    c = net.clusters[cid]
    claims = sorted(
        (k for k in net.claims if k.cluster == cid), key=lambda k: (ROLES.index(k.role), k.account)
    )
    return {
        "content": cid,
        "of_interest": c.of_interest,
        "interest": list(c.interest),
        "why": list(c.why),
        "roles": [
            {
                "role": k.role,
                "label": {"en": ROLE_LABELS[k.role][0], "ko": ROLE_LABELS[k.role][1]},
                "account": k.account,
                "name": net.accounts[k.account].label if k.account in net.accounts else k.account,
                "certainty": k.certainty,
            }
            for k in claims
        ],
    }


def roles_line(view: dict[str, Any] | None) -> str:
    """The roles on an item's content, for a table cell."""
    if view is None:
        return "-"
    if not view["roles"]:
        return "no roles" + ("" if view["of_interest"] else " (not of interest)")
    by_role: dict[str, list[str]] = {}
    for r in view["roles"]:
        by_role.setdefault(r["label"]["en"].split(" (")[0], []).append(r["name"])
    return "; ".join(f"{role}: {', '.join(names)}" for role, names in by_role.items())


def places_json(places: Sequence[Place]) -> list[dict[str, Any]]:
    """The places of a group as JSON: finding id, time, box and score."""
    return [
        {"id": p.id, "t": p.t, "box": list(p.box) if p.box else None, "score": p.score}
        for p in places
    ]


# How far above the match threshold a face similarity lies, in words. The bands are distances
# from the threshold, not probabilities: on the public evaluation set every impostor pair stayed
# 0.07 below the 0.45 threshold (docs/evaluation/faces.md), so a score just over it deserves a
# closer look than one far above it.
BAND_CLEAR = 0.05
BAND_STRONG = 0.15


def similarity_band(score: float, threshold: float) -> str:
    """'strong', 'clear' or 'borderline' (machine word; the CLI translates it)."""
    if score >= threshold + BAND_STRONG:
        return "strong"
    if score >= threshold + BAND_CLEAR:
        return "clear"
    return "borderline"


def item_findings(session: Session, sha256: str) -> list[Grouped]:
    """The findings about enrolled persons in one item, one per kind and person."""
    from haechi.store.persons import Person

    rows = session.execute(
        select(Finding, Person.alias)
        .join(Person, Person.id == Finding.person_id, isouter=True)
        .where(Finding.item_sha256 == sha256)
        .order_by(Finding.id)
    )
    return group_findings((f, alias) for f, alias in rows)


def finding_json(g: Grouped) -> dict[str, Any]:
    """One grouped finding for `show --json` and `scan --json`: no face vector, only scores
    and places, and for a PDQ match the dihedral variant of this picture that matched."""
    face = g.kind == "face_match"
    details = g.best.details or {}
    return {
        "subject": g.subject,
        "id": g.best.id,
        "kind": g.kind,
        "person": g.person,
        "similarity": g.best.score if face else None,
        "band": similarity_band(g.best.score, g.best.threshold) if face else None,
        "score": g.best.score,
        "threshold": g.best.threshold,
        "times": g.times,
        "status": g.status,
        "possible_minor": g.best.possible_minor,
        "pdq_variant": details.get("pdq_variant"),
        # Same scene, face changed: the other item, the region in each, and the measures.
        "relation": relation_json(g),
        # Source photo found: which photo this face was taken from (or put into), the measure.
        "source_photo": source_json(g),
    }


RELATION_KEYS = (
    "related_item",
    "role",
    "box",
    "related_box",
    "face_similarity",
    "inliers",
    "inlier_share",
    "masked_pdq_distance",
    "difference_picture",  # the SHA-256 of the picture in the vault (evidence.difference)
    "t",  # videos: the frame where the face differs most, in this item and the other
    "related_t",
    "frames_compared",
    "frames",  # videos: every frame where the face differs
)


def relation_json(g: Grouped) -> dict[str, Any] | None:
    """A `face_changed` finding's relation: the other item, the regions, the measures and the
    difference picture; None for other kinds."""
    if g.kind != "face_changed":
        return None
    details = g.best.details or {}
    return {k: details.get(k) for k in RELATION_KEYS}


def source_json(g: Grouped) -> dict[str, Any] | None:
    """A `source_photo` finding: the other item, its role (`taken_from`: this face was taken
    from that photo; `taken_into`: this photo's face was put into that item), the boxes and
    the pixel measure, and (`source_kind` "request") who posted the photo with a request, in
    which room, when; None for other kinds."""
    if g.kind != "source_photo":
        return None
    d = g.best.details or {}
    keys = ("related_item", "role", "box", "t", "related_box", "related_t", "pixel_agreement")
    return {k: d.get(k) for k in keys} | {
        "source_kind": d.get("source_kind"),
        "request": d.get("request"),
    }
