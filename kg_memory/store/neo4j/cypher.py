"""Every Cypher statement the Neo4j store runs, as constants or cached builders.

Values always travel as parameters. The only interpolated names are node labels
and relationship types, checked first against the allow-lists
(:func:`~kg_memory.model.check_label`, :func:`~kg_memory.model.check_edge_type`),
and kg-memory's own property names. Id lookups say ``USING INDEX SEEK`` on the
uniqueness constraint's index: left to itself the planner sometimes scanned the
namespace index (or the whole id index) once per row. Write statements end in
``RETURN count(*) AS n`` (see :func:`kg_memory.store.neo4j.writes.run_batches`).
Reads that return many rows collect them into one record: the driver pays per
record, not per value.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from kg_memory.model import NODE_LABELS, check_edge_type, check_label
from kg_memory.store.neo4j.rows import RESERVED_EDGE_PROPS, RESERVED_NODE_PROPS


def vector_index_name(label: str) -> str:
    """Name of the vector index of ``label`` (``NoteRevision`` -> ``note_revision_embedding``).

    >>> vector_index_name("Turn"), vector_index_name("TimeInterval")
    ('turn_embedding', 'time_interval_embedding')
    """
    return re.sub(r"(?<!^)(?=[A-Z])", "_", check_label(label)).lower() + "_embedding"


def _plain_props_cypher(var: str, reserved: frozenset[str]) -> str:
    """Cypher for the plain props of ``var`` as ``[key, value]`` pairs (names: our literals)."""
    names = ", ".join(f"'{k}'" for k in sorted(reserved))
    return f"[k IN keys({var}) WHERE NOT k IN [{names}] | [k, {var}[k]]]"


NODE_PLAIN_PROPS = _plain_props_cypher("n", RESERVED_NODE_PROPS)
EDGE_PLAIN_PROPS = _plain_props_cypher("r", RESERVED_EDGE_PROPS)

#: What reads return for a node's vector: exact float32 bytes, and the list as a fallback
#: for nodes written by other tools.
EMBEDDING_COLUMNS = (
    ", n.embedding_f32 AS embedding_f32, "
    "CASE WHEN n.embedding_f32 IS NULL THEN n.embedding END AS embedding"
)

# -- node and edge writes -------------------------------------------------------------


@functools.cache
def node_query(label: str, has_vector: bool) -> str:
    """The upsert of one label's rows (label checked against the allow-list)."""
    label = check_label(label)
    others = [lb for lb in NODE_LABELS if lb != label]
    keep = "" if has_vector else ", n.embedding AS old_e, n.embedding_f32 AS old_b, n.vdim AS old_d"
    restore = (
        "" if has_vector else " SET n.embedding = old_e, n.embedding_f32 = old_b, n.vdim = old_d"
    )
    return (
        "UNWIND $rows AS row "
        "MERGE (n:Memory {id: row.id}) "
        f"WITH n, row, n.label AS old_label{keep} "
        f"SET n = row.props{restore} "
        f"SET n:{label} "
        "FOREACH (_ IN CASE WHEN old_label IS NOT NULL AND old_label <> $label THEN [1] ELSE [] END "
        f"| REMOVE n:{':'.join(others)}) "
        "RETURN count(*) AS n"
    )


@functools.cache
def create_query(label: str) -> str:
    """The insert of one label's new rows (ids known not to exist; label allow-listed)."""
    return (
        f"UNWIND $rows AS row CREATE (n:Memory:{check_label(label)}) SET n = row[1] "
        "RETURN count(*) AS n, collect([row[0], elementId(n)]) AS made"
    )


#: The insert of new edges of any type (an end created in the same transaction, so the
#: edge cannot exist yet). The type is a parameter: Cypher 5.26's dynamic types.
CREATE_EDGES = (
    "UNWIND $rows AS row "
    "MATCH (a:Memory {id: row[0]}) USING INDEX SEEK a:Memory(id) WHERE a.namespace = row[2] "
    "MATCH (b:Memory {id: row[1]}) USING INDEX SEEK b:Memory(id) WHERE b.namespace = row[2] "
    "CREATE (a)-[r:$(row[3])]->(b) SET r = row[4] "
    "RETURN count(*) AS n"
)

#: The insert of new edges whose ends this transaction wrote: ends by element id.
CREATE_EDGES_BY_ELEMENT = (
    "UNWIND $rows AS row "
    "MATCH (a) WHERE elementId(a) = row[0] "
    "MATCH (b) WHERE elementId(b) = row[1] "
    "CREATE (a)-[r:$(row[2])]->(b) SET r = row[3] "
    "RETURN count(*) AS n"
)


@functools.cache
def edge_query(edge_type: str) -> str:
    """The upsert of one type's edges (type checked against the allow-list)."""
    edge_type = check_edge_type(edge_type)
    return (
        "UNWIND $rows AS row "
        "MATCH (a:Memory {id: row[0]}) USING INDEX SEEK a:Memory(id) WHERE a.namespace = row[2] "
        "MATCH (b:Memory {id: row[1]}) USING INDEX SEEK b:Memory(id) WHERE b.namespace = row[2] "
        f"MERGE (a)-[r:{edge_type}]->(b) "
        "SET r = row[4] "
        "RETURN count(*) AS n"
    )


#: The ``(id, namespace)`` pairs of ``$pairs`` with no such node stored.
MISSING_ENDS = (
    "UNWIND $pairs AS p OPTIONAL MATCH (n:Memory {id: p.id}) USING INDEX SEEK n:Memory(id) "
    "WHERE n.namespace = p.ns WITH p, n WHERE n IS NULL "
    "RETURN p.id AS id, p.ns AS ns"
)

#: Take the namespace's write lock (held until the transaction ends; see lock_namespace).
LOCK_NAMESPACE = (
    "MERGE (l:WriteLock {namespace: $ns}) SET l.taken = timestamp() RETURN count(*) AS n"
)
#: The namespace's write-lock node (deleted with the namespace).
DELETE_LOCK = "MATCH (l:WriteLock {namespace: $ns}) DELETE l RETURN count(*) AS c"

# -- deletes --------------------------------------------------------------------------

#: Namespace-level nodes linked to a conversation (they may become orphans).
LINKED_TO_CONVERSATION = (
    "MATCH (n:Memory) WHERE n.namespace = $ns AND n.conversation = $conv "
    "MATCH (n)--(m:Memory) WHERE m.namespace = $ns AND m.conversation IS NULL "
    "RETURN collect(DISTINCT m.id) AS ids"
)
#: Up to ``$batch`` nodes of a conversation, with their edges.
DELETE_CONVERSATION_BATCH = (
    "MATCH (n:Memory) WHERE n.namespace = $ns AND n.conversation = $conv "
    "WITH n LIMIT $batch DETACH DELETE n RETURN count(*) AS c"
)
#: The namespace-level nodes among ``$ids`` left without any edge.
DELETE_ORPHANS = (
    "UNWIND $ids AS id MATCH (m:Memory {id: id}) USING INDEX SEEK m:Memory(id) "
    "WHERE m.namespace = $ns AND m.conversation IS NULL "
    "AND NOT EXISTS { (m)--() } DELETE m RETURN count(*) AS c"
)
#: The nodes ``$ids`` of a namespace, with their edges.
DELETE_NODES = (
    "UNWIND $ids AS id MATCH (n:Memory {id: id}) USING INDEX SEEK n:Memory(id) "
    "WHERE n.namespace = $ns DETACH DELETE n RETURN count(*) AS c"
)


def delete_edges_query(edge_type: str) -> str:
    """The ``(src, dst)`` pairs ``$pairs`` of one (allow-listed) edge type, deleted."""
    return (
        "UNWIND $pairs AS p MATCH (a:Memory {id: p.src}) USING INDEX SEEK a:Memory(id) "
        f"MATCH (a)-[r:{check_edge_type(edge_type)}]->(b:Memory {{id: p.dst}}) "
        "WHERE a.namespace = $ns AND b.namespace = $ns DELETE r RETURN count(*) AS c"
    )


#: Up to ``$batch`` nodes of a namespace, with their edges.
DELETE_NAMESPACE_BATCH = (
    "MATCH (n:Memory) WHERE n.namespace = $ns "
    "WITH n LIMIT $batch DETACH DELETE n RETURN count(*) AS c"
)

# -- node and edge reads --------------------------------------------------------------


def stored_elements_query(in_namespace: bool) -> str:
    """``[id, elementId]`` of the stored nodes among ``$ids`` (only in ``$ns`` if asked)."""
    return (
        "UNWIND $ids AS id MATCH (n:Memory {id: id}) USING INDEX SEEK n:Memory(id) "
        + ("WHERE n.namespace = $ns " if in_namespace else "")
        + "RETURN collect([id, elementId(n)]) AS found"
    )


def node_return(with_embeddings: bool) -> str:
    """The columns :func:`~kg_memory.store.neo4j.rows.to_node` reads, of node ``n``."""
    cols = (
        "n.id AS id, n.label AS label, n.namespace AS namespace, "
        "n.conversation AS conversation, n.text AS text, "
        f"{NODE_PLAIN_PROPS} AS plain, n.props_extra AS extra"
    )
    return cols + (EMBEDDING_COLUMNS if with_embeddings else "")


def get_nodes_query(with_embeddings: bool) -> str:
    """The nodes of ``$ns`` among ``$ids``."""
    return (
        "UNWIND $ids AS id MATCH (n:Memory {id: id}) USING INDEX SEEK n:Memory(id) "
        "WHERE n.namespace = $ns "
        f"RETURN {node_return(with_embeddings)}"
    )


def find_nodes_query(conversation: bool, limit: bool, with_embeddings: bool) -> str:
    """The nodes of ``$label`` in ``$ns`` (and ``$conv``), ordered by id (up to ``$limit``)."""
    query = "MATCH (n:Memory) WHERE n.namespace = $ns AND n.label = $label"
    if conversation:
        query += " AND n.conversation = $conv"
    query += f" RETURN {node_return(with_embeddings)} ORDER BY n.id"
    if limit:
        query += " LIMIT $limit"
    return query


def neighbours_queries(types: Sequence[str] | None, direction: str) -> list[str]:
    """Edges of ``$ns`` at the nodes ``$ids``, as one record ``rows`` of
    ``[src, type, dst, plain props, props_extra]`` (``types`` already allow-listed)."""
    rel = "r:" + "|".join(dict.fromkeys(types)) if types else "r"
    patterns = {
        "out": [f"(a)-[{rel}]->(b:Memory)"],
        "in": [f"(a)<-[{rel}]-(b:Memory)"],
        "both": [f"(a)-[{rel}]-(b:Memory)"],  # one query, both directions
    }[direction]
    return [
        "UNWIND $ids AS id MATCH (a:Memory {id: id}) USING INDEX SEEK a:Memory(id) "
        "WHERE a.namespace = $ns "
        f"MATCH {p} WHERE b.namespace = $ns "
        # one record holding every edge: the driver pays per record, not per value
        "RETURN collect([startNode(r).id, type(r), endNode(r).id, "
        f"{EDGE_PLAIN_PROPS}, r.props_extra]) AS rows"
        for p in patterns
    ]


def counts_queries(in_namespace: bool) -> tuple[str, str]:
    """Node counts per label and edge counts per type (of ``$ns``, or of the whole store)."""
    if not in_namespace:
        return (
            "MATCH (n:Memory) RETURN n.label AS k, count(*) AS c",
            "MATCH (:Memory)-[r]->(:Memory) RETURN type(r) AS k, count(*) AS c",
        )
    return (
        "MATCH (n:Memory) WHERE n.namespace = $ns RETURN n.label AS k, count(*) AS c",
        "MATCH (n:Memory)-[r]->(m:Memory) WHERE n.namespace = $ns AND m.namespace = $ns "
        "RETURN type(r) AS k, count(*) AS c",
    )


NAMESPACES = (
    "MATCH (n:Memory) WHERE n.namespace IS NOT NULL RETURN DISTINCT n.namespace AS ns ORDER BY ns"
)
CONVERSATIONS = (
    "MATCH (n:Memory) WHERE n.namespace = $ns AND n.conversation IS NOT NULL "
    "RETURN DISTINCT n.conversation AS c ORDER BY c"
)

# -- search ---------------------------------------------------------------------------


def scope_query(conversation: bool, tail: str) -> str:
    """``tail`` over the nodes of ``$label`` in ``$ns`` (and ``$conv``)."""
    return (
        "MATCH (n:Memory) WHERE n.namespace = $ns AND n.label = $label "
        + ("AND n.conversation = $conv " if conversation else "")
        + tail
    )


#: With :func:`scope_query`: the number of vectors in scope and their lengths.
VECTOR_COUNT = "AND n.vdim IS NOT NULL RETURN count(n) AS c, collect(DISTINCT n.vdim) AS dims"
#: With :func:`scope_query`: the number of nodes with text and their total token count.
TEXT_STATS = "AND n.ntok IS NOT NULL RETURN count(n) AS c, sum(n.ntok) AS total"


def label_count_query(label: str) -> str:
    """The number of nodes of ``label`` in every namespace (label allow-listed)."""
    return f"MATCH (n:{check_label(label)}) RETURN count(n) AS c"


@functools.cache
def keyword_cypher(conversation: bool, suffix: str = "", column: str = "text") -> str:
    """Full-text candidates of one scope as one record ``rows<suffix>`` of ``[id, text, score]``.

    Parameters: ``$index``, ``$ns``, ``$conv``, and ``$q``, ``$limit``, ``$label`` with the
    suffix (so that several can share one statement in :meth:`Neo4jStore.search_many`).
    ``column="ftext"`` returns the text already tokenized (tokens joined by spaces).
    """
    x = suffix
    if column not in ("text", "ftext"):
        raise ValueError(column)
    return (
        f"CALL db.index.fulltext.queryNodes($index, $q{x}, {{limit: $limit{x}}}) "
        "YIELD node AS n, score "
        f"WHERE n.namespace = $ns AND n.label = $label{x} "
        + ("AND n.conversation = $conv " if conversation else "")
        # one record holding every row: the driver pays per record, not per value
        + f"WITH n.id AS id, n.{column} AS text, score ORDER BY score DESC, id LIMIT $limit{x} "
        f"RETURN collect([id, text, score]) AS rows{x}"
    )


@functools.cache
def vector_cypher(conversation: bool, suffix: str = "") -> str:
    """Vector-index candidates of one scope as one record ``rows<suffix>`` of ``[id, f32, list]``.

    Parameters: ``$ns``, ``$conv``, and ``$vindex``, ``$k2``, ``$vector``, ``$label`` with the suffix.
    """
    x = suffix
    return (
        f"CALL db.index.vector.queryNodes($vindex{x}, $k2{x}, $vector{x}) YIELD node AS n, score "
        f"WHERE n.namespace = $ns AND n.label = $label{x} "
        + ("AND n.conversation = $conv " if conversation else "")
        # one record holding every candidate: the driver pays per record
        + "RETURN collect([n.id, n.embedding_f32, "
        f"CASE WHEN n.embedding_f32 IS NULL THEN n.embedding END]) AS rows{x}"
    )


@functools.cache
def vector_scan_cypher(conversation: bool, suffix: str = "") -> str:
    """Every vector of one scope, as :func:`vector_cypher`'s record: for a label without a
    vector index (no stage writes its vectors). Same parameters (``$vindex``, ``$k2`` and
    ``$vector`` unused)."""
    x = suffix
    return (
        f"MATCH (n:Memory) WHERE n.namespace = $ns AND n.label = $label{x} "
        + ("AND n.conversation = $conv " if conversation else "")
        + "AND n.vdim IS NOT NULL "
        "RETURN collect([n.id, n.embedding_f32, "
        f"CASE WHEN n.embedding_f32 IS NULL THEN n.embedding END]) AS rows{x}"
    )


def subqueries(parts: Sequence[str], columns: Sequence[str]) -> str:
    """One statement running each of ``parts`` as a ``CALL {}`` subquery, returning ``columns``."""
    return " ".join(f"CALL {{ {part} }}" for part in parts) + " RETURN " + ", ".join(columns)
