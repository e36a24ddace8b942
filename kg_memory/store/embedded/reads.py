"""Reads of the embedded store: nodes by id or label, neighbours, ids, counts, scopes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from kg_memory.model import Edge, Node, Stats
from kg_memory.store.base import Direction
from kg_memory.store.common import Scope, chunks, decode_vector
from kg_memory.store.embedded.connection import Database

#: Ids per ``IN (...)`` list (below SQLite's historical 999-parameter limit).
CHUNK = 900


def marks(n: int) -> str:
    """``n`` SQL parameter marks: ``?,?,?``."""
    return ",".join("?" * n)


_DECODER = json.JSONDecoder()


def _props(raw: str) -> dict[str, Any]:
    """Stored props decoded (most edges have none: ``"{}"`` skips the JSON parser).

    >>> _props("{}"), _props('{"a":1}')
    ({}, {'a': 1})
    """
    if raw == "{}":
        return {}
    try:  # raw_decode skips json.loads's checks around the C scanner: 3x faster
        props, end = _DECODER.raw_decode(raw)
        if end == len(raw):
            return props  # type: ignore[no-any-return]
    except json.JSONDecodeError:
        pass
    return json.loads(raw)  # type: ignore[no-any-return]  # not ours: json's own error


def _nodes_from_rows(rows: Sequence[sqlite3.Row | tuple[Any, ...]]) -> list[Node]:
    out = []
    for r in rows:
        emb = None
        if len(r) > 6 and r[6] is not None:
            emb = decode_vector(r[6])
        out.append(
            Node(
                id=r[0],
                label=r[1],
                namespace=r[2],
                conversation=r[3],
                text=r[4],
                props=_props(r[5]),
                embedding=emb,
            )
        )
    return out


def _node_cols(with_embeddings: bool) -> str:
    cols = "n.id, n.label, n.namespace, n.conversation, n.text, n.props"
    if with_embeddings:
        return cols + ", v.vec FROM nodes n LEFT JOIN vectors v ON v.id = n.id"
    return cols + " FROM nodes n"


def get_nodes(
    db: Database, namespace: str, ids: Sequence[str], with_embeddings: bool
) -> list[Node]:
    wanted = list(dict.fromkeys(ids))
    found: dict[str, Node] = {}
    with db.lock:
        conn = db.conn
        for chunk in chunks(wanted, CHUNK):
            rows = conn.execute(
                f"SELECT {_node_cols(with_embeddings)} "
                f"WHERE n.id IN ({marks(len(chunk))}) AND +n.namespace = ?",
                (*chunk, namespace),
            ).fetchall()
            for node in _nodes_from_rows(rows):
                found[node.id] = node
    return [found[i] for i in wanted if i in found]


def find_nodes(db: Database, scope: Scope, limit: int | None, with_embeddings: bool) -> list[Node]:
    namespace, label, conversation = scope
    sql = f"SELECT {_node_cols(with_embeddings)} WHERE n.namespace = ? AND n.label = ?"
    params: list[Any] = [namespace, label]
    if conversation is not None:
        sql += " AND n.conversation = ?"
        params.append(conversation)
    sql += " ORDER BY n.id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(max(int(limit), 0))
    with db.lock:
        rows = db.conn.execute(sql, params).fetchall()
    return _nodes_from_rows(rows)


def neighbours(
    db: Database, namespace: str, ids: list[str], types: list[str] | None, direction: Direction
) -> list[Edge]:
    """Edges incident to the distinct ``ids`` (of ``types``, ``None``: any), sorted by key."""
    type_sql = f" AND type IN ({marks(len(types))})" if types else ""
    ends = []
    if direction in ("out", "both"):
        ends.append("src")
    if direction in ("in", "both"):
        ends.append("dst")
    rows: list[tuple[str, str, str, str, str]] = []
    with db.lock:
        conn = db.conn
        for chunk in chunks(ids, CHUNK):
            for end in ends:
                sql = (
                    "SELECT src, type, dst, namespace, props FROM edges "
                    f"WHERE {end} IN ({marks(len(chunk))}) AND +namespace = ?{type_sql}"
                )
                rows.extend(conn.execute(sql, (*chunk, namespace, *(types or ()))))
    if len(ends) > 1:  # an edge between two of the ids came once from each end
        rows = list(set(rows))
    rows.sort()  # by (src, type, dst): the key is unique
    return [Edge(src, typ, dst, ns, _props(props)) for src, typ, dst, ns, props in rows]


def existing(db: Database, namespace: str, ids: Sequence[str]) -> set[str]:
    """The stored ids among ``ids`` in ``namespace`` (the caller holds the lock)."""
    out: set[str] = set()
    conn = db.conn
    for chunk in chunks(list(ids), CHUNK):
        out.update(
            r[0]
            for r in conn.execute(
                f"SELECT id FROM nodes WHERE id IN ({marks(len(chunk))}) AND +namespace = ?",
                (*chunk, namespace),
            )
        )
    return out


def existing_ids(db: Database, namespace: str, ids: list[str]) -> set[str]:
    with db.lock:
        return existing(db, namespace, ids)


def counts(db: Database, namespace: str | None) -> Stats:
    where, params = ("WHERE namespace = ?", (namespace,)) if namespace is not None else ("", ())
    with db.lock:
        conn = db.conn
        nodes = conn.execute(
            f"SELECT label, count(*) FROM nodes {where} GROUP BY label", params
        ).fetchall()
        edges = conn.execute(
            f"SELECT type, count(*) FROM edges {where} GROUP BY type", params
        ).fetchall()
    return Stats(nodes={k: int(v) for k, v in nodes}, edges={k: int(v) for k, v in edges})


def _distinct_values(db: Database, sql: str, *params: Any) -> list[str]:
    """The one column of ``sql``'s rows."""
    with db.lock:
        rows = db.conn.execute(sql, params).fetchall()
    return [r[0] for r in rows]


def namespaces(db: Database) -> list[str]:
    return _distinct_values(db, "SELECT DISTINCT namespace FROM nodes ORDER BY namespace")


def conversations(db: Database, namespace: str) -> list[str]:
    sql = (
        "SELECT DISTINCT conversation FROM nodes WHERE namespace = ? "
        "AND conversation IS NOT NULL ORDER BY conversation"
    )
    return _distinct_values(db, sql, namespace)
