"""A dossier per account for investigators: every role claimed with the messages behind it,
the rooms the account was seen in, what it posted and forwarded, and what an export cannot show.
Plain JSON, Korean and English where a person reads it. A lead, never a verdict."""

from __future__ import annotations

from typing import Any

from haechi.errors import NotFoundError
from haechi.network.model import (
    CANNOT_SHOW,
    CANNOT_SHOW_KO,
    NOTICE_EN,
    NOTICE_KO,
    ROLE_LABELS,
    Network,
)

DOSSIER_VERSION = 1


def find_account(net: Network, ref: str) -> str:
    """An account by id ("user42"), "name:…", or a display name that only one account carries."""
    if ref in net.accounts:
        return ref
    named = [a.id for a in net.accounts.values() if ref in a.names]
    if len(named) == 1:
        return named[0]
    if named:
        raise NotFoundError(
            f"{ref!r} is the display name of {len(named)} accounts: "
            f"{', '.join(sorted(named))}; give an id"
        )
    if f"name:{ref}" in net.accounts:
        return f"name:{ref}"
    raise NotFoundError(f"no account {ref!r} in the network")


def dossier(net: Network, ref: str) -> dict[str, Any]:
    aid = find_account(net, ref)
    acc = net.accounts[aid]
    claims = net.claims_for(aid)
    roles = net.roles_of(aid)
    posts = [p for p in net.posts if p.account == aid]
    rooms = sorted({m.room for m in net.members if m.account == aid} | {p.room for p in posts})
    return {
        "dossier_version": DOSSIER_VERSION,
        "notice": {"en": NOTICE_EN, "ko": NOTICE_KO},
        "account": {
            "id": aid,
            "names": list(acc.names),
            "known_by_name_only": acc.name_only,
        },
        "roles": [
            {
                "role": r,
                "label": {"en": ROLE_LABELS[r][0], "ko": ROLE_LABELS[r][1]},
                "content": sorted({c.cluster or "" for c in claims if c.role == r} - {""}),
                "claims": sum(1 for c in claims if c.role == r),
            }
            for r in roles
        ],
        "claims": [c.to_json() for c in claims],
        "rooms": [
            {
                "room": r,
                "name": net.rooms[r].name if r in net.rooms else r,
                "risk": net.rooms[r].risk if r in net.rooms else None,
                "flagged": net.rooms[r].flagged if r in net.rooms else False,
                "seen_as": sorted(
                    {
                        e.what
                        for m in net.members
                        if m.account == aid and m.room == r
                        for e in m.evidence
                    }
                ),
            }
            for r in rooms
        ],
        "posts": [
            {
                "content": p.cluster,
                "item": p.item,
                "room": p.room,
                "message_id": p.message_id,
                "at": p.at.isoformat() if p.at else None,
                "forwarded_from": (p.forward.account_id or p.forward.name) if p.forward else None,
                "reactions": p.reactions,
            }
            for p in posts
        ],
        "forwards": [
            {
                "content": f.cluster,
                "to_room": f.to_room,
                "message_id": f.to_message,
                "at": f.at.isoformat() if f.at else None,
                "from_account": f.from_account,
                "from_room": f.from_room,
                "certainty": f.certainty,
                "basis": f.basis,
            }
            for f in net.forwards
            if f.by_account == aid or f.from_account == aid
        ],
        "cannot_show": {"en": list(CANNOT_SHOW), "ko": list(CANNOT_SHOW_KO)},
    }
