"""Sellers: sale or price language on a post of the content or right beside it, and paid-entry
or sale language from accounts that posted content of interest."""

from __future__ import annotations

from haechi.network.model import ContentCluster, Post
from haechi.network.roles.context import RoleContext, capped
from haechi.network.roles.language import (
    NEXT_IDS,
    NEXT_WINDOW,
    SALE_IDS,
    SALE_WINDOW,
    is_paid_entry,
    is_sale,
)


def sellers(ctx: RoleContext, cid: str, cposts: list[Post]) -> None:
    """Sale language on a post of the content, or right beside it (own post, next to it, or
    a reply to it)."""
    for p in cposts:
        m = ctx.msgs.get((p.room, p.message_id or -1))
        if m is None:
            continue
        if is_sale(m):
            ctx.claim(
                "seller",
                p.account,
                cid,
                [ctx.post_ref(p, "sale or price language on the post itself")],
                "inferred",
                "sale language beside the content",
            )
        for other in ctx.near(m, SALE_WINDOW, SALE_IDS):
            if other is m or not is_sale(other):
                continue
            aid, cert = ctx.account(other.author_id or other.author_name)
            own = aid == p.account
            close = (
                abs(other.message_id - m.message_id) <= NEXT_IDS
                and abs(other.at - m.at) <= NEXT_WINDOW
            )
            if not (own or close or other.reply_to == m.message_id):
                continue
            whose = "own post" if own else "a post of this content"
            ctx.claim(
                "seller",
                aid,
                cid,
                [
                    ctx.ref(
                        other,
                        other.room,
                        other.message_id,
                        f"sale or price language next to {whose}",
                    ),
                    ctx.post_ref(p, "the content it sits next to"),
                ],
                capped(cert, "inferred"),
                "sale language beside the content",
            )


def sellers_by_account(
    ctx: RoleContext,
    posters: set[str],
    rooms: set[str],
    clusters: dict[str, ContentCluster],
    by_cluster: dict[str, list[Post]],
) -> None:
    """Accounts not yet named sellers whose sale language is elsewhere: paid entry to a room
    holding the content (inferred), or sale words from an account that posted it (uncertain)."""
    claimed = {aid for (role, aid, _c) in ctx.claims if role == "seller"}
    for m in ctx.msgs.values():
        if m.kind != "message" or not is_sale(m):
            continue
        aid, cert = ctx.account(m.author_id or m.author_name)
        if not aid or aid in claimed:
            continue
        if is_paid_entry(m) and m.room in rooms:
            ctx.claim(
                "seller",
                aid,
                None,
                [
                    ctx.ref(
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
            ctx.claim(
                "seller",
                aid,
                None,
                [
                    ctx.ref(
                        m,
                        m.room,
                        m.message_id,
                        "sale language from an account that posted the content",
                    )
                ],
                "uncertain",
                "sale language from the same account, not beside the content",
            )
