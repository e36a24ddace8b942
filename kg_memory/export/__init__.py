"""Export one namespace of the memory, and import a JSONL export back.

Formats, one module each:

* ``jsonl`` (:mod:`~kg_memory.export.jsonl`): lossless, with vectors; what
  ``kg-memory import`` reads back (:mod:`~kg_memory.export.load`).
* ``ttl`` and ``jsonld`` (:mod:`~kg_memory.export.rdf`): RDF in the vocabulary
  of ``schemas/kg-memory.ttl`` (shapes: ``schemas/kg-memory.shacl.ttl``;
  JSON-LD context: ``schemas/kg-memory.context.jsonld``).
* ``graphml`` (:mod:`~kg_memory.export.graphml`): for Gephi and yEd.

Every format is written from the same read (:func:`~kg_memory.export.graph.iter_graph`),
nodes by label then id and edges by key, so an export is deterministic: the
same memory gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kg_memory.errors import ConfigError
from kg_memory.export.graph import iter_graph
from kg_memory.export.graphml import write_graphml
from kg_memory.export.jsonl import write_jsonl
from kg_memory.export.load import import_jsonl
from kg_memory.export.rdf import write_jsonld, write_turtle
from kg_memory.model import Edge, Node
from kg_memory.security.export_target import check_export_target
from kg_memory.store.base import Store

Writer = Callable[[list[Node], list[Edge], Path, str], None]

#: Format name -> its writer.
WRITERS: dict[str, Writer] = {
    "jsonl": write_jsonl,
    "graphml": write_graphml,
    "ttl": write_turtle,
    "jsonld": write_jsonld,
}
FORMATS = tuple(WRITERS)

__all__ = ["FORMATS", "WRITERS", "export", "import_jsonl", "iter_graph"]


def export(store: Store, namespace: str, path: str | Path, fmt: str = "jsonl") -> dict[str, int]:
    """Write the namespace to ``path`` in ``fmt``; return node and edge counts."""
    if fmt not in WRITERS:
        raise ConfigError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    store_dir = getattr(store, "path", None)
    path = check_export_target(path, fmt, store_dir if isinstance(store_dir, Path) else None)
    nodes, edges = iter_graph(store, namespace, with_embeddings=fmt == "jsonl")
    path.parent.mkdir(parents=True, exist_ok=True)
    WRITERS[fmt](nodes, edges, path, namespace)
    return {"nodes": len(nodes), "edges": len(edges)}
