"""Creator candidates and distributors: who was seen first with the content, who carried it into
other rooms, and the forward links between rooms (observed from forward headers or guessed)."""

from __future__ import annotations

from haechi.network.model import Certainty, ForwardLink, ForwardOrigin, Post
from haechi.network.roles.context import RoleContext, capped


def spread(
    ctx: RoleContext, cid: str, cposts: list[Post], member_of: dict[str, set[str]]
) -> list[ForwardLink]:
    """Creator candidate (the earliest sighting's poster, or the account its forward names)
    and distributors (who forwarded or re-posted it); the forward links between rooms."""
    links: list[ForwardLink] = []
    first = cposts[0]
    # Creator candidate: the earliest sighting's poster, or the author its forward names.
    if first.forward is None:
        ctx.claim(
            "creator_candidate",
            first.account,
            cid,
            [ctx.post_ref(first, "earliest sighting of this content in the corpus")],
            "inferred",
            "earliest seen in this corpus; not proof of making it",
        )
    else:
        origin, cert, basis = forward_origin(ctx, first.forward)
        ctx.claim(
            "creator_candidate",
            origin,
            cid,
            [ctx.post_ref(first, f"earliest copy here is a forward: {basis}")],
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
            ctx.claim(
                "distributor",
                p.account,
                cid,
                [ctx.post_ref(p, f"{act} this content {where}")],
                "observed",
                f"{act} content first seen elsewhere",
            )
            links += _links(ctx, cid, p, earlier, member_of)
        rooms_with.append(p)
    return links


def forward_origin(ctx: RoleContext, fwd: ForwardOrigin) -> tuple[str | None, Certainty, str]:
    """The account a forward header names, how sure that is, and why."""
    if fwd.account_id:
        aid = fwd.account_id  # every source spells accounts as an export does: "user42"
        return aid, "observed", f"forward header gives the origin id {fwd.account_id}"
    if fwd.name:
        return ctx.names.resolve(fwd.name)
    return None, "uncertain", "forward header without an origin"


def _links(
    ctx: RoleContext, cid: str, p: Post, earlier: list[Post], member_of: dict[str, set[str]]
) -> list[ForwardLink]:
    out: list[ForwardLink] = []
    origin_room: str | None = None
    if p.forward is not None:
        origin, cert, basis = forward_origin(ctx, p.forward)
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
