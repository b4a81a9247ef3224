"""The network as a graph for Gephi and scripts: GraphML (through networkx) and GEXF 1.3 (written
here: networkx writes GEXF 1.2 only), with roles as node attributes, and a structural check of
GEXF 1.3 (root namespace and version, required elements and attributes, declared attribute
columns and their types) that needs no network and no schema download.

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
    return f"{kind}:{key}"


PRIORITY: tuple[Role, ...] = ("creator_candidate", "seller", "distributor", "requester", "viewer")


def primary_role(roles: Iterable[Role]) -> Role | None:
    """The role a node is coloured by: the strongest act it is claimed for."""
    have = set(roles)
    return next((r for r in PRIORITY if r in have), None)


def to_networkx(net: Network) -> nx.MultiDiGraph:
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
    gexf_tree(for_xml(to_networkx(net))).write(path, encoding="utf-8", xml_declaration=True)


_ATTR_TYPES = {
    "integer",
    "long",
    "double",
    "float",
    "boolean",
    "bigdecimal",
    "biginteger",
    "byte",
    "char",
    "short",
    "string",
    "anyURI",
    "liststring",
    "listboolean",
    "listinteger",
    "listlong",
    "listfloat",
    "listdouble",
    "listbyte",
    "listshort",
    "listbigdecimal",
    "listbiginteger",
    "listchar",
}
_EDGE_TYPES = {"directed", "undirected", "mutual"}


def gexf13_problems(data: bytes) -> list[str]:
    """What keeps a document from being GEXF 1.3, after the 1.3 grammar (gexf.rnc): the root
    `gexf` in the 1.3 namespace with version "1.3", optional `meta`, one `graph` holding
    `attributes*`, `nodes`, `edges`; nodes need an id, edges a source and a target that are
    nodes; attribute columns need id, title and a known type; values must name a declared
    column of their class and parse as its type. Empty list: valid."""
    problems: list[str] = []
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    q = f"{{{GEXF_NS}}}"
    if root.tag != f"{q}gexf":
        return [f"root element is {root.tag}, not {{{GEXF_NS}}}gexf"]
    if root.get("version") != "1.3":
        problems.append(f"version is {root.get('version')!r}, not '1.3'")
    allowed_root = {f"{q}meta", f"{q}graph"}
    for child in root:
        if child.tag not in allowed_root:
            problems.append(f"unexpected element {child.tag} in gexf")
    graphs = root.findall(f"{q}graph")
    if len(graphs) != 1:
        return [*problems, f"{len(graphs)} graph elements, exactly one required"]
    graph = graphs[0]
    det = graph.get("defaultedgetype")
    if det is not None and det not in _EDGE_TYPES:
        problems.append(f"defaultedgetype {det!r} unknown")
    if graph.get("mode") not in (None, "static", "dynamic", "slice"):
        problems.append(f"mode {graph.get('mode')!r} unknown")
    columns: dict[str, dict[str, str]] = {"node": {}, "edge": {}}
    order = [c.tag for c in graph]
    for tag in order:
        if tag not in (f"{q}attributes", f"{q}nodes", f"{q}edges"):
            problems.append(f"unexpected element {tag} in graph")
    if order.count(f"{q}nodes") != 1 or order.count(f"{q}edges") != 1:
        problems.append("graph needs exactly one nodes and one edges element")
    elif order.index(f"{q}nodes") > order.index(f"{q}edges") or any(
        t == f"{q}attributes" for t in order[order.index(f"{q}nodes") :]
    ):
        problems.append("graph content out of order: attributes*, nodes, edges")
    for block in graph.findall(f"{q}attributes"):
        cls = block.get("class")
        if cls not in columns:
            problems.append(f"attributes class {cls!r} is not node or edge")
            continue
        for a in block:
            if a.tag != f"{q}attribute":
                problems.append(f"unexpected element {a.tag} in attributes")
                continue
            aid, title, typ = a.get("id"), a.get("title"), a.get("type")
            if aid is None or title is None or typ is None:
                problems.append("attribute without id, title or type")
                continue
            if typ not in _ATTR_TYPES:
                problems.append(f"attribute {title!r} has unknown type {typ!r}")
            columns[cls][aid] = typ
    node_ids: set[str] = set()
    nodes = graph.find(f"{q}nodes")
    for n in nodes if nodes is not None else ():
        if n.tag != f"{q}node":
            problems.append(f"unexpected element {n.tag} in nodes")
            continue
        nid = n.get("id")
        if not nid:
            problems.append("node without id")
            continue
        if nid in node_ids:
            problems.append(f"duplicate node id {nid!r}")
        node_ids.add(nid)
        problems += _check_values(n, columns["node"], f"node {nid}", q)
    edges = graph.find(f"{q}edges")
    for e in edges if edges is not None else ():
        if e.tag != f"{q}edge":
            problems.append(f"unexpected element {e.tag} in edges")
            continue
        src, tgt = e.get("source"), e.get("target")
        if not src or not tgt:
            problems.append(f"edge {e.get('id')} without source or target")
            continue
        for end in (src, tgt):
            if end not in node_ids:
                problems.append(f"edge {e.get('id')} points at unknown node {end!r}")
        if e.get("type") not in (None, *_EDGE_TYPES):
            problems.append(f"edge {e.get('id')} has unknown type {e.get('type')!r}")
        w = e.get("weight")
        if w is not None and not _parses(w, "double"):
            problems.append(f"edge {e.get('id')} weight {w!r} is not a number")
        problems += _check_values(e, columns["edge"], f"edge {e.get('id')}", q)
    return problems


def _parses(value: str, typ: str) -> bool:
    try:
        if typ in ("integer", "long", "short", "byte", "biginteger"):
            int(value)
        elif typ in ("double", "float", "bigdecimal"):
            float(value)
        elif typ == "boolean":
            return value in ("true", "false", "1", "0")
    except ValueError:
        return False
    return True


def _check_values(el: ET.Element, columns: dict[str, str], where: str, q: str) -> list[str]:
    out: list[str] = []
    for child in el:
        if child.tag.startswith(f"{{{VIZ_NS}}}"):
            continue
        if child.tag not in (
            f"{q}attvalues",
            f"{q}spells",
            f"{q}nodes",
            f"{q}edges",
            f"{q}parents",
        ):
            out.append(f"{where}: unexpected element {child.tag}")
            continue
        if child.tag != f"{q}attvalues":
            continue
        for v in child:
            key, value = v.get("for"), v.get("value")
            if v.tag != f"{q}attvalue" or key is None or value is None:
                out.append(f"{where}: attvalue needs 'for' and 'value'")
            elif key not in columns:
                out.append(f"{where}: value for undeclared attribute {key!r}")
            elif not _parses(value, columns[key]):
                out.append(f"{where}: {value!r} is not a {columns[key]}")
    return out
