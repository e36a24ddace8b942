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


def export(store: Store, namespace: str, path: str | Path, fmt: str = "jsonl") -> dict[str, int]:
    """Write the namespace to ``path`` in ``fmt``; return node and edge counts."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    store_dir = getattr(store, "path", None)
    path = check_export_target(path, fmt, store_dir if isinstance(store_dir, Path) else None)
    nodes, edges = iter_graph(store, namespace)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        with path.open("w", encoding="utf-8") as fh:
            for n in nodes:
                rec = {
                    "type": "node",
                    "id": n.id,
                    "label": n.label,
                    "namespace": n.namespace,
                    "conversation": n.conversation,
                    "text": n.text,
                    "props": dict(n.props),
                }
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            for e in edges:
                rec = {
                    "type": "edge",
                    "src": e.src,
                    "rel": e.type,
                    "dst": e.dst,
                    "props": dict(e.props),
                }
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    elif fmt == "graphml":
        import networkx as nx

        g = nx.MultiDiGraph()
        for n in nodes:
            attrs = {
                f"p_{k}": v for k, v in _scalar_props(n) if isinstance(v, (str, int, float, bool))
            }
            attrs.update(label=n.label, conversation=n.conversation or "", text=n.text or "")
            g.add_node(n.id, **attrs)
        for e in edges:
            g.add_edge(e.src, e.dst, key=e.type, type=e.type)
        nx.write_graphml(g, path)
    else:
        from rdflib import RDF, Graph, Literal, Namespace, URIRef

        kgm = Namespace(KGM)
        g = Graph()
        g.bind("kgm", kgm)
        for n in nodes:
            uri = URIRef(NODE_NS + n.id.replace(":", "/"))
            g.add((uri, RDF.type, kgm[n.label]))
            g.add((uri, kgm.namespace, Literal(n.namespace)))
            if n.conversation:
                g.add((uri, kgm.conversation, Literal(n.conversation)))
            if n.text:
                g.add((uri, kgm.text, Literal(n.text)))
            for key, value in _scalar_props(n):
                g.add((uri, kgm[key], Literal(value)))
        for e in edges:
            g.add(
                (
                    URIRef(NODE_NS + e.src.replace(":", "/")),
                    kgm[e.type],
                    URIRef(NODE_NS + e.dst.replace(":", "/")),
                )
            )
        g.serialize(destination=str(path), format="turtle")
    return {"nodes": len(nodes), "edges": len(edges)}
