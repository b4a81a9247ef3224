"""What every role reading shares: the corpus, its accounts by id and by display name, the
content clusters, and the claims collected so far with the messages behind each."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from haechi.network.clusters import cluster_items
from haechi.network.corpus import Corpus, Msg
from haechi.network.model import Certainty, EvidenceRef, Post, Role

TEXT_CHARS = 200
_RANK: dict[Certainty, int] = {"observed": 0, "inferred": 1, "uncertain": 2}


def best(certainties: Iterable[Certainty]) -> Certainty:
    """The strongest of several supports for one claim."""
    return min(certainties, key=lambda c: _RANK[c], default="uncertain")


def capped(certainty: Certainty, cap: Certainty) -> Certainty:
    """A reading can be no surer than the weakest step it rests on."""
    return max(certainty, cap, key=lambda c: _RANK[c])


class Names:
    """Display names to accounts. One account with the name: inferred; several: uncertain;
    none: an account known only by name ("name:…"), uncertain."""

    def __init__(self, accounts: dict[str, set[str]]) -> None:
        self.by_name: dict[str, set[str]] = defaultdict(set)
        for aid, names in accounts.items():
            for n in names:
                self.by_name[n].add(aid)

    def resolve(self, name: str) -> tuple[str, Certainty, str]:
        """The account a display name stands for, how sure that is, and why."""
        ids = sorted(self.by_name.get(name, ()))
        if len(ids) == 1:
            return ids[0], "inferred", f"display name {name!r} matches one account"
        if ids:
            return (
                f"name:{name}",
                "uncertain",
                f"display name {name!r} is carried by {len(ids)} accounts ({', '.join(ids)})",
            )
        return f"name:{name}", "uncertain", f"no account in the corpus carries the name {name!r}"


class RoleContext:
    """The corpus being read and the role claims found in it so far."""

    def __init__(
        self,
        corpus: Corpus,
        *,
        flag: float,
        pdq_max: int,
        pdq_quality: int,
        frame_share: float,
        sexual: float,
    ) -> None:
        self.c = corpus
        self.flag = flag
        self.sexual = sexual
        self.rooms = corpus.rooms
        self.msgs = corpus.messages
        names: dict[str, set[str]] = defaultdict(set)
        for m in corpus.messages.values():
            if m.author_id:
                names[m.author_id].update([m.author_name] if m.author_name else [])
        self.account_names = names
        self.names = Names(names)
        self.item_cluster, self.links = cluster_items(
            corpus.items, max_distance=pdq_max, min_quality=pdq_quality, frame_share=frame_share
        )
        self.claims: dict[tuple[Role, str, str | None], list[EvidenceRef]] = defaultdict(list)
        self.certainty: dict[tuple[Role, str, str | None], list[Certainty]] = defaultdict(list)
        self.notes: dict[tuple[Role, str, str | None], str] = {}
        self.by_room: dict[str, list[Msg]] = defaultdict(list)
        for m in sorted(corpus.messages.values(), key=lambda m: (m.room, m.message_id)):
            self.by_room[m.room].append(m)

    def account(self, raw: str | None) -> tuple[str | None, Certainty]:
        """The account an author id or display name stands for, and how sure that is."""
        if not raw:
            return None, "uncertain"
        if raw in self.account_names:
            return raw, "observed"
        aid, cert, _ = self.names.resolve(raw)
        return aid, cert

    def ref(
        self, m: Msg | None, room: str, mid: int | None, what: str, item: str | None = None
    ) -> EvidenceRef:
        """A message as evidence of `what`, with its room's name and the start of its text."""
        r = self.rooms.get(room)
        text = (m.text[:TEXT_CHARS] if m and m.text else None) or None
        return EvidenceRef(
            room=room,
            room_name=r.name if r else room,
            message_id=mid,
            at=m.at if m else None,
            what=what,
            item=item,
            text=text,
        )

    def post_ref(self, p: Post, what: str) -> EvidenceRef:
        """A post as evidence, with its message's time and text when the corpus has them."""
        m = self.msgs.get((p.room, p.message_id or -1))
        ref = self.ref(m, p.room, p.message_id, what, p.item)
        if ref.at is None and p.at is not None:
            ref = EvidenceRef(ref.room, ref.room_name, ref.message_id, p.at, what, p.item, ref.text)
        return ref

    def claim(
        self,
        role: Role,
        account: str | None,
        cluster: str | None,
        evidence: Iterable[EvidenceRef],
        certainty: Certainty,
        note: str = "",
    ) -> None:
        """Add evidence for `account` holding `role` on content `cluster`; each message counts
        once per claim. No account: no claim."""
        if not account:
            return
        key = (role, account, cluster)
        for e in evidence:
            # one message is one piece of evidence, whatever else it was cited as
            if all(
                (o.room, o.message_id, o.item) != (e.room, e.message_id, e.item)
                for o in self.claims[key]
            ):
                self.claims[key].append(e)
        self.certainty[key].append(certainty)
        if note and key not in self.notes:
            self.notes[key] = note

    def near(self, m: Msg, window: timedelta, ids: int) -> Iterable[Msg]:
        """Messages of the same room within `ids` message ids or `window` of `m` (`m` too)."""
        for other in self.by_room[m.room]:
            if abs(other.message_id - m.message_id) <= ids or abs(other.at - m.at) <= window:
                yield other
