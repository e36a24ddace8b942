"""Reads of the Neo4j store: nodes by id or label, neighbours, ids, counts, scopes.

Each function takes the store's :class:`~kg_memory.store.neo4j.connection.Connection`
and runs in the calling thread's transaction when one is open (so it sees its
writes), else in a read transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kg_memory.model import Edge, Node, Stats
from kg_memory.store.base import Direction
from kg_memory.store.common import Scope, chunks
from kg_memory.store.neo4j import cypher
from kg_memory.store.neo4j.connection import Connection, Tx
from kg_memory.store.neo4j.rows import Quiet, joined_props, to_node

#: Ids per ``UNWIND`` read.
READ_CHUNK = 5000


def stored_elements(tx: Tx, ids: Sequence[str], namespace: str | None = None) -> dict[str, str]:
    """The stored nodes among ``ids`` (in ``namespace``, or in any namespace when
    ``None``): id -> element id."""
    query = cypher.stored_elements_query(namespace is not None)
    out: dict[str, str] = {}
    for chunk in chunks(ids, READ_CHUNK):
        rec = tx.run(query, ids=Quiet(chunk), ns=namespace).single()
        out.update(rec["found"] if rec else ())
    return out


def existing_ids(db: Connection, namespace: str, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    return set(db.read(lambda tx: stored_elements(tx, ids, namespace)))


def get_nodes(
    db: Connection, namespace: str, ids: Sequence[str], with_embeddings: bool
) -> list[Node]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    query = cypher.get_nodes_query(with_embeddings)

    def work(tx: Tx) -> dict[str, Node]:
        found: dict[str, Node] = {}
        for chunk in chunks(wanted, READ_CHUNK):
            for rec in tx.run(query, ids=Quiet(chunk), ns=namespace):
                found[rec["id"]] = to_node(rec, with_embeddings)
        return found

    found = db.read(work)
    return [found[i] for i in wanted if i in found]


def find_nodes(
    db: Connection, scope: Scope, limit: int | None, with_embeddings: bool
) -> list[Node]:
    namespace, label, conversation = scope
    query = cypher.find_nodes_query(conversation is not None, limit is not None, with_embeddings)
    params: dict[str, Any] = {"ns": namespace, "label": label}
    if conversation is not None:
        params["conv"] = conversation
    if limit is not None:
        params["limit"] = max(int(limit), 0)

    def work(tx: Tx) -> list[Node]:
        return [to_node(rec, with_embeddings) for rec in tx.run(query, params)]

    return db.read(work)


def neighbours(
    db: Connection, namespace: str, ids: list[str], types: list[str] | None, direction: Direction
) -> list[Edge]:
    """Edges incident to the distinct ``ids`` (of ``types``, ``None``: any), sorted by key."""
    queries = cypher.neighbours_queries(types, direction)

    def work(tx: Tx) -> dict[tuple[str, str, str], Edge]:
        found: dict[tuple[str, str, str], Edge] = {}
        for chunk in chunks(ids, READ_CHUNK):
            for q in queries:
                for rec in tx.run(q, ids=Quiet(chunk), ns=namespace):
                    for src, etype, dst, plain, extra in rec["rows"]:
                        key = (src, etype, dst)
                        if key not in found:
                            found[key] = Edge(*key, namespace, joined_props(plain, extra))
        return found

    found = db.read(work)
    return [found[key] for key in sorted(found)]


def counts(db: Connection, namespace: str | None) -> Stats:
    nq, eq = cypher.counts_queries(namespace is not None)

    def work(tx: Tx) -> Stats:
        nodes = {r["k"]: int(r["c"]) for r in tx.run(nq, ns=namespace)}
        edges = {r["k"]: int(r["c"]) for r in tx.run(eq, ns=namespace)}
        return Stats(nodes=nodes, edges=edges)

    return db.read(work)


def _distinct_values(db: Connection, query: str, **params: Any) -> list[str]:
    """The one column of ``query``'s records."""

    def work(tx: Tx) -> list[str]:
        return [r[0] for r in tx.run(query, params)]

    return db.read(work)


def namespaces(db: Connection) -> list[str]:
    return _distinct_values(db, cypher.NAMESPACES)


def conversations(db: Connection, namespace: str) -> list[str]:
    return _distinct_values(db, cypher.CONVERSATIONS, ns=namespace)
