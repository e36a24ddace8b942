"""A namespace's whole graph as comparable data (tests of refused input and forgetting)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from kg_memory.export import iter_graph
from kg_memory.store.base import Store


def graph_dump(store: Store, namespace: str) -> dict[str, Any]:
    """Every node (with its vector) and edge of ``namespace``, keyed by id / edge key."""
    nodes, edges = iter_graph(store, namespace)
    vectors = {
        n.id: n.embedding.tobytes().hex()
        for n in store.get_nodes(namespace, [n.id for n in nodes], with_embeddings=True)
        if n.embedding is not None
    }
    return {
        "nodes": {
            n.id: [n.label, n.conversation, n.text, dict(n.props), vectors.get(n.id)] for n in nodes
        },
        "edges": {"|".join(e.key): dict(e.props) for e in edges},
    }


def dump_hash(store: Store, namespace: str) -> str:
    """A short hash of :func:`graph_dump`."""
    text = json.dumps(graph_dump(store, namespace), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (an embedded store directory)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
