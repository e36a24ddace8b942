"""The read-only Cypher entry point of the Neo4j store (``kg-memory cypher``, named queries).

:func:`cypher` runs a user's query; with ``read_only`` (the CLI's only mode) the
guard :func:`find_write_clause` refuses write clauses before the query is sent,
and the session runs in READ access mode, so the server refuses any write that
slipped through. Results are plain Python (:func:`~.rows.plain_value`: graph
entities as dicts, no vectors).
"""

from __future__ import annotations

import re
from typing import Any

from neo4j import READ_ACCESS, WRITE_ACCESS
from neo4j import exceptions as neo4j_errors

from kg_memory.errors import QueryError, StoreUnavailableError
from kg_memory.store.neo4j.connection import Connection, Tx
from kg_memory.store.neo4j.rows import plain_value

_STRIP = re.compile(
    r"""
    '(?:[^'\\]|\\.)*'       # single-quoted string
    | "(?:[^"\\]|\\.)*"     # double-quoted string
    | `(?:[^`]|``)*`        # backticked name
    | //[^\n]*              # line comment
    | /\*.*?\*/             # block comment
    """,
    re.VERBOSE | re.DOTALL,
)
_WRITE_CLAUSES = re.compile(
    r"""
    (?<![.$:\w])
    (
      (?:
        CREATE | MERGE | DELETE | DETACH | SET | REMOVE | DROP | FOREACH
        | LOAD \s+ CSV | ALTER | RENAME | GRANT | DENY | REVOKE | TERMINATE
        | IN \s+ (?:\d+\s+ CONCURRENT \s+)? TRANSACTIONS
        | (?:START|STOP) \s+ DATABASE
      ) (?!\w) (?!\s*:)    # not a map key such as {delete: 1}
      | CALL \s+ (?:
            db\s*\.\s*create\w*
          | db\s*\.\s*index\s*\.\s*\w+\s*\.\s*(?:create|drop|await)\w*
          | db\s*\.\s*(?:clear|checkpoint|resample)\w*
          | apoc\s*\. | dbms\s*\. | gds\s*\. | genai\s*\. | tx\s*\.
        )
    )
    """,
    re.VERBOSE | re.IGNORECASE,
)


def find_write_clause(query: str) -> str | None:
    """The first write clause of ``query`` outside strings and comments, else ``None``.

    >>> find_write_clause("MATCH (n) WHERE n.text = 'CREATE' RETURN n.set // DELETE")
    >>> find_write_clause("match (n) detach delete n")
    'DETACH'
    >>> find_write_clause("CALL apoc.create.node(['X'], {})")
    'CALL APOC.'
    """
    m = _WRITE_CLAUSES.search(_STRIP.sub(" ", query))
    if m is None:
        return None
    return re.sub(r"\s+", " ", m.group(1)).upper()


def cypher(
    db: Connection, query: str, params: dict[str, Any] | None, read_only: bool
) -> list[dict[str, Any]]:
    """Run Cypher; rows as dicts (nodes/relationships as property dicts, no vectors).

    With ``read_only`` (the CLI's only mode) write clauses are refused before
    the query is sent, and the session runs in READ access mode, so the
    server refuses any write that slipped through. It runs in its own
    session: it does not see writes of an open ``transaction()``. Other driver
    errors are left to the store's ``db_errors``.
    """
    if read_only:
        clause = find_write_clause(query)
        if clause is not None:
            raise QueryError(f"kg-memory cypher is read-only: found {clause}")
    params = dict(params or {})

    def work(tx: Tx) -> list[dict[str, Any]]:
        res = tx.run(query, params)
        return [{k: plain_value(v) for k, v in rec.items()} for rec in res]

    try:
        with db.session(READ_ACCESS if read_only else WRITE_ACCESS) as s:
            if read_only:
                return s.execute_read(work)
            return s.execute_write(work)
    except neo4j_errors.ClientError as exc:
        code = exc.code or ""
        msg = exc.message or str(exc)
        if read_only and (
            "AccessMode" in code
            or "Forbidden" in code
            or ("write" in msg.lower() and "read" in msg.lower())
        ):
            raise QueryError(
                f"kg-memory cypher is read-only: the server refused a write ({msg})"
            ) from exc
        if isinstance(exc, neo4j_errors.AuthError):
            raise StoreUnavailableError(
                f"Neo4j at {db.uri} rejected the credentials: {msg}"
            ) from exc
        raise QueryError(f"Cypher error ({code}): {msg}") from exc
