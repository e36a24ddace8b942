"""The read-only Cypher entry point of the Neo4j store (``kg-memory cypher``, named queries).

:func:`cypher` runs a user's query. With ``read_only`` (the CLI's only mode) the
query is first planned with ``EXPLAIN`` and its plan checked by
:mod:`~kg_memory.store.neo4j.guard` (read operators and allow-listed procedures
only; with ``namespace``, every node kept to it), then run in a READ session
(the server refuses writes too) under a timeout and a row cap. Results are plain
Python (:func:`~.rows.plain_value`: graph entities as dicts, no vectors).
"""

from __future__ import annotations

from typing import Any

from neo4j import READ_ACCESS, WRITE_ACCESS
from neo4j import exceptions as neo4j_errors

from kg_memory.errors import KGMemoryError, QueryError, StoreUnavailableError
from kg_memory.store.neo4j.connection import Connection, Tx
from kg_memory.store.neo4j.guard import bind_namespace, guarded_read
from kg_memory.store.neo4j.rows import plain_value


def cypher(
    db: Connection,
    query: str,
    params: dict[str, Any] | None,
    read_only: bool,
    namespace: str | None = None,
) -> list[dict[str, Any]]:
    """Run Cypher; rows as dicts (nodes/relationships as property dicts, no vectors).

    With ``namespace`` ``$namespace`` is bound to it (a ``namespace`` parameter is
    refused) and every node the plan reads must be kept to it. It runs in its
    own session: it does not see writes of an open ``transaction()``. Other
    driver errors are left to the store's ``db_errors``.
    """
    if namespace is not None:
        if not read_only:
            raise QueryError("namespace-scoped Cypher is read-only")
        params = bind_namespace(params, namespace)
    params = dict(params or {})

    def write(tx: Tx) -> list[dict[str, Any]]:
        return [{k: plain_value(v) for k, v in rec.items()} for rec in tx.run(query, params)]

    try:
        with db.session(READ_ACCESS if read_only else WRITE_ACCESS) as s:
            if read_only:
                work = guarded_read(
                    query, params, scoped=namespace is not None, convert=plain_value
                )
                return s.execute_read(work)
            return s.execute_write(write)
    except neo4j_errors.ClientError as exc:
        raise _error(exc, db.uri, read_only) from exc


def _error(exc: neo4j_errors.ClientError, uri: str, read_only: bool) -> KGMemoryError:
    """The kg-memory error for a client error of a user query."""
    code = exc.code or ""
    msg = exc.message or str(exc)
    if read_only and (
        "AccessMode" in code
        or "Forbidden" in code
        or ("write" in msg.lower() and "read" in msg.lower())
    ):
        return QueryError(f"kg-memory cypher is read-only: the server refused a write ({msg})")
    if isinstance(exc, neo4j_errors.AuthError):
        return StoreUnavailableError(f"Neo4j at {uri} rejected the credentials: {msg}")
    if "TransactionTimedOut" in code or "Terminated" in code:
        return QueryError(f"the query ran out of time and was stopped ({code}): {msg}")
    return QueryError(f"Cypher error ({code}): {msg}")


__all__ = ["cypher"]
