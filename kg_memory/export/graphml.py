"""The GraphML export (networkx), laid out for Gephi and yEd.

Every node has ``label`` (a readable name: an entity's name, a turn's speaker
and words, ...; Gephi and yEd show it), ``type`` (its kg-memory label: Turn,
Entity, ...), ``namespace``, ``conversation`` and ``text``, and one ``p_<key>``
attribute per property. Every edge has ``type`` (its edge type, also the
GraphML edge id's key) and one ``p_<key>`` per property. GraphML has no lists,
so a list is its JSON text; ``None`` is left out. A conversation's source is
its file name, never a local path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import networkx

from kg_memory.export.graph import display_name, public_props
from kg_memory.model import Edge, Node


def _attrs(props: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    for key in sorted(props):
        value = props[key]
        if value is None:
            continue
        if isinstance(value, (str, int, float, bool)):
            yield f"p_{key}", value
        else:
            yield f"p_{key}", json.dumps(value, ensure_ascii=False)


def build_graphml(nodes: list[Node], edges: list[Edge]) -> networkx.MultiDiGraph:
    """The networkx multigraph written as GraphML."""
    g = networkx.MultiDiGraph()
    for n in nodes:
        attrs = dict(_attrs(public_props(n)))
        attrs.update(
            label=display_name(n),
            type=n.label,
            namespace=n.namespace,
            conversation=n.conversation or "",
            text=n.text or "",
        )
        g.add_node(n.id, **attrs)
    for e in edges:
        g.add_edge(e.src, e.dst, key=e.type, type=e.type, **dict(_attrs(e.props)))
    return g


def write_graphml(nodes: list[Node], edges: list[Edge], path: Path, namespace: str) -> None:
    """GraphML for Gephi and yEd (see the module docstring for the attributes)."""
    networkx.write_graphml(build_graphml(nodes, edges), path)
