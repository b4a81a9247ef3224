"""A dossier per account for investigators: every role claimed with the messages behind it (each
message once, with the content it concerns), why that content is of interest, the findings in
it, the rooms the account was seen in, what it posted and forwarded, and what an export cannot
show. Plain JSON, Korean and English where a person reads it. A lead, never a verdict."""

from __future__ import annotations

from typing import Any

from haechi.errors import NotFoundError
from haechi.i18n import _
from haechi.network.model import (
    CANNOT_SHOW,
    CANNOT_SHOW_KO,
    NOTICE_EN,
    NOTICE_KO,
    ROLE_LABELS,
    Network,
    Role,
    RoleClaim,
)
from haechi.network.roles import best
from haechi.network.summary import interest_of

DOSSIER_VERSION = 2  # 2: one claim per role, each message once; interest and findings


def find_account(net: Network, ref: str) -> str:
    """An account by id ("user42"), "name:…", or a display name that only one account carries."""
    if ref in net.accounts:
        return ref
    named = [a.id for a in net.accounts.values() if ref in a.names]
    if len(named) == 1:
        return named[0]
    if named:
        raise NotFoundError(
            _("{ref!r} is the display name of {n_named} accounts: {named}; give an id").format(
                ref=ref, n_named=len(named), named=", ".join(sorted(named))
            )
        )
    if f"name:{ref}" in net.accounts:
        return f"name:{ref}"
    raise NotFoundError(_("no account {ref!r} in the network").format(ref=ref))


def role_claim(net: Network, role: Role, claims: list[RoleClaim]) -> dict[str, Any]:
    """All claims of one role as one entry: a message behind several pieces of content (one
    sale line beside three posts) is listed once, with the content it concerns."""
    merged: dict[tuple[str, int | None], dict[str, Any]] = {}
    for c in claims:
        for e in c.evidence:
            row = merged.setdefault(
                (e.room, e.message_id),
                e.to_json() | {"what": [], "items": [], "content": []},
            )
            for key, value in (("what", e.what), ("items", e.item), ("content", c.cluster)):
                if value is not None and value not in row[key]:
                    row[key].append(value)
            row.pop("item", None)
    content = sorted({c.cluster for c in claims if c.cluster})
    return {
        "role": role,
        "label": {"en": ROLE_LABELS[role][0], "ko": ROLE_LABELS[role][1]},
        "content": content,
        "certainty": best(c.certainty for c in claims),
        "notes": sorted({c.note for c in claims if c.note}),
        "interest": list(interest_of(net, set(content))),
        "why": sorted({w for cid in content for w in net.clusters[cid].why}),
        "evidence": sorted(
            merged.values(), key=lambda r: (r["at"] or "", r["room"], r["message_id"] or 0)
        ),
    }


def findings_in(net: Network, clusters: set[str]) -> list[dict[str, Any]]:
    """The findings about enrolled persons (and bank matches) in the items of these clusters."""
    out = []
    for sha, cid in sorted(net.item_cluster.items(), key=lambda kv: (kv[1], kv[0])):
        facts = net.facts.get(sha)
        if cid not in clusters or facts is None:
            continue
        for f in facts.findings:
            out.append(
                {
                    "content": cid,
                    "item": sha,
                    "kind": f.kind,
                    "person": f.person,
                    "score": f.score,
                    "places": f.places,
                }
            )
    return out


def dossier(net: Network, ref: str) -> dict[str, Any]:
    """The dossier of one account (by id, "name:…" or a display name only it carries) as plain
    JSON; raises NotFoundError for an unknown or ambiguous reference."""
    aid = find_account(net, ref)
    acc = net.accounts[aid]
    claims = net.claims_for(aid)
    roles = net.roles_of(aid)
    posts = [p for p in net.posts if p.account == aid]
    rooms = sorted({m.room for m in net.members if m.account == aid} | {p.room for p in posts})
    covered = {c.cluster for c in claims if c.cluster} | {p.cluster for p in posts}
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
        "claims": [role_claim(net, r, [c for c in claims if c.role == r]) for r in roles],
        "content": [
            {
                "content": cid,
                "items": list(net.clusters[cid].items),
                "of_interest": net.clusters[cid].of_interest,
                "interest": list(net.clusters[cid].interest),
                "why": list(net.clusters[cid].why),
            }
            for cid in sorted(covered)
            if cid in net.clusters
        ],
        "findings": findings_in(net, covered),
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
                "reporting": p.reporting,
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
