"""Writes of the embedded store: batched upserts of nodes and edges, deletes.

Each runs in :meth:`Database.transaction` (joining the caller's, if open) and
bumps the written namespaces' generations, so the read caches drop their entries.
"""

from __future__ import annotations

from collections.abc import Sequence

from kg_memory.errors import StoreError
from kg_memory.model import Edge, Node, check_edge_type
from kg_memory.store.common import (
    chunks,
    dump_props,
    encode_vector,
    latest_nodes,
    missing_ends_error,
    tokenized,
)
from kg_memory.store.embedded.connection import Database
from kg_memory.store.embedded.reads import CHUNK, existing, marks

#: Rows per ``executemany`` batch.
BATCH = 2000

NODE_UPSERT = (
    "INSERT INTO nodes (pk, id, namespace, label, conversation, text, ftext, ntok, props) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
    "namespace = excluded.namespace, label = excluded.label, "
    "conversation = excluded.conversation, text = excluded.text, "
    "ftext = excluded.ftext, ntok = excluded.ntok, props = excluded.props "
    "WHERE nodes.namespace IS NOT excluded.namespace OR nodes.label IS NOT excluded.label "
    "OR nodes.conversation IS NOT excluded.conversation "
    "OR nodes.text IS NOT excluded.text OR nodes.props IS NOT excluded.props"
)
VECTOR_UPSERT = (
    "INSERT INTO vectors (id, namespace, label, conversation, vec) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(id) DO UPDATE SET namespace = excluded.namespace, "
    "label = excluded.label, conversation = excluded.conversation, vec = excluded.vec"
)
EDGE_UPSERT = (
    "INSERT INTO edges (src, type, dst, namespace, props) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(src, type, dst) DO UPDATE SET namespace = excluded.namespace, "
    "props = excluded.props "
    "WHERE edges.namespace IS NOT excluded.namespace OR edges.props IS NOT excluded.props"
)


def _pks(db: Database, ids: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    conn = db.conn
    for chunk in chunks(ids, CHUNK):
        out.update(
            conn.execute(
                f"SELECT id, pk FROM nodes WHERE id IN ({marks(len(chunk))})", tuple(chunk)
            ).fetchall()
        )
    return out


def _write_node_batch(db: Database, batch: Sequence[Node]) -> None:
    conn = db.conn
    # Within a batch the last write of an id wins, and its vector is
    # the last one given (as if the nodes were written one by one).
    latest = latest_nodes(batch)
    old_pk = _pks(db, list(latest))
    # New rows get their pk here (we hold the write lock), so that
    # their index entries go in with one executemany: FTS5 inserts
    # fired row by row from a trigger are 3-4x slower.
    next_pk = int(conn.execute("SELECT coalesce(max(pk), 0) + 1 FROM nodes").fetchone()[0])
    rows = []
    fts = []
    for id_, n in latest.items():
        ftext, ntok = tokenized(n.text) if n.text is not None else (None, None)
        pk = old_pk.get(id_)
        if pk is None:
            pk, next_pk = next_pk, next_pk + 1
            if ftext is not None:
                fts.append((pk, ftext))
        props = dump_props(n.props, f"node {id_}")
        rows.append((pk, id_, n.namespace, n.label, n.conversation, n.text, ftext, ntok, props))
    conn.executemany(NODE_UPSERT, rows)
    if fts:
        conn.executemany("INSERT INTO nodes_fts (rowid, ftext) VALUES (?, ?)", fts)
    vectors = [
        (id_, n.namespace, n.label, n.conversation, encode_vector(n.embedding))
        for id_, n in latest.items()
        if n.embedding is not None
    ]
    if vectors:
        conn.executemany(VECTOR_UPSERT, vectors)


def upsert_nodes(db: Database, nodes: Sequence[Node]) -> None:
    if not nodes:
        return
    with db.transaction():
        db.generations.bump({n.namespace for n in nodes})
        for batch in chunks(nodes, BATCH):
            _write_node_batch(db, batch)


def upsert_edges(db: Database, edges: Sequence[Edge]) -> None:
    if not edges:
        return
    with db.transaction():
        ends: dict[str, set[str]] = {}
        for e in edges:
            check_edge_type(e.type)
            ends.setdefault(e.namespace, set()).update((e.src, e.dst))
        missing = sorted(
            (i, ns) for ns, ids in ends.items() for i in ids - existing(db, ns, list(ids))
        )
        if missing:
            raise missing_ends_error(missing)
        for batch in chunks(edges, BATCH):
            db.conn.executemany(
                EDGE_UPSERT,
                [
                    (e.src, e.type, e.dst, e.namespace, dump_props(e.props, f"edge {e.key}"))
                    for e in batch
                ],
            )


def delete_conversation(db: Database, namespace: str, conversation: str) -> int:
    in_conv = "SELECT id FROM nodes WHERE namespace = ? AND conversation = ?"
    scope = (namespace, conversation)
    with db.transaction():
        conn = db.conn
        db.generations.bump([namespace])
        # Namespace-level nodes linked to the conversation may become orphans.
        linked = [
            r[0]
            for r in conn.execute(
                f"SELECT dst FROM edges WHERE src IN ({in_conv}) "
                f"UNION SELECT src FROM edges WHERE dst IN ({in_conv})",
                scope + scope,
            )
        ]
        conn.execute(f"DELETE FROM edges WHERE src IN ({in_conv})", scope)
        conn.execute(f"DELETE FROM edges WHERE dst IN ({in_conv})", scope)
        conn.execute("DELETE FROM vectors WHERE namespace = ? AND conversation = ?", scope)
        deleted = conn.execute(
            "DELETE FROM nodes WHERE namespace = ? AND conversation = ?", scope
        ).rowcount
        for chunk in chunks(linked, CHUNK):
            deleted += conn.execute(
                f"DELETE FROM nodes WHERE id IN ({marks(len(chunk))}) AND +namespace = ? "
                "AND conversation IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM edges WHERE edges.src = nodes.id) "
                "AND NOT EXISTS (SELECT 1 FROM edges WHERE edges.dst = nodes.id)",
                (*chunk, namespace),
            ).rowcount
        return int(deleted)


def delete_nodes(db: Database, namespace: str, ids: Sequence[str]) -> int:
    """Delete these nodes of ``namespace`` with their edges and vectors; the number deleted."""
    deleted = 0
    with db.transaction():
        conn = db.conn
        db.generations.bump([namespace])
        for chunk in chunks(list(dict.fromkeys(ids)), CHUNK):
            args = (*chunk, namespace)
            where = f"IN ({marks(len(chunk))}) AND namespace = ?"
            conn.execute(f"DELETE FROM edges WHERE src {where}", args)
            conn.execute(f"DELETE FROM edges WHERE dst {where}", args)
            conn.execute(f"DELETE FROM vectors WHERE id {where}", args)
            deleted += conn.execute(f"DELETE FROM nodes WHERE id {where}", args).rowcount
    return int(deleted)


def delete_edges(db: Database, namespace: str, keys: Sequence[tuple[str, str, str]]) -> int:
    """Delete these ``(src, type, dst)`` edges of ``namespace``; the number deleted."""
    deleted = 0
    with db.transaction():
        db.generations.bump([namespace])
        for src, etype, dst in dict.fromkeys(keys):
            deleted += db.conn.execute(
                "DELETE FROM edges WHERE src = ? AND type = ? AND dst = ? AND namespace = ?",
                (src, check_edge_type(etype), dst, namespace),
            ).rowcount
    return int(deleted)


def delete_namespace(db: Database, namespace: str) -> int:
    with db.transaction():
        conn = db.conn
        db.generations.bump([namespace])
        conn.execute("DELETE FROM edges WHERE namespace = ?", (namespace,))
        conn.execute("DELETE FROM vectors WHERE namespace = ?", (namespace,))
        return int(conn.execute("DELETE FROM nodes WHERE namespace = ?", (namespace,)).rowcount)


def lock_namespace(db: Database, namespace: str) -> None:
    """Nothing to take: the open transaction began with ``BEGIN IMMEDIATE``, which holds
    the whole database's write lock until it ends (other writers wait for it)."""
    if not db.depth:
        raise StoreError("lock_namespace needs an open store.transaction()")
