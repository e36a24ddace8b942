"""What the export tests share: a memory with every layer, and graph comparisons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from rdflib import BNode, Graph
from rdflib.collection import Collection

from kg_memory.export import iter_graph
from kg_memory.memory import Memory
from kg_memory.model import Edge, Node
from kg_memory.store.base import Store

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "ingest" / "samples" / "demo.jsonl"


def ingest_demo(store: Store, namespace: str) -> None:
    """The demo conversation with every stage (hash embedder: fast, deterministic)."""
    Memory(store, namespace=namespace, embedder="hash").ingest([DEMO])


def node_key(n: Node) -> tuple[Any, ...]:
    vec = None if n.embedding is None else np.asarray(n.embedding, dtype="<f4").tobytes()
    return (n.id, n.label, n.namespace, n.conversation, n.text, dict(n.props), vec)


def graph_of(store: Store, namespace: str) -> tuple[list[tuple[Any, ...]], list[Edge]]:
    """A namespace's nodes (with their vectors' exact bytes) and edges, comparable with ==."""
    nodes, edges = iter_graph(store, namespace, with_embeddings=True)
    return [node_key(n) for n in nodes], edges


def canonical_triples(g: Graph) -> set[tuple[Any, ...]]:
    """``g``'s triples with every RDF list (our only blank nodes) as a tuple of its items."""
    out: set[tuple[Any, ...]] = set()
    for s, p, o in g:
        if isinstance(s, BNode):
            continue
        out.add((s, p, tuple(Collection(g, o)) if isinstance(o, BNode) else o))
    return out
