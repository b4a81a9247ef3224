"""The network as a graph for Gephi and scripts: GraphML (through networkx) and GEXF 1.3 (written
here: networkx writes GEXF 1.2 only), with roles as node attributes. tests/gexf_check.py holds
the structural check of GEXF 1.3 that the tests apply to what is written here.

Node ids: "account:<id>", "room:<id>", "content:<cluster id>". Every attribute is a plain
string, number or boolean (GraphML and GEXF carry nothing else). Names come from exports and
may hold characters XML 1.0 cannot carry (a title with \x1b or \x07 made a file no XML
parser reads); the files get them as visible escapes (haechi.safe_text.xml_safe)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import networkx as nx

from haechi.network.model import NOTICE_EN, ROLES, Network, Role
from haechi.redact import without_biometrics
from haechi.safe_text import xml_safe

GEXF_NS = "http://gexf.net/1.3"
VIZ_NS = "http://gexf.net/1.3/viz"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

ROLE_COLOURS: dict[Role, tuple[int, int, int]] = {
    "creator_candidate": (200, 40, 40),
    "seller": (230, 140, 0),
    "distributor": (140, 60, 170),
    "requester": (0, 130, 130),
    "viewer": (70, 110, 200),
}
ROOM_COLOUR = (120, 120, 120)
CONTENT_COLOUR = (20, 20, 20)
PLAIN_COLOUR = (170, 170, 170)


def node_id(kind: str, key: str) -> str:
    """A graph node's id: "account:<id>", "room:<id>" or "content:<cluster id>"."""
    return f"{kind}:{key}"


PRIORITY: tuple[Role, ...] = ("creator_candidate", "seller", "distributor", "requester", "viewer")


def primary_role(roles: Iterable[Role]) -> Role | None:
    """The role a node is coloured by: the strongest act it is claimed for."""
    have = set(roles)
    return next((r for r in PRIORITY if r in have), None)


def to_networkx(net: Network) -> nx.MultiDiGraph:
    """The network as a directed multigraph: account, room and content nodes with their roles
        as attributes; edges for posts (account to content, content to room), memberships, forwards
    and role claims, each with its `kind`."""
    g = nx.MultiDiGraph(notice=NOTICE_EN)
    for aid, acc in net.accounts.items():
        roles = net.roles_of(aid)
        attrs: dict[str, Any] = {
            "kind": "account",
            "label": acc.label,
            "account_id": aid,
            "name_only": acc.name_only,
            "roles": ";".join(roles),
            "primary_role": primary_role(roles) or "",
            "claims": len(net.claims_for(aid)),
        }
        for r in ROLES:
            attrs[f"role_{r}"] = r in roles
        g.add_node(node_id("account", aid), **attrs)
    for rid, room in net.rooms.items():
        g.add_node(
            node_id("room", rid),
            kind="room",
            label=room.name or rid,
            room_id=rid,
            room_kind=room.kind,
            source=room.source,
            risk=float(room.risk),
            flagged=room.flagged,
        )
    for cid, c in net.clusters.items():
        g.add_node(
            node_id("content", cid),
            kind="content",
            label=cid,
            items=len(c.items),
            first_seen=c.first_seen.isoformat() if c.first_seen else "",
            of_interest=c.of_interest,
            interest=";".join(c.interest),
            why="; ".join(c.why),
            request_photo=c.request_photo,
        )
    for p in net.posts:
        if p.account:
            g.add_edge(
                node_id("account", p.account),
                node_id("content", p.cluster),
                kind="posted",
                room=p.room,
                message_id=p.message_id if p.message_id is not None else -1,
                at=p.at.isoformat() if p.at else "",
                forwarded=p.forward is not None,
                reporting=p.reporting,
            )
        key = (node_id("content", p.cluster), node_id("room", p.room))
        if not g.has_edge(*key, key="posted_in"):
            g.add_edge(*key, key="posted_in", kind="posted_in", at=p.at.isoformat() if p.at else "")
    for mb in net.members:
        g.add_edge(
            node_id("account", mb.account),
            node_id("room", mb.room),
            kind="member",
            certainty=mb.certainty,
            how="; ".join(sorted({e.what for e in mb.evidence})),
        )
    for f in net.forwards:
        if f.from_room:
            src = node_id("room", f.from_room)
        elif f.from_account:
            src = node_id("account", f.from_account)
            if src not in g:
                g.add_node(
                    src,
                    kind="account",
                    label=f.from_account,
                    account_id=f.from_account,
                    name_only=True,
                    roles="",
                    primary_role="",
                    claims=0,
                    **{f"role_{r}": False for r in ROLES},
                )
        else:
            continue
        g.add_edge(
            src,
            node_id("room", f.to_room),
            kind="forward",
            cluster=f.cluster,
            certainty=f.certainty,
            uncertain=f.certainty == "uncertain",
            by=f.by_account or "",
            basis=f.basis,
            at=f.at.isoformat() if f.at else "",
        )
    for k in net.claims:
        if k.cluster is not None:
            g.add_edge(
                node_id("account", k.account),
                node_id("content", k.cluster),
                kind=f"role:{k.role}",
                role=k.role,
                certainty=k.certainty,
                evidence=len(k.evidence),
            )
    return g


def for_xml(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy of `g` that XML 1.0 can carry: ids and string values made XML-safe, and no
    biometric field (haechi.redact), whatever a later attribute holds."""

    def clean(d: dict[str, Any]) -> dict[str, Any]:
        return {
            k: xml_safe(v) if isinstance(v, str) else v for k, v in without_biometrics(d).items()
        }

    h = nx.MultiDiGraph(**clean(g.graph))
    h.add_nodes_from((xml_safe(str(n)), clean(d)) for n, d in g.nodes(data=True))
    h.add_edges_from(
        (xml_safe(str(u)), xml_safe(str(v)), k, clean(d))
        for u, v, k, d in g.edges(keys=True, data=True)
    )
    return h


def write_graphml(net: Network, path: Path) -> None:
    """Write the network as GraphML (UTF-8), XML-safe and without biometric fields."""
    nx.write_graphml(for_xml(to_networkx(net)), path, encoding="utf-8")


# -- GEXF 1.3 --------------------------------------------------------------------------------
_TYPES = {bool: "boolean", int: "integer", float: "double", str: "string"}


def _columns(rows: Iterable[dict[str, Any]], skip: set[str]) -> dict[str, str]:
    cols: dict[str, str] = {}
    for attrs in rows:
        for k, v in attrs.items():
            if k in skip:
                continue
            t = _TYPES.get(type(v), "string")
            if cols.get(k, t) != t:
                t = "string"
            cols[k] = t
    return cols


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def gexf_tree(g: nx.MultiDiGraph) -> ET.ElementTree[ET.Element]:
    """The graph as a GEXF 1.3 document with typed attribute columns (a column whose values
    mix types is written as string); `g` should be XML-safe already (see `for_xml`)."""
    ET.register_namespace("", GEXF_NS)
    ET.register_namespace("viz", VIZ_NS)
    ET.register_namespace("xsi", XSI_NS)
    root = ET.Element(
        f"{{{GEXF_NS}}}gexf",
        {"version": "1.3", f"{{{XSI_NS}}}schemaLocation": f"{GEXF_NS} {GEXF_NS}/gexf.xsd"},
    )
    meta = ET.SubElement(
        root, f"{{{GEXF_NS}}}meta", lastmodifieddate=datetime.now(UTC).date().isoformat()
    )
    ET.SubElement(meta, f"{{{GEXF_NS}}}creator").text = "haechi"
    ET.SubElement(meta, f"{{{GEXF_NS}}}description").text = NOTICE_EN
    graph = ET.SubElement(root, f"{{{GEXF_NS}}}graph", defaultedgetype="directed", mode="static")
    node_cols = _columns((d for _n, d in g.nodes(data=True)), {"label"})
    edge_cols = _columns((d for _u, _v, d in g.edges(data=True)), set())
    ids: dict[str, dict[str, str]] = {}
    for cls, cols in (("node", node_cols), ("edge", edge_cols)):
        block = ET.SubElement(graph, f"{{{GEXF_NS}}}attributes", {"class": cls, "mode": "static"})
        ids[cls] = {}
        for n, (title, typ) in enumerate(sorted(cols.items())):
            ids[cls][title] = str(n)
            ET.SubElement(block, f"{{{GEXF_NS}}}attribute", id=str(n), title=title, type=typ)
    nodes = ET.SubElement(graph, f"{{{GEXF_NS}}}nodes", count=str(g.number_of_nodes()))
    for n, d in g.nodes(data=True):
        el = ET.SubElement(nodes, f"{{{GEXF_NS}}}node", id=str(n), label=str(d.get("label", n)))
        _attvalues(el, d, ids["node"], {"label"})
        colour = _colour(d)
        ET.SubElement(
            el, f"{{{VIZ_NS}}}color", r=str(colour[0]), g=str(colour[1]), b=str(colour[2])
        )
        size = 14.0 if d.get("kind") == "content" else 10.0 if d.get("kind") == "room" else 6.0
        ET.SubElement(el, f"{{{VIZ_NS}}}size", value=str(size))
    edges = ET.SubElement(graph, f"{{{GEXF_NS}}}edges", count=str(g.number_of_edges()))
    for i, (u, v, d) in enumerate(g.edges(data=True)):
        el = ET.SubElement(
            edges,
            f"{{{GEXF_NS}}}edge",
            id=str(i),
            source=str(u),
            target=str(v),
            label=str(d.get("kind", "")),
        )
        _attvalues(el, d, ids["edge"], set())
    ET.indent(root)
    return ET.ElementTree(root)


def _colour(d: dict[str, Any]) -> tuple[int, int, int]:
    kind = d.get("kind")
    if kind == "room":
        return ROOM_COLOUR
    if kind == "content":
        return CONTENT_COLOUR
    role = d.get("primary_role") or None
    return ROLE_COLOURS.get(role, PLAIN_COLOUR) if role else PLAIN_COLOUR


def _attvalues(el: ET.Element, d: dict[str, Any], ids: dict[str, str], skip: set[str]) -> None:
    vals = [(k, v) for k, v in sorted(d.items()) if k not in skip and k in ids]
    if vals:
        block = ET.SubElement(el, f"{{{GEXF_NS}}}attvalues")
        for k, v in vals:
            ET.SubElement(block, f"{{{GEXF_NS}}}attvalue", {"for": ids[k], "value": _value(v)})


def write_gexf(net: Network, path: Path) -> None:
    """Write the network as GEXF 1.3 (UTF-8), XML-safe and without biometric fields."""
    gexf_tree(for_xml(to_networkx(net))).write(path, encoding="utf-8", xml_declaration=True)
