"""Requesters: who posted someone's photo asking for it to be synthesised."""

from __future__ import annotations

from haechi.network.corpus import Msg
from haechi.network.model import Post
from haechi.network.roles.context import RoleContext
from haechi.network.roles.language import REQUEST_IDS, REQUEST_WINDOW, is_request


def request_near(ctx: RoleContext, p: Post, m: Msg) -> Msg | None:
    """The request on the post's own message, or one by the same author right beside it
    without media of its own; None when there is none."""
    if is_request(m):
        return m
    for other in ctx.near(m, REQUEST_WINDOW, REQUEST_IDS):
        if asks_beside(m, other):
            return other
    return None


def asks_beside(m: Msg, other: Msg) -> bool:
    """`other` asks for `m`'s photo to be synthesised: a request by the same author right
    beside it (same room), without media of its own."""
    return (
        other.room == m.room
        and other.author_id == m.author_id
        and abs(other.message_id - m.message_id) <= REQUEST_IDS
        and abs(other.at - m.at) <= REQUEST_WINDOW
        and other.media_count == 0
        and is_request(other)
    )


def requesters(ctx: RoleContext, cid: str, cposts: list[Post]) -> None:
    """Who posted a photo with a request (their own or right beside it) to synthesise it."""
    for p in cposts:
        m = ctx.msgs.get((p.room, p.message_id or -1))
        req = request_near(ctx, p, m) if m else None
        if req is not None:
            ctx.claim(
                "requester",
                p.account,
                cid,
                [
                    ctx.post_ref(p, "posted this photo"),
                    ctx.ref(req, req.room, req.message_id, "asked for it to be synthesised"),
                ],
                "inferred",
                "a photo posted with a request to synthesise",
            )
