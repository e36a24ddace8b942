"""Replace a stored conversation by a new version of it, in place.

A re-ingest (``--force``, a changed fingerprint, forgetting a session or a
turn) writes the new version over the stored one inside the caller's
transaction:

1. nodes and edges of the new version are upserted: a node both versions have
   keeps its identity in the store and gets its new props (the same for an edge);
2. edges of the old version the new one lacks are deleted, then its nodes the
   new one lacks, with their edges;
3. the shared entities either version touched are brought in line with what
   stored turns support (:func:`kg_memory.store.shared.refresh_shared`).

The result equals deleting the conversation and ingesting it fresh, but a node
the two versions share never goes missing: a reader of a server backend whose
commits become visible record by record (Neo4j's read-committed isolation)
sees its old or its new version, never no node, while the replacement commits.
"""

from __future__ import annotations

from collections.abc import Sequence

from kg_memory.model import Edge, Node
from kg_memory.store.base import Store
from kg_memory.store.shared import conversation_node_ids, linked_shared, refresh_shared

#: Ids per neighbours call.
CHUNK = 500


def replace_conversation(
    store: Store, namespace: str, conversation: str, nodes: Sequence[Node], edges: Sequence[Edge]
) -> None:
    """Write ``nodes`` and ``edges``, the new version of ``conversation``, over the stored one."""
    old_ids = conversation_node_ids(store, namespace, conversation)
    old = set(old_ids)
    old_edges = {
        e.key
        for i in range(0, len(old_ids), CHUNK)
        for e in store.neighbours(namespace, old_ids[i : i + CHUNK])
        if e.src in old or e.dst in old
    }
    linked = linked_shared(store, namespace, old_ids)
    store.upsert_nodes(list(nodes))
    store.upsert_edges(list(edges))
    stale_edges = sorted(old_edges - {e.key for e in edges})
    if stale_edges:
        store.delete_edges(namespace, stale_edges)
    stale_nodes = sorted(old - {n.id for n in nodes})
    if stale_nodes:
        store.delete_nodes(namespace, stale_nodes)
    shared = {n.id for n in nodes if n.conversation is None}
    refresh_shared(store, namespace, sorted(shared | set(linked)))
