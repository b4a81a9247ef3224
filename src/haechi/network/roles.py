"""Roles read from a corpus: who was seen first with a piece of content (creator candidate), who
carried it to other rooms (distributor), who used sale, price or paid-entry language beside it
(seller), who posted someone's photo asking for it to be synthesised (requester), and who was in
a room where it was posted (viewer / possessor). Each claim keeps the messages behind it.

Only content "of interest" gets roles: content posted in a room that room ranking flags, or on a
message whose own chat-text risk reaches the flag, or content that is marked by itself wherever it
was posted: a finding about an enrolled person (their face, their own media), a hash-bank match, a
high sexual score, a synthetic or manipulated verdict. A deepfake of an enrolled person posted in
a quiet room therefore still gets its creator candidate, distributors and viewers.

News, support and police posts report on content, they do not spread it: a post whose own text
carries context words ("[기사] … 검거 … 1366"), or any post in a room that mostly talks about the
topic, makes no creator, distributor, seller or viewer.

These are leads for a person to check, never verdicts."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from haechi.network.clusters import cluster_items
from haechi.network.corpus import Corpus, Msg, Seen
from haechi.network.model import (
    Account,
    Certainty,
    ContentCluster,
    EvidenceRef,
    ForwardLink,
    ForwardOrigin,
    Interest,
    Membership,
    Network,
    Post,
    Role,
    RoleClaim,
)

SALE_WINDOW = timedelta(hours=1)
SALE_IDS = 5
# Someone else's sale words count only right beside the post (or as a reply to it).
NEXT_IDS = 2
NEXT_WINDOW = timedelta(minutes=10)
REQUEST_WINDOW = timedelta(minutes=10)
REQUEST_IDS = 3
PAYMENT_MIN = 0.3
TEXT_CHARS = 200

# Buying is not selling: "입금했습니다" beside a post is the buyer's word (a possessor's).
BUYER = re.compile(
    r"(입금\s*(했|완료|드렸|함)|송금\s*(했|완료)|보냈(어요|습니다|음)|얼마(예요|에요|인가요|임|야)"
    r"|구매\s*(할게|원해|하고\s*싶|희망)|살게요|사고\s*싶|\bhow much\b|\bi paid\b"
    r"|\bsent (the )?(money|payment)\b)",
    re.IGNORECASE,
)
# Asking for something to be made, as opposed to offering to make it ("해드립니다").
REQUEST = re.compile(
    r"(해\s*주세요|해\s*줘|해\s*주실|해\s*줄\s*수|부탁\s*(드려요|드립니다|해요|합니다)|가능\s*할까요"
    r"|가능한가요|되나요|의뢰\s*(합니다|드려요|드립니다|해요|넣)|만들어\s*(주세요|줘|주실)"
    r"|\b(can|could) you (make|do)\b|\bplease make\b)",
    re.IGNORECASE,
)
REQUEST_CATS = ("solicitation", "production", "topic")
# A room where at least this share of the lines talk about the topic (news, support, police,
# campaign words) and that is not flagged is a room that reports, not one that trades.
CONTEXT_ROOM = 0.3
SYNTHETIC = ("likely_synthetic", "likely_manipulated")
FINDING_KINDS = ("face_match", "own_media_match")
_RANK: dict[Certainty, int] = {"observed": 0, "inferred": 1, "uncertain": 2}


def best(certainties: Iterable[Certainty]) -> Certainty:
    """The strongest of several supports for one claim."""
    return min(certainties, key=lambda c: _RANK[c], default="uncertain")


def capped(certainty: Certainty, cap: Certainty) -> Certainty:
    """A reading can be no surer than the weakest step it rests on."""
    return max(certainty, cap, key=lambda c: _RANK[c])


def is_sale(m: Msg) -> bool:
    """Price, payment or paid-entry language, not buyer's words, not talk about the topic."""
    cats = m.cats
    pay = cats.get("payment", 0.0)
    if m.context > 0 or BUYER.search(m.text):
        return False
    parts = m.detail.get("sale")
    if parts is not None and not set(parts) - {"content"}:
        return False  # "신작 올립니다" names content, not a price, payment or paid entry
    return pay >= PAYMENT_MIN or (pay > 0 and cats.get("invitation", 0.0) > 0)


def is_paid_entry(m: Msg) -> bool:
    cats = m.cats
    return is_sale(m) and cats.get("invitation", 0.0) > 0


def is_request(m: Msg) -> bool:
    cats = m.cats
    return (
        m.context == 0
        and any(cats.get(c, 0.0) > 0 for c in REQUEST_CATS)
        and REQUEST.search(m.text) is not None
    )


class Names:
    """Display names to accounts. One account with the name: inferred; several: uncertain;
    none: an account known only by name ("name:…"), uncertain."""

    def __init__(self, accounts: dict[str, set[str]]) -> None:
        self.by_name: dict[str, set[str]] = defaultdict(set)
        for aid, names in accounts.items():
            for n in names:
                self.by_name[n].add(aid)

    def resolve(self, name: str) -> tuple[str, Certainty, str]:
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


class _Builder:
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

    # -- helpers ---------------------------------------------------------------------------
    def account(self, raw: str | None) -> tuple[str | None, Certainty]:
        if not raw:
            return None, "uncertain"
        if raw in self.account_names:
            return raw, "observed"
        aid, cert, _ = self.names.resolve(raw)
        return aid, cert

    def ref(
        self, m: Msg | None, room: str, mid: int | None, what: str, item: str | None = None
    ) -> EvidenceRef:
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
        for other in self.by_room[m.room]:
            if abs(other.message_id - m.message_id) <= ids or abs(other.at - m.at) <= window:
                yield other

    # -- the steps -------------------------------------------------------------------------
    def posts(self) -> list[Post]:
        seen: set[tuple[str, int | None, str]] = set()
        out: list[Post] = []
        for s in self.c.seen:
            key = (s.room, s.message_id, s.item)
            if key in seen:
                continue
            seen.add(key)
            out.append(self._post(s))
        return sorted(out, key=lambda p: (p.at is None, p.order))

    def _post(self, s: Seen) -> Post:
        m = self.msgs.get((s.room, s.message_id or -1))
        raw = (m.author_id or m.author_name) if m else s.poster
        aid, _ = self.account(raw)
        return Post(
            cluster=self.item_cluster[s.item],
            item=s.item,
            room=s.room,
            message_id=s.message_id,
            at=s.at or (m.at if m else None),
            account=aid,
            forward=s.forward,
            text=m.text if m else "",
            reactions=m.reactions if m else 0,
            reporting=self._reporting(s.room, m),
        )

    def _reporting(self, room_id: str, m: Msg | None) -> bool:
        if m is not None and m.context > 0:
            return True
        room = self.rooms.get(room_id)
        return room is not None and not room.flagged and room.context >= CONTEXT_ROOM

    def memberships(self, posts_by_msg: dict[tuple[str, int], list[Post]]) -> list[Membership]:
        seen: dict[tuple[str, str], list[EvidenceRef]] = defaultdict(list)
        cert: dict[tuple[str, str], list[Certainty]] = defaultdict(list)

        def add(aid: str | None, c: Certainty, room: str, ref: EvidenceRef) -> None:
            if aid:
                refs = seen[(room, aid)]
                if len(refs) < 3 and ref not in refs:
                    refs.append(ref)
                cert[(room, aid)].append(c)

        for room, msgs in self.by_room.items():
            for m in msgs:
                aid, c = self.account(m.author_id or m.author_name)
                if m.kind == "message":
                    add(aid, c, room, self.ref(m, room, m.message_id, "spoke in the room"))
                    if m.reply_to is not None and (room, m.reply_to) in posts_by_msg:
                        add(aid, c, room, self.ref(m, room, m.message_id, "replied to a post"))
                elif m.action and m.members:
                    for name in m.members:
                        mid, mc = self.account(name)
                        what = f"named in a service message ({m.action})"
                        add(
                            mid, capped(mc, "inferred"), room, self.ref(m, room, m.message_id, what)
                        )
                elif m.action:
                    add(aid, c, room, self.ref(m, room, m.message_id, f"service: {m.action}"))
        return [
            Membership(aid, room, tuple(refs), best(cert[(room, aid)]))
            for (room, aid), refs in sorted(seen.items())
        ]

    def build(self) -> Network:
        posts = self.posts()
        posts_by_msg: dict[tuple[str, int], list[Post]] = defaultdict(list)
        by_cluster: dict[str, list[Post]] = defaultdict(list)
        for p in posts:
            if p.message_id is not None:
                posts_by_msg[(p.room, p.message_id)].append(p)
            by_cluster[p.cluster].append(p)
        members = self.memberships(posts_by_msg)
        room_members: dict[str, list[Membership]] = defaultdict(list)
        member_of: dict[str, set[str]] = defaultdict(set)
        for mb in members:
            room_members[mb.room].append(mb)
            member_of[mb.account].add(mb.room)

        clusters: dict[str, ContentCluster] = {}
        forwards: list[ForwardLink] = []
        interest_rooms: set[str] = set()
        posters: set[str] = set()
        for cid in sorted(by_cluster):
            cposts = by_cluster[cid]
            items = tuple(sorted({p.item for p in cposts}))
            links = tuple(k for k in self.links if k.a in items)
            acting = [p for p in cposts if not p.reporting]
            reasons = self._interest(acting, items)
            why = sorted({text for _kind, text in reasons})
            first = (acting or cposts)[0]
            first_msg = self.msgs.get((first.room, first.message_id or -1))
            request = first_msg is not None and self._request_near(first, first_msg) is not None
            clusters[cid] = ContentCluster(
                id=cid,
                items=items,
                links=links,
                first_seen=cposts[0].at,
                of_interest=bool(why),
                why=tuple(why),
                request_photo=request,
                interest=tuple(sorted({kind for kind, _text in reasons})),
            )
            cposts = acting  # reports on the content make no roles
            if not why or not cposts:
                continue
            for p in cposts:
                m = self.msgs.get((p.room, p.message_id or -1))
                req = self._request_near(p, m) if m else None
                if req is not None:
                    self.claim(
                        "requester",
                        p.account,
                        cid,
                        [
                            self.post_ref(p, "posted this photo"),
                            self.ref(
                                req, req.room, req.message_id, "asked for it to be synthesised"
                            ),
                        ],
                        "inferred",
                        "a photo posted with a request to synthesise",
                    )
            if request:
                continue  # someone's source photo: the requester is named, no one "created" it
            interest_rooms.update(p.room for p in cposts)
            posters.update(p.account for p in cposts if p.account)
            forwards += self._spread(cid, cposts, member_of)
            self._sellers(cid, cposts)
            self._viewers(cid, cposts, room_members, posts_by_msg)

        self._sellers_by_account(posters, interest_rooms, clusters, by_cluster)
        accounts = {
            aid: Account(aid, tuple(sorted(n))) for aid, n in sorted(self.account_names.items())
        }
        for key in list(self.claims) + [(None, mb.account, None) for mb in members]:
            aid = key[1]
            if aid and aid not in accounts:
                accounts[aid] = Account(aid, (aid[5:],) if aid.startswith("name:") else ())
        for p in posts:
            if p.account and p.account not in accounts:
                accounts[p.account] = Account(p.account, ())
        claims = tuple(
            RoleClaim(
                role,
                aid,
                cid,
                tuple(ev),
                best(self.certainty[(role, aid, cid)]),
                self.notes.get((role, aid, cid), ""),
            )
            for (role, aid, cid), ev in sorted(
                self.claims.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")
            )
        )
        return Network(
            accounts=accounts,
            rooms=dict(self.rooms),
            clusters=clusters,
            posts=tuple(posts),
            forwards=tuple(forwards),
            members=tuple(members),
            claims=claims,
            item_cluster=dict(self.item_cluster),
            facts={sha: f for sha, f in self.c.facts.items() if sha in self.item_cluster},
        )

    def _interest(self, cposts: list[Post], items: Iterable[str]) -> list[tuple[Interest, str]]:
        """Why content is of interest: the rooms and words around its posts (reports left out),
        and what marks its items wherever they were posted."""
        why: set[tuple[Interest, str]] = set()
        for p in cposts:
            room = self.rooms.get(p.room)
            m = self.msgs.get((p.room, p.message_id or -1))
            if room and room.flagged:
                why.add(
                    (
                        "flagged_room",
                        f"posted in flagged room {room.name or room.id} (risk {room.risk:.2f})",
                    )
                )
            elif m and m.risk >= self.flag and m.context == 0:
                why.add(
                    (
                        "risky_words",
                        f"posted with risky words (message {m.message_id}, {m.risk:.2f})",
                    )
                )
        for item in items:
            facts = self.c.facts.get(item)
            if facts is None:
                continue
            short = item[:12]
            for kind in {f.kind for f in facts.findings}:
                if kind in FINDING_KINDS:
                    what = "face" if kind == "face_match" else "own media"
                    why.add(("finding", f"finding: an enrolled person's {what} in item {short}"))
                elif kind == "hash_bank_match":
                    why.add(("bank_match", f"hash-bank match for item {short}"))
            if facts.sexual is not None and facts.sexual >= self.sexual:
                why.add(("sexual", f"sexual score {facts.sexual:.2f} for item {short}"))
            if facts.synthetic in SYNTHETIC:
                why.add(("synthetic", f"verdict {facts.synthetic} for item {short}"))
        return sorted(why)

    def _request_near(self, p: Post, m: Msg) -> Msg | None:
        if is_request(m):
            return m
        for other in self.near(m, REQUEST_WINDOW, REQUEST_IDS):
            if (
                other.author_id == m.author_id
                and abs(other.message_id - m.message_id) <= REQUEST_IDS
                and abs(other.at - m.at) <= REQUEST_WINDOW
                and other.media_count == 0
                and is_request(other)
            ):
                return other
        return None

    def _spread(
        self, cid: str, cposts: list[Post], member_of: dict[str, set[str]]
    ) -> list[ForwardLink]:
        links: list[ForwardLink] = []
        first = cposts[0]
        # Creator candidate: the earliest sighting's poster, or the author its forward names.
        if first.forward is None:
            self.claim(
                "creator_candidate",
                first.account,
                cid,
                [self.post_ref(first, "earliest sighting of this content in the corpus")],
                "inferred",
                "earliest seen in this corpus; not proof of making it",
            )
        else:
            origin, cert, basis = self._origin(first.forward)
            self.claim(
                "creator_candidate",
                origin,
                cid,
                [self.post_ref(first, f"earliest copy here is a forward: {basis}")],
                capped(cert, "inferred"),
                "the earliest copy in this corpus is a forward naming this account",
            )
        rooms_with: list[Post] = []
        for p in cposts:
            if p is not first or p.forward is not None:
                earlier = [q for q in rooms_with if q.room != p.room]
                new_room = all(q.room != p.room for q in rooms_with)
                act = "forwarded" if p.forward else "re-posted"
                where = "into a room where it had not been seen" if new_room else "again"
                self.claim(
                    "distributor",
                    p.account,
                    cid,
                    [self.post_ref(p, f"{act} this content {where}")],
                    "observed",
                    f"{act} content first seen elsewhere",
                )
                links += self._links(cid, p, earlier, member_of)
            rooms_with.append(p)
        return links

    def _origin(self, fwd: ForwardOrigin) -> tuple[str | None, Certainty, str]:
        if fwd.account_id:
            aid = fwd.account_id  # every source spells accounts as an export does: "user42"
            return aid, "observed", f"forward header gives the origin id {fwd.account_id}"
        if fwd.name:
            return self.names.resolve(fwd.name)
        return None, "uncertain", "forward header without an origin"

    def _links(
        self, cid: str, p: Post, earlier: list[Post], member_of: dict[str, set[str]]
    ) -> list[ForwardLink]:
        out: list[ForwardLink] = []
        origin_room: str | None = None
        if p.forward is not None:
            origin, cert, basis = self._origin(p.forward)
            own = [q for q in earlier if q.account == origin]
            origin_room = own[0].room if own else None
            out.append(
                ForwardLink(
                    cid,
                    p.room,
                    p.message_id,
                    p.at,
                    p.account,
                    origin,
                    origin_room,
                    cert,
                    f"forward header: {basis}",
                )
            )
        # The hop itself: the latest earlier room holding the content that this account was in.
        via = [q for q in earlier if q.room in member_of.get(p.account or "", set())]
        guess: tuple[Post, str] | None = None
        if via and via[-1].room != origin_room:
            guess = (
                via[-1],
                "path guessed: the poster was in a room where this content was posted earlier",
            )
        elif not via and p.forward is None and earlier:
            guess = (
                earlier[0],
                "re-post: the same content was seen earlier there; how it travelled is not shown",
            )
        if guess is not None:
            q, why = guess
            out.append(
                ForwardLink(
                    cid, p.room, p.message_id, p.at, p.account, q.account, q.room, "uncertain", why
                )
            )
        return out

    def _sellers(self, cid: str, cposts: list[Post]) -> None:
        for p in cposts:
            m = self.msgs.get((p.room, p.message_id or -1))
            if m is None:
                continue
            if is_sale(m):
                self.claim(
                    "seller",
                    p.account,
                    cid,
                    [self.post_ref(p, "sale or price language on the post itself")],
                    "inferred",
                    "sale language beside the content",
                )
            for other in self.near(m, SALE_WINDOW, SALE_IDS):
                if other is m or not is_sale(other):
                    continue
                aid, cert = self.account(other.author_id or other.author_name)
                own = aid == p.account
                close = (
                    abs(other.message_id - m.message_id) <= NEXT_IDS
                    and abs(other.at - m.at) <= NEXT_WINDOW
                )
                if not (own or close or other.reply_to == m.message_id):
                    continue
                whose = "own post" if own else "a post of this content"
                self.claim(
                    "seller",
                    aid,
                    cid,
                    [
                        self.ref(
                            other,
                            other.room,
                            other.message_id,
                            f"sale or price language next to {whose}",
                        ),
                        self.post_ref(p, "the content it sits next to"),
                    ],
                    capped(cert, "inferred"),
                    "sale language beside the content",
                )

    def _sellers_by_account(
        self,
        posters: set[str],
        rooms: set[str],
        clusters: dict[str, ContentCluster],
        by_cluster: dict[str, list[Post]],
    ) -> None:
        claimed = {aid for (role, aid, _c) in self.claims if role == "seller"}
        for m in self.msgs.values():
            if m.kind != "message" or not is_sale(m):
                continue
            aid, cert = self.account(m.author_id or m.author_name)
            if not aid or aid in claimed:
                continue
            if is_paid_entry(m) and m.room in rooms:
                self.claim(
                    "seller",
                    aid,
                    None,
                    [
                        self.ref(
                            m,
                            m.room,
                            m.message_id,
                            "paid-entry language in a room where the content was posted",
                        )
                    ],
                    capped(cert, "inferred"),
                    "sells entry to a room holding the content",
                )
            elif aid in posters:
                self.claim(
                    "seller",
                    aid,
                    None,
                    [
                        self.ref(
                            m,
                            m.room,
                            m.message_id,
                            "sale language from an account that posted the content",
                        )
                    ],
                    "uncertain",
                    "sale language from the same account, not beside the content",
                )

    def _viewers(
        self,
        cid: str,
        cposts: list[Post],
        room_members: dict[str, list[Membership]],
        posts_by_msg: dict[tuple[str, int], list[Post]],
    ) -> None:
        own = {p.account for p in cposts}
        for p in cposts:
            for mb in room_members.get(p.room, ()):
                if mb.account in own:
                    continue
                replied = [e for e in mb.evidence if e.what == "replied to a post"]
                evidence = [self.post_ref(p, "the content was posted in this room"), *mb.evidence]
                cert: Certainty = "observed" if replied else capped(mb.certainty, "inferred")
                self.claim(
                    "viewer",
                    mb.account,
                    cid,
                    evidence,
                    cert,
                    "in a room where the content was posted; viewing itself is not recorded",
                )


def infer(
    corpus: Corpus,
    *,
    flag: float = 0.5,
    pdq_max: int = 31,
    pdq_quality: int = 50,
    frame_share: float = 0.8,
    sexual: float = 0.8,
) -> Network:
    """The network of a corpus. `flag` is the chat-text risk at which a message marks the
    content on it as of interest (rooms carry their own flag from room ranking); `sexual` the
    sexual score at which an item does."""
    return _Builder(
        corpus,
        flag=flag,
        pdq_max=pdq_max,
        pdq_quality=pdq_quality,
        frame_share=frame_share,
        sexual=sexual,
    ).build()
