"""``kg-memory import``: write a JSONL export back into a store, the same graph again.

The file is read and checked whole first (:func:`~kg_memory.export.jsonl.read_jsonl`),
then every node and edge is upserted in one store transaction: the same ids,
properties and vectors, so importing a file twice changes nothing, and a bad
file stores nothing.

Ids are derived from the namespace (:func:`kg_memory.ids.stable_id`), and
code that later re-derives them (re-ingest's fingerprint check, ``remember``,
the server's filters) expects that, so a file is imported into the namespace it
was exported from; naming another is refused rather than silently re-keyed.
"""

from __future__ import annotations

from pathlib import Path

from kg_memory.errors import InputError
from kg_memory.export.jsonl import read_jsonl
from kg_memory.store.base import Store

#: Nodes or edges per upsert call.
BATCH = 1000


def import_jsonl(store: Store, path: str | Path, namespace: str | None = None) -> dict[str, int]:
    """Upsert the graph of the JSONL export ``path``; return its node and edge counts.

    ``namespace`` (default: the file's) must be the namespace the file holds.
    """
    data = read_jsonl(path)
    if data.namespace is None:
        return {"nodes": 0, "edges": 0}
    if namespace is not None and namespace != data.namespace:
        raise InputError(
            f"the file holds namespace {data.namespace!r}, not {namespace!r}: node ids are "
            f"derived from the namespace, so it can only be imported into {data.namespace!r}",
            path=str(path),
            field="namespace",
        )
    with store.transaction():
        for i in range(0, len(data.nodes), BATCH):
            store.upsert_nodes(data.nodes[i : i + BATCH])
        for i in range(0, len(data.edges), BATCH):
            store.upsert_edges(data.edges[i : i + BATCH])
    return {"nodes": len(data.nodes), "edges": len(data.edges)}
