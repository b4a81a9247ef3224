"""The network of a corpus, step by step: posts, room members, content clusters and why each is
of interest, then the role readings (requests, distribution, sales, viewers) on the content of
interest."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from haechi.network.corpus import Msg, Seen
from haechi.network.model import (
    Account,
    ContentCluster,
    ForwardLink,
    Interest,
    Membership,
    Network,
    Post,
    RoleClaim,
)
from haechi.network.roles.context import RoleContext, best
from haechi.network.roles.distribution import spread
from haechi.network.roles.requests import request_near, requesters
from haechi.network.roles.sales import sellers, sellers_by_account
from haechi.network.roles.viewers import memberships, viewers

# A room where at least this share of the lines talk about the topic (news, support, police,
# campaign words) and that is not flagged is a room that reports, not one that trades.
CONTEXT_ROOM = 0.3
SYNTHETIC = ("likely_synthetic", "likely_manipulated")
FINDING_KINDS = ("face_match", "own_media_match")


def collect_posts(ctx: RoleContext) -> list[Post]:
    """Every sighting in a chat once, as a post with its account, oldest first."""
    seen: set[tuple[str, int | None, str]] = set()
    out: list[Post] = []
    for s in ctx.c.seen:
        key = (s.room, s.message_id, s.item)
        if key in seen:
            continue
        seen.add(key)
        out.append(_post(ctx, s))
    return sorted(out, key=lambda p: (p.at is None, p.order))


def _post(ctx: RoleContext, s: Seen) -> Post:
    m = ctx.msgs.get((s.room, s.message_id or -1))
    raw = (m.author_id or m.author_name) if m else s.poster
    aid, _ = ctx.account(raw)
    return Post(
        cluster=ctx.item_cluster[s.item],
        item=s.item,
        room=s.room,
        message_id=s.message_id,
        at=s.at or (m.at if m else None),
        account=aid,
        forward=s.forward,
        text=m.text if m else "",
        reactions=m.reactions if m else 0,
        reporting=_reporting(ctx, s.room, m),
    )


def _reporting(ctx: RoleContext, room_id: str, m: Msg | None) -> bool:
    if m is not None and m.context > 0:
        return True
    room = ctx.rooms.get(room_id)
    return room is not None and not room.flagged and room.context >= CONTEXT_ROOM


def build(ctx: RoleContext) -> Network:
    """The network of the context's corpus: posts, room members, content clusters and why each
    is of interest, and the role claims on the content of interest."""
    posts = collect_posts(ctx)
    posts_by_msg: dict[tuple[str, int], list[Post]] = defaultdict(list)
    by_cluster: dict[str, list[Post]] = defaultdict(list)
    for p in posts:
        if p.message_id is not None:
            posts_by_msg[(p.room, p.message_id)].append(p)
        by_cluster[p.cluster].append(p)
    members = memberships(ctx, posts_by_msg)
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
        links = tuple(k for k in ctx.links if k.a in items)
        acting = [p for p in cposts if not p.reporting]
        reasons = interest(ctx, acting, items)
        why = sorted({text for _kind, text in reasons})
        first = (acting or cposts)[0]
        first_msg = ctx.msgs.get((first.room, first.message_id or -1))
        request = first_msg is not None and request_near(ctx, first, first_msg) is not None
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
        requesters(ctx, cid, cposts)
        if request:
            continue  # someone's source photo: the requester is named, no one "created" it
        interest_rooms.update(p.room for p in cposts)
        posters.update(p.account for p in cposts if p.account)
        forwards += spread(ctx, cid, cposts, member_of)
        sellers(ctx, cid, cposts)
        viewers(ctx, cid, cposts, room_members, posts_by_msg)

    sellers_by_account(ctx, posters, interest_rooms, clusters, by_cluster)
    accounts = {aid: Account(aid, tuple(sorted(n))) for aid, n in sorted(ctx.account_names.items())}
    for key in list(ctx.claims) + [(None, mb.account, None) for mb in members]:
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
            best(ctx.certainty[(role, aid, cid)]),
            ctx.notes.get((role, aid, cid), ""),
        )
        for (role, aid, cid), ev in sorted(
            ctx.claims.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")
        )
    )
    return Network(
        accounts=accounts,
        rooms=dict(ctx.rooms),
        clusters=clusters,
        posts=tuple(posts),
        forwards=tuple(forwards),
        members=tuple(members),
        claims=claims,
        item_cluster=dict(ctx.item_cluster),
        facts={sha: f for sha, f in ctx.c.facts.items() if sha in ctx.item_cluster},
    )


def interest(
    ctx: RoleContext, cposts: list[Post], items: Iterable[str]
) -> list[tuple[Interest, str]]:
    """Why content is of interest: the rooms and words around its posts (reports left out),
    and what marks its items wherever they were posted."""
    why: set[tuple[Interest, str]] = set()
    for p in cposts:
        room = ctx.rooms.get(p.room)
        m = ctx.msgs.get((p.room, p.message_id or -1))
        if room and room.flagged:
            why.add(
                (
                    "flagged_room",
                    f"posted in flagged room {room.name or room.id} (risk {room.risk:.2f})",
                )
            )
        elif m and m.risk >= ctx.flag and m.context == 0:
            why.add(
                (
                    "risky_words",
                    f"posted with risky words (message {m.message_id}, {m.risk:.2f})",
                )
            )
    for item in items:
        facts = ctx.c.facts.get(item)
        if facts is None:
            continue
        short = item[:12]
        for kind in {f.kind for f in facts.findings}:
            if kind in FINDING_KINDS:
                what = "face" if kind == "face_match" else "own media"
                why.add(("finding", f"finding: an enrolled person's {what} in item {short}"))
            elif kind == "hash_bank_match":
                why.add(("bank_match", f"hash-bank match for item {short}"))
        if facts.sexual is not None and facts.sexual >= ctx.sexual:
            why.add(("sexual", f"sexual score {facts.sexual:.2f} for item {short}"))
        if facts.synthetic in SYNTHETIC:
            why.add(("synthetic", f"verdict {facts.synthetic} for item {short}"))
    return sorted(why)
