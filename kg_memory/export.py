"""Export one namespace of the memory as JSONL, GraphML (networkx) or RDF Turtle (rdflib).

The RDF vocabulary is ``schemas/kg-memory.ttl``: labels become classes, edge
types object properties, scalar node properties datatype properties.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kg_memory.errors import ConfigError
from kg_memory.model import NODE_LABELS, Edge, Node
from kg_memory.security.export_target import check_export_target
from kg_memory.store.base import Store

FORMATS = ("jsonl", "graphml", "ttl")
KGM = "https://kg-memory.dev/ontology#"
NODE_NS = "https://kg-memory.dev/node/"


def iter_graph(store: Store, namespace: str) -> tuple[list[Node], list[Edge]]:
    """Every node and edge of a namespace (nodes by label then id, edges by key)."""
    nodes: list[Node] = []
    for label in NODE_LABELS:
        nodes.extend(store.find_nodes(namespace, label))
    edges: dict[tuple[str, str, str], Edge] = {}
    ids = [n.id for n in nodes]
    for i in range(0, len(ids), 500):
        for e in store.neighbours(namespace, ids[i : i + 500], direction="out"):
            edges[e.key] = e
    return nodes, [edges[k] for k in sorted(edges)]


def _scalar_props(node: Node) -> Iterator[tuple[str, Any]]:
    for key, value in node.props.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            yield key, json.dumps(list(value), ensure_ascii=False)
        else:
            yield key, value


#: JSONL record field -> the Node / Edge attribute it holds (``props`` follow).
NODE_FIELDS = {
    "id": "id",
    "label": "label",
    "namespace": "namespace",
    "conversation": "conversation",
    "text": "text",
}
EDGE_FIELDS = {"src": "src", "rel": "type", "dst": "dst"}


def _record(kind: str, item: Node | Edge, fields: dict[str, str]) -> dict[str, Any]:
    """One JSONL record: its type, the ``fields`` of ``item``, then its properties."""
    return {
        "type": kind,
        **{k: getattr(item, a) for k, a in fields.items()},
        "props": dict(item.props),
    }


def write_jsonl(nodes: list[Node], edges: list[Edge], path: Path) -> None:
    """One JSON object a line: every node, then every edge."""
    with path.open("w", encoding="utf-8") as fh:
        for n in nodes:
            fh.write(json.dumps(_record("node", n, NODE_FIELDS), ensure_ascii=False) + "\n")
        for e in edges:
            fh.write(json.dumps(_record("edge", e, EDGE_FIELDS), ensure_ascii=False) + "\n")


def write_graphml(nodes: list[Node], edges: list[Edge], path: Path) -> None:
    """A networkx multigraph as GraphML: scalar properties become ``p_<name>`` attributes."""
    import networkx

    g = networkx.MultiDiGraph()
    for n in nodes:
        attrs = {f"p_{k}": v for k, v in _scalar_props(n) if isinstance(v, (str, int, float, bool))}
        attrs.update(label=n.label, conversation=n.conversation or "", text=n.text or "")
        g.add_node(n.id, **attrs)
    for e in edges:
        g.add_edge(e.src, e.dst, key=e.type, type=e.type)
    networkx.write_graphml(g, path)


def write_turtle(nodes: list[Node], edges: list[Edge], path: Path) -> None:
    """RDF Turtle in the ``kgm:`` vocabulary (``schemas/kg-memory.ttl``)."""
    from rdflib import RDF, Graph, Literal, Namespace, URIRef

    def uri(node_id: str) -> URIRef:
        return URIRef(NODE_NS + node_id.replace(":", "/"))

    kgm = Namespace(KGM)
    g = Graph()
    g.bind("kgm", kgm)
    for n in nodes:
        g.add((uri(n.id), RDF.type, kgm[n.label]))
        g.add((uri(n.id), kgm.namespace, Literal(n.namespace)))
        if n.conversation:
            g.add((uri(n.id), kgm.conversation, Literal(n.conversation)))
        if n.text:
            g.add((uri(n.id), kgm.text, Literal(n.text)))
        for key, value in _scalar_props(n):
            g.add((uri(n.id), kgm[key], Literal(value)))
    for e in edges:
        g.add((uri(e.src), kgm[e.type], uri(e.dst)))
    g.serialize(destination=str(path), format="turtle")


WRITERS = {"jsonl": write_jsonl, "graphml": write_graphml, "ttl": write_turtle}


def export(store: Store, namespace: str, path: str | Path, fmt: str = "jsonl") -> dict[str, int]:
    """Write the namespace to ``path`` in ``fmt``; return node and edge counts."""
    if fmt not in WRITERS:
        raise ConfigError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    store_dir = getattr(store, "path", None)
    path = check_export_target(path, fmt, store_dir if isinstance(store_dir, Path) else None)
    nodes, edges = iter_graph(store, namespace)
    path.parent.mkdir(parents=True, exist_ok=True)
    WRITERS[fmt](nodes, edges, path)
    return {"nodes": len(nodes), "edges": len(edges)}
