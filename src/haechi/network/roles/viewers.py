"""Room members and viewers: who was in a room (spoke, replied, named by a service message) and
so was in a room where the content was posted."""

from __future__ import annotations

from collections import defaultdict

from haechi.network.model import Certainty, EvidenceRef, Membership, Post
from haechi.network.roles.context import RoleContext, best, capped


def memberships(
    ctx: RoleContext, posts_by_msg: dict[tuple[str, int], list[Post]]
) -> list[Membership]:
    """Who was in each room: spoke, replied to a post, or was named by a service message."""
    seen: dict[tuple[str, str], list[EvidenceRef]] = defaultdict(list)
    cert: dict[tuple[str, str], list[Certainty]] = defaultdict(list)

    def add(aid: str | None, c: Certainty, room: str, ref: EvidenceRef) -> None:
        if aid:
            refs = seen[(room, aid)]
            if len(refs) < 3 and ref not in refs:
                refs.append(ref)
            cert[(room, aid)].append(c)

    for room, msgs in ctx.by_room.items():
        for m in msgs:
            aid, c = ctx.account(m.author_id or m.author_name)
            if m.kind == "message":
                add(aid, c, room, ctx.ref(m, room, m.message_id, "spoke in the room"))
                if m.reply_to is not None and (room, m.reply_to) in posts_by_msg:
                    add(aid, c, room, ctx.ref(m, room, m.message_id, "replied to a post"))
            elif m.action and m.members:
                for name in m.members:
                    mid, mc = ctx.account(name)
                    what = f"named in a service message ({m.action})"
                    add(mid, capped(mc, "inferred"), room, ctx.ref(m, room, m.message_id, what))
            elif m.action:
                add(aid, c, room, ctx.ref(m, room, m.message_id, f"service: {m.action}"))
    return [
        Membership(aid, room, tuple(refs), best(cert[(room, aid)]))
        for (room, aid), refs in sorted(seen.items())
    ]


def viewers(
    ctx: RoleContext,
    cid: str,
    cposts: list[Post],
    room_members: dict[str, list[Membership]],
    posts_by_msg: dict[tuple[str, int], list[Post]],
) -> None:
    """Members of a room where the content was posted, other than its posters: viewers or
    possessors (observed when they replied to a post, else inferred)."""
    own = {p.account for p in cposts}
    for p in cposts:
        for mb in room_members.get(p.room, ()):
            if mb.account in own:
                continue
            replied = [e for e in mb.evidence if e.what == "replied to a post"]
            evidence = [ctx.post_ref(p, "the content was posted in this room"), *mb.evidence]
            cert: Certainty = "observed" if replied else capped(mb.certainty, "inferred")
            ctx.claim(
                "viewer",
                mb.account,
                cid,
                evidence,
                cert,
                "in a room where the content was posted; viewing itself is not recorded",
            )
