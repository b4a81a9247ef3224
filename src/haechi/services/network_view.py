"""The network as the web app shows it: the content clusters (those of interest first), and
for one cluster its rendered picture with every role claim and the messages behind each. The
same network.build, network.scene and network.render as `haechi network` and `network picture`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from haechi.config import Settings
from haechi.errors import NotFoundError
from haechi.i18n import _
from haechi.network.model import ROLE_LABELS, EvidenceRef, Network
from haechi.store.db import Database


@dataclass(frozen=True)
class ClusterLine:
    """One content cluster in the list: how many items, when first seen, whether (and why) it
    is of interest, and how many posts and distinct accounts spread it."""

    id: str
    items: int
    first_seen: datetime | None
    of_interest: bool
    why: tuple[str, ...]
    posts: int
    accounts: int

    def to_json(self) -> dict[str, Any]:
        """The cluster as the API carries it."""
        return {
            "id": self.id,
            "items": self.items,
            "first_seen": self.first_seen.isoformat() if self.first_seen else None,
            "of_interest": self.of_interest,
            "why": list(self.why),
            "posts": self.posts,
            "accounts": self.accounts,
        }


@dataclass(frozen=True)
class ClaimLine:
    """One role claim about an account in a cluster, with the role's English and Korean labels
    and the messages it rests on."""

    role: str
    label_en: str
    label_ko: str
    account: str
    name: str
    certainty: str
    note: str
    evidence: tuple[EvidenceRef, ...]

    def to_json(self) -> dict[str, Any]:
        """The claim as the API carries it (the role by its key, without the labels)."""
        return {
            "role": self.role,
            "account": self.account,
            "name": self.name,
            "certainty": self.certainty,
            "note": self.note,
            "evidence": [e.to_json() for e in self.evidence],
        }


@dataclass(frozen=True)
class ClusterView:
    """One cluster's page: its line, its picture as SVG text and every role claim in it."""

    cluster: ClusterLine
    svg: str
    claims: tuple[ClaimLine, ...]


def _network(db: Database, settings: Settings) -> Network:
    from haechi.network.build import build_network

    return build_network(db, settings)


def _line(net: Network, cid: str) -> ClusterLine:
    c = net.clusters[cid]
    posts = [p for p in net.posts if p.cluster == cid]
    return ClusterLine(
        cid,
        len(c.items),
        c.first_seen,
        c.of_interest,
        tuple(c.why),
        len(posts),
        len({p.account for p in posts if p.account}),
    )


def list_clusters(db: Database, settings: Settings) -> list[ClusterLine]:
    """Every content cluster: those of interest first, then by number of posts."""
    net = _network(db, settings)
    lines = [_line(net, cid) for cid in net.clusters]
    return sorted(lines, key=lambda x: (not x.of_interest, -x.posts, x.id))


def cluster_view(db: Database, settings: Settings, cluster: str) -> ClusterView:
    """One cluster with its picture and role claims; raises NotFoundError for an unknown
    cluster id. Builds the whole network, so it costs as much as `haechi network`."""
    from haechi.network.render import to_svg
    from haechi.network.scene import cluster_scene

    net = _network(db, settings)
    if cluster not in net.clusters:
        raise NotFoundError(
            _("no content cluster {cluster}: the network page lists them").format(
                cluster=repr(cluster)
            )
        )
    claims = []
    for k in net.claims:
        if k.cluster != cluster:
            continue
        acc = net.accounts.get(k.account)
        en, ko = ROLE_LABELS[k.role]
        claims.append(
            ClaimLine(
                k.role,
                en,
                ko,
                k.account,
                acc.label if acc else k.account,
                k.certainty,
                k.note,
                k.evidence,
            )
        )
    return ClusterView(_line(net, cluster), to_svg(cluster_scene(net, cluster)), tuple(claims))
