"""A structural check of GEXF 1.3 for the tests (root namespace and version, required elements
and attributes, declared attribute columns and their types), after the 1.3 grammar (gexf.rnc):
it needs no network and no schema download."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from haechi.network.export import GEXF_NS, VIZ_NS

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
