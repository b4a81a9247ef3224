"""The accounts involved in a case, read from the distribution network: for each account, one
line per offence its evidence supports (from its network roles, and threat language in its
messages), with the messages and the case's items behind each line. Reads no database."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from haechi.network.corpus import Corpus
from haechi.network.model import Network, RoleClaim
from haechi.network.roles import best
from haechi.report.model import AccountLine, MessageRef, OffenceLine
from haechi.report.offences import OFFENCES, ROLE_OFFENCE, is_threat

# The order accounts and their lines are listed in: the graver acts first.
OFFENCE_ORDER = ("making", "requesting", "selling", "distributing", "threats", "possessing")
TEXT_CHARS = 200
THREAT_NOTE = (
    "threat language (a condition and a consequence in one message); whether it concerns "
    "this material, and whom it was aimed at, is for the investigator to read in context"
)


def case_clusters(net: Network, shas: Iterable[str]) -> set[str]:
    """The content clusters the case's items (by SHA-256) belong to; items in no chat room
    belong to none and are left out."""
    return {net.item_cluster[s] for s in shas if s in net.item_cluster}


def case_rooms(net: Network, clusters: set[str]) -> list[str]:
    """Rooms where the case's content was posted to spread it (reports on it left out)."""
    return sorted({p.room for p in net.posts if p.cluster in clusters and not p.reporting})


def _merge(claims: list[RoleClaim], net: Network, shas: set[str]) -> list[MessageRef]:
    """Each message once, with everything it was cited for and the case items it concerns."""
    merged: dict[tuple[str, int | None], tuple[list[str], list[str], RoleClaim, int]] = {}
    for c in claims:
        cluster_items = set(net.clusters[c.cluster].items) if c.cluster in net.clusters else set()
        for i, e in enumerate(c.evidence):
            whats, items, first, _ = merged.setdefault((e.room, e.message_id), ([], [], c, i))
            if e.what not in whats:
                whats.append(e.what)
            concern = {e.item} if e.item else cluster_items
            for sha in sorted(concern & shas):
                if sha not in items:
                    items.append(sha)
    out = []
    for (room, mid), (whats, items, first, i) in merged.items():
        e = first.evidence[i]
        out.append(MessageRef(room, e.room_name, mid, e.at, tuple(whats), e.text, tuple(items)))
    return sorted(out, key=lambda m: (m.at is None, m.at, m.room, m.message_id or 0))


def _threats(
    corpus: Corpus, rooms: set[str], involved: set[str], shas: set[str]
) -> dict[str, list[MessageRef]]:
    out: dict[str, list[MessageRef]] = defaultdict(list)
    for m in sorted(corpus.messages.values(), key=lambda m: (m.at, m.room, m.message_id)):
        if m.kind != "message" or m.context > 0 or not is_threat(m.text):
            continue
        aid = m.author_id or (f"name:{m.author_name}" if m.author_name else None)
        if aid is None or (m.room not in rooms and aid not in involved):
            continue
        room = corpus.rooms.get(m.room)
        out[aid].append(
            MessageRef(
                m.room,
                room.name if room else m.room,
                m.message_id,
                m.at,
                ("threat language",),
                m.text[:TEXT_CHARS] or None,
                (),
            )
        )
    return out


def accounts_of_case(net: Network, corpus: Corpus, shas: Iterable[str]) -> list[AccountLine]:
    """Every account with a role about the case's content (or selling entry to a room that
    held it), or threat language in those rooms, with one line per offence."""
    wanted = set(shas)
    clusters = case_clusters(net, wanted)
    rooms = set(case_rooms(net, clusters))
    by_account: dict[str, dict[str, list[RoleClaim]]] = defaultdict(lambda: defaultdict(list))
    for c in net.claims:
        about_case = c.cluster in clusters or (
            c.cluster is None and any(e.room in rooms for e in c.evidence)
        )
        if about_case:
            by_account[c.account][ROLE_OFFENCE[c.role]].append(c)
    lines: dict[str, list[OffenceLine]] = defaultdict(list)
    for aid, offences in by_account.items():
        for key, claims in offences.items():
            items = sorted(
                {
                    sha
                    for c in claims
                    if c.cluster in net.clusters
                    for sha in net.clusters[c.cluster].items
                }
                & wanted
            )
            lines[aid].append(
                OffenceLine(
                    OFFENCES[key],
                    claims[0].role,
                    best(c.certainty for c in claims),
                    tuple(sorted({c.note for c in claims if c.note})),
                    tuple(_merge(claims, net, wanted)),
                    tuple(items),
                )
            )
    for aid, msgs in _threats(corpus, rooms, set(by_account), wanted).items():
        lines[aid].append(
            OffenceLine(OFFENCES["threats"], None, "inferred", (THREAT_NOTE,), tuple(msgs), ())
        )
    out = []
    for aid, ls in lines.items():
        ls.sort(key=lambda o: OFFENCE_ORDER.index(o.offence.key))
        acc = net.accounts.get(aid)
        names = acc.names if acc else ((aid[5:],) if aid.startswith("name:") else ())
        out.append(AccountLine(aid, names, aid.startswith("name:"), tuple(ls)))
    return sorted(out, key=lambda a: (OFFENCE_ORDER.index(a.offences[0].offence.key), a.id))
