"""The Neo4j schema: ``schemas/neo4j.cypher``, applied idempotently at every connect."""

from __future__ import annotations

import time
from collections.abc import Callable

from neo4j import Session
from neo4j import exceptions as neo4j_errors

from kg_memory.errors import KGMemoryError, StoreUnavailableError
from kg_memory.resources import resource_dir
from kg_memory.store.neo4j.cypher import vector_index_name

#: Seconds to wait for indexes to come online after applying the schema.
INDEX_WAIT_SECONDS = 300

#: Tries of one DDL statement that deadlocks with another process applying the schema.
DDL_ATTEMPTS = 5

#: Errors of a statement racing another process creating the same index or constraint.
_BENIGN = (
    "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists",
    "Neo.ClientError.Schema.IndexAlreadyExists",
    "Neo.ClientError.Schema.ConstraintAlreadyExists",
)


def _statements(name: str) -> list[str]:
    """The statements of ``schemas/<name>`` (comments removed)."""
    text = (resource_dir("schemas") / name).read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    return [s.strip() for s in body.split(";") if s.strip()]


def schema_statements() -> list[str]:
    """The DDL of ``schemas/neo4j.cypher``, then a vector index per label that a stage
    declares it writes with embeddings (``StageSpec.vectors``), and ``DROP INDEX ... IF
    EXISTS`` for the other labels' (earlier versions indexed every label; those stayed empty)."""
    from kg_memory.ingest.registry import vector_labels  # the stages declare their labels
    from kg_memory.model import NODE_LABELS

    (vector,) = _statements("neo4j-vector-index.cypher")
    indexed = vector_labels()
    return (
        _statements("neo4j.cypher")
        + [
            vector.replace("<name>", vector_index_name(label)).replace("<label>", label)
            for label in indexed
        ]
        + [
            f"DROP INDEX {vector_index_name(label)} IF EXISTS"
            for label in NODE_LABELS
            if label not in indexed
        ]
    )


def _apply(s: Session, stmt: str, uri: str) -> None:
    """Run one DDL statement; a race with another process creating it is no error.

    Two processes creating the same rule at once can also deadlock on the schema
    lock (a transient error): the statement is then run again, up to
    :data:`DDL_ATTEMPTS` times.
    """
    for attempt in range(1, DDL_ATTEMPTS + 1):
        try:
            s.run(stmt).consume()
            return
        except neo4j_errors.ClientError as exc:
            if exc.code in _BENIGN:  # created by the other process meanwhile
                return
            raise StoreUnavailableError(
                f"Neo4j at {uri}: cannot apply schema statement "
                f"{stmt.splitlines()[0]!r}: {exc.message or exc}"
            ) from exc
        except neo4j_errors.TransientError:
            if attempt == DDL_ATTEMPTS:
                raise
            time.sleep(0.2 * attempt)


def apply_schema(session: Callable[[], Session], uri: str) -> None:
    """Run every DDL statement (idempotent) in a ``session()``, then wait for the indexes.

    ``uri`` names the server in errors (:class:`~kg_memory.errors.StoreUnavailableError`).
    """
    try:
        with session() as s:
            for stmt in schema_statements():
                _apply(s, stmt, uri)
            s.run(f"CALL db.awaitIndexes({INDEX_WAIT_SECONDS})").consume()
    except KGMemoryError:
        raise
    except (neo4j_errors.Neo4jError, neo4j_errors.DriverError) as exc:
        raise StoreUnavailableError(f"Neo4j at {uri}: cannot apply schema: {exc}") from exc
