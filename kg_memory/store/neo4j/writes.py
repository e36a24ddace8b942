"""Writes of the Neo4j store: batched upserts of nodes and edges, deletes.

``UNWIND $rows`` in batches of :data:`BATCH` node rows (grouped by label) or
:data:`EDGE_BATCH` edge rows. Ids not stored yet are inserted with ``CREATE``,
the others upserted with ``MERGE``; an edge with an end created in the same
transaction cannot exist yet, so it is created too, with the type as a
parameter (Cypher 5.26 dynamic types: one statement for every type). Inside a
``transaction()`` the node statements return the element id of every node they
wrote, and an edge whose two ends the transaction wrote finds them by element
id (``NodeByElementIdSeek``): no index seek and no namespace read per end.
Insert rows are lists, not maps: reading a map row after a ``SET``
(``row.id``) made the planner buffer the whole batch in an ``Eager``; indexing
a list does not. (Measurements: ``NOTES.md``.)
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from kg_memory.errors import StoreError
from kg_memory.model import Edge, Node, check_edge_type
from kg_memory.store.common import chunks, latest_nodes, missing_ends_error
from kg_memory.store.neo4j import cypher
from kg_memory.store.neo4j.connection import Connection, OpenTx, Tx
from kg_memory.store.neo4j.reads import READ_CHUNK, stored_elements
from kg_memory.store.neo4j.rows import Quiet, edge_row, id_rows, new_rows, node_props, node_rows

#: Node rows per ``UNWIND`` write (a row may hold a vector).
BATCH = 1000
#: Edge rows per ``UNWIND`` write.
EDGE_BATCH = 10_000
#: Length of the vectors the schema's vector indexes hold (all-MiniLM-L6-v2).
VECTOR_DIMENSIONS = 384
#: Nodes per ``DETACH DELETE`` statement (all in the same transaction).
DELETE_BATCH = 10_000

#: One write statement of a batch: its query, a function building its rows, other parameters.
Batch = tuple[str, Callable[[], Sequence[Any]], Mapping[str, Any]]
EdgeKey = tuple[str, str, str]


def run_batches(
    tx: Tx,
    batches: Iterable[Batch],
    what: str = "nodes",
    sink: Callable[[Any], None] | None = None,
) -> None:
    """Run write statements in order, building each one's rows while the server runs the last.

    Every query ends in ``RETURN count(*) AS n``, so ``tx.run`` returns as soon as
    the server has planned it and the statement runs while the client builds the
    next rows (a statement without ``RETURN`` would hold ``run`` until it is done).
    A statement that wrote fewer rows than it was given (an end node vanished
    meanwhile) raises. ``sink`` gets each statement's result record.
    """
    pending: tuple[Any, int] | None = None
    for query, build, params in batches:
        rows = build()
        result = tx.run(query, rows=Quiet(rows), **params)
        if pending is not None:
            _check_written(*pending, what, sink)
        pending = (result, len(rows))
    if pending is not None:
        _check_written(*pending, what, sink)


def _check_written(
    result: Any, expected: int, what: str, sink: Callable[[Any], None] | None = None
) -> None:
    rec = result.single()
    if rec is not None and sink is not None:
        sink(rec)
    written = rec["n"] if rec else 0
    if written != expected:
        # Only edges can come short: an end node deleted by another writer meanwhile.
        raise StoreError(
            f"cannot write {what}: {expected - written} of {expected} "
            "lost an end node while being written"
        )


# -- nodes ------------------------------------------------------------------------------


def upsert_nodes(db: Connection, nodes: Sequence[Node]) -> None:
    """Upsert nodes: ``CREATE`` for ids not stored yet, ``MERGE`` for the others.

    One read finds which ids exist; inside a ``transaction()`` the created ids
    are remembered, so that their edges can be created without ``MERGE``.
    """
    if not nodes:
        return
    for n in nodes:
        if n.embedding is not None and np.asarray(n.embedding).size != VECTOR_DIMENSIONS:
            raise StoreError(
                f"node {n.id!r}: embedding has {np.asarray(n.embedding).size} dimensions; "
                f"the Neo4j vector indexes (schemas/neo4j.cypher) hold {VECTOR_DIMENSIONS}"
            )
    # Several writes of one id: the last wins, as with sequential upserts
    # (keeping an earlier vector when the last one has none).
    last = latest_nodes(nodes)
    # Props that cannot be stored are refused here, before anything is written; the
    # rest of each row (tokens, vectors) is built while the server runs the batch before.
    own = {i: node_props(n) for i, n in last.items()}
    state = db.open_tx
    db.write(
        functools.partial(_write_nodes, last=last, own=own, state=state),
        {n.namespace for n in nodes},
    )


def _write_nodes(
    tx: Tx,
    last: dict[str, Node],
    own: dict[str, dict[str, Any]],
    state: OpenTx | None,
) -> None:
    ids = list(last)
    existing = stored_elements(tx, ids)  # in any namespace: ids are unique store-wide
    made: dict[str, str] = {}
    plan: dict[tuple[str, bool, bool], list[str]] = defaultdict(list)
    for i, n in last.items():
        plan[(n.label, n.embedding is not None, i in existing)].append(i)
    run_batches(
        tx,
        (
            (
                cypher.node_query(label, has_vec) if exists else cypher.create_query(label),
                functools.partial(node_rows if exists else new_rows, last, own, chunk),
                {"label": label},
            )
            for (label, has_vec, exists), group in plan.items()
            for chunk in chunks(group, BATCH)
        ),
        sink=lambda rec: made.update(rec.get("made") or ()),
    )
    if state is not None:
        state.written.update((i, n.namespace) for i, n in last.items())
        state.created.update(made)
        state.elements.update(existing)
        state.elements.update(made)


# -- edges ------------------------------------------------------------------------------


def upsert_edges(db: Connection, edges: Sequence[Edge]) -> None:
    """Upsert edges: ``CREATE`` when an end was created in this transaction, else ``MERGE``.

    Both ends must exist in the edge's namespace; ends written in the open
    transaction are known to, the others are checked first (a missing end
    raises before anything is written). The namespace is a property of the
    ends only: an edge never joins two namespaces.
    """
    if not edges:
        return
    last: dict[EdgeKey, Edge] = {}
    for e in edges:
        check_edge_type(e.type)
        last[e.key] = e
    state = db.open_tx
    known = state.written if state is not None else set()
    ends = sorted({(i, e.namespace) for e in last.values() for i in (e.src, e.dst)} - known)
    pairs = [{"id": i, "ns": ns} for i, ns in ends]
    rows = {key: edge_row(e) for key, e in last.items()}
    check = functools.partial(_check_ends, pairs=pairs)
    write = functools.partial(_write_edges, rows=rows, state=state)
    namespaces = {e.namespace for e in edges}
    if state is not None:
        # Check first without marking the open transaction failed on a missing end.
        if pairs:
            db.read(check)
        db.write(write, namespaces)
    else:

        def both(tx: Tx) -> None:
            check(tx)
            write(tx)

        db.write(both, namespaces)


def _check_ends(tx: Tx, pairs: list[dict[str, str]]) -> None:
    """Raise naming the ``{"id", "ns"}`` pairs with no such node stored."""
    missing: list[tuple[str, str]] = []
    for chunk in chunks(pairs, READ_CHUNK):
        res = tx.run(cypher.MISSING_ENDS, pairs=Quiet(chunk))
        missing.extend((r["id"], r["ns"]) for r in res)
    missing.sort()
    if missing:
        raise missing_ends_error(missing)


def _write_edges(tx: Tx, rows: dict[EdgeKey, dict[str, Any]], state: OpenTx | None) -> None:
    created = state.created if state is not None else set()
    done = state.new_edges if state is not None else set()
    elements = state.elements if state is not None else {}
    written = state.written if state is not None else set()
    seek: list[list[Any]] = []
    fresh: list[dict[str, Any]] = []
    new_keys: list[EdgeKey] = []
    merged: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for key, row in rows.items():
        src, typ, dst = key
        if key in done or (src not in created and dst not in created):
            merged[typ].append(row)
            continue
        new_keys.append(key)
        a, b = elements.get(src), elements.get(dst)
        ns = row["ns"]
        # Both ends written by this transaction, in the edge's namespace: found by
        # element id, without the id index or a namespace read.
        if a and b and (src, ns) in written and (dst, ns) in written:
            seek.append([a, b, typ, row["props"]])
        else:
            fresh.append(row)
    batches: list[Batch] = [
        (cypher.CREATE_EDGES_BY_ELEMENT, functools.partial(list, chunk), {})
        for chunk in chunks(seek, EDGE_BATCH)
    ]
    batches += [
        (cypher.CREATE_EDGES, functools.partial(id_rows, chunk), {})
        for chunk in chunks(fresh, EDGE_BATCH)
    ]
    batches += [
        (cypher.edge_query(typ), functools.partial(id_rows, chunk), {})
        for typ, group in merged.items()
        for chunk in chunks(group, EDGE_BATCH)
    ]
    run_batches(tx, batches, "edges")
    done.update(new_keys)


# -- deletes ----------------------------------------------------------------------------


def _delete_batches(tx: Tx, query: str, **params: Any) -> int:
    """Run ``query`` (a batch of :data:`DELETE_BATCH` deletes) until a batch comes short."""
    deleted = 0
    while True:
        rec = tx.run(query, batch=DELETE_BATCH, **params).single()
        c = int(rec["c"]) if rec else 0
        deleted += c
        if c < DELETE_BATCH:
            return deleted


def _delete(db: Connection, namespace: str, delete: Callable[[Tx], int]) -> int:
    """Run ``delete`` as a write to ``namespace``; the open transaction forgets what it
    wrote (its nodes may be gone). The number of nodes deleted."""
    state = db.open_tx

    def work(tx: Tx) -> int:
        deleted = delete(tx)
        if state is not None:
            state.forget()
        return deleted

    return db.write(work, {namespace})


def _delete_conversation(namespace: str, conversation: str, tx: Tx) -> int:
    linked = tx.run(cypher.LINKED_TO_CONVERSATION, ns=namespace, conv=conversation).single()
    ids: list[str] = linked["ids"] if linked else []
    deleted = _delete_batches(tx, cypher.DELETE_CONVERSATION_BATCH, ns=namespace, conv=conversation)
    for chunk in chunks(ids, READ_CHUNK):
        rec = tx.run(cypher.DELETE_ORPHANS, ids=Quiet(chunk), ns=namespace).single()
        deleted += int(rec["c"]) if rec else 0
    return deleted


def delete_conversation(db: Connection, namespace: str, conversation: str) -> int:
    """Delete a conversation's nodes, then the namespace-level nodes it leaves without edges."""
    return _delete(db, namespace, functools.partial(_delete_conversation, namespace, conversation))


def _delete_nodes(namespace: str, ids: list[str], tx: Tx) -> int:
    deleted = 0
    for chunk in chunks(ids, READ_CHUNK):
        rec = tx.run(cypher.DELETE_NODES, ids=Quiet(chunk), ns=namespace).single()
        deleted += int(rec["c"]) if rec else 0
    return deleted


def delete_nodes(db: Connection, namespace: str, ids: Sequence[str]) -> int:
    """Delete these nodes of ``namespace`` with their edges; the number deleted."""
    wanted = list(dict.fromkeys(ids))
    return _delete(db, namespace, functools.partial(_delete_nodes, namespace, wanted))


def _delete_edges(namespace: str, keys: list[tuple[str, str, str]], tx: Tx) -> int:
    by_type: dict[str, list[dict[str, str]]] = defaultdict(list)
    for src, etype, dst in keys:
        by_type[check_edge_type(etype)].append({"src": src, "dst": dst})
    deleted = 0
    for etype, pairs in sorted(by_type.items()):
        for chunk in chunks(pairs, READ_CHUNK):
            query = cypher.delete_edges_query(etype)
            rec = tx.run(query, pairs=Quiet(chunk), ns=namespace).single()
            deleted += int(rec["c"]) if rec else 0
    return deleted


def delete_edges(db: Connection, namespace: str, keys: Sequence[tuple[str, str, str]]) -> int:
    """Delete these ``(src, type, dst)`` edges of ``namespace``; the number deleted."""
    wanted = list(dict.fromkeys(keys))
    return _delete(db, namespace, functools.partial(_delete_edges, namespace, wanted))


def _delete_namespace(namespace: str, tx: Tx) -> int:
    deleted = _delete_batches(tx, cypher.DELETE_NAMESPACE_BATCH, ns=namespace)
    tx.run(cypher.DELETE_LOCK, ns=namespace).consume()
    return deleted


def _delete_namespace_batch(namespace: str, tx: Tx) -> int:
    rec = tx.run(cypher.DELETE_NAMESPACE_BATCH, ns=namespace, batch=DELETE_BATCH).single()
    return int(rec["c"]) if rec else 0


def delete_namespace(db: Connection, namespace: str) -> int:
    """Delete a namespace, :data:`DELETE_BATCH` nodes per statement.

    Inside an open ``store.transaction()`` all of it in that transaction; outside,
    one transaction per batch, so that a namespace larger than the server's
    transaction memory (``db.memory.transaction.max``) can be deleted: an
    interrupted delete leaves part of it, and deleting again finishes it.
    """
    if db.open_tx is not None:
        return _delete(db, namespace, functools.partial(_delete_namespace, namespace))
    deleted = 0
    while batch := _delete(db, namespace, functools.partial(_delete_namespace_batch, namespace)):
        deleted += batch
    return deleted + _delete(db, namespace, functools.partial(_delete_namespace, namespace))


def lock_namespace(db: Connection, namespace: str) -> None:
    """Take ``namespace``'s write lock in the open transaction (a ``WriteLock`` node,
    unique per namespace): another transaction taking it waits until this one ends."""
    if db.open_tx is None:
        raise StoreError("lock_namespace needs an open store.transaction()")
    db.write(lambda tx: tx.run(cypher.LOCK_NAMESPACE, ns=namespace).consume(), {namespace})
