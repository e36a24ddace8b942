"""The Neo4j store: the memory graph in a Neo4j 5.26+ server, through the official driver.

Why this design
---------------
* **Parameterised Cypher only.** Every query text is a literal of this module;
  values travel as parameters. The only interpolated names are node labels and
  relationship types, and only after :func:`~kg_memory.model.check_label` /
  :func:`~kg_memory.model.check_edge_type` (closed allow-lists).
* **One node per id, two labels.** Every node carries ``:Memory`` (the uniqueness
  constraint, the range indexes and the full-text index hang off it) and its own
  label. Each prop Neo4j holds exactly (a scalar, a non-empty homogeneous list)
  is a plain property, so ``t.speaker`` works in Cypher; the rest (``None``,
  maps, mixed or empty lists, reserved names) is one JSON string,
  ``props_extra``, only where needed. Relationships likewise; their namespace is
  that of their ends.
* **Batched writes.** ``UNWIND $rows`` in batches of :data:`BATCH` node rows
  (grouped by label) or :data:`EDGE_BATCH` edge rows. Ids not stored yet are
  inserted with ``CREATE``, the others upserted with ``MERGE``; an edge with an
  end created in the same transaction cannot exist yet, so it is created too,
  with the type as a parameter (Cypher 5.26 dynamic types: one statement for
  every type). Inside a ``transaction()`` the node statements return the
  element id of every node they wrote, and an edge whose two ends the
  transaction wrote finds them by element id (``NodeByElementIdSeek``): no index
  seek and no namespace read per end. Other id lookups say ``USING INDEX SEEK``
  on the uniqueness constraint's index: left to itself the planner sometimes
  scanned the namespace index (or the whole id index) once per row. Insert rows
  are lists, not maps: reading a map row after a ``SET`` (``row.id``) made the
  planner buffer the whole batch in an ``Eager`` (it cannot tell a parameter
  map from a node whose properties the ``SET`` may change); indexing a list
  does not.
* **Batched reads.** :meth:`Neo4jStore.search_many` runs a question's searches
  as one statement (a ``CALL {}`` subquery each), and :meth:`Neo4jStore.reading`
  keeps one read transaction for all the reads of a question.
* **Identical ranking.** Keyword search gets its candidates from the Lucene
  full-text index over ``ftext`` (the text normalised by kg-memory's own
  tokenizer, whitespace analyzer), so the candidate set equals the embedded
  store's; the shared BM25 scores them. Vector search asks the HNSW vector
  index of the label for an oversampled top list, filters it to the scope and
  re-ranks the survivors exactly with :func:`~kg_memory.store.base.rank_by_cosine`
  over the stored vectors.

Transactions
------------
``with store.transaction():`` opens one explicit Neo4j transaction for the
calling thread. Writes run in it at once (so reads inside the block, which use
the same transaction, see them) and are also logged: when the server reports a
retryable error (deadlock, leader switch, dropped connection) in the middle of
the block or at commit, the log is replayed in a fresh transaction, within
``max_transaction_retry_time``. Nested ``transaction()`` calls join the outer
one; any exception rolls everything back. :meth:`Neo4jStore.cypher` always runs
in its own read session and does not see writes of an open transaction, and
the vector index does not see them either (Neo4j indexes vectors at commit).

Performance
-----------
Measured with ``make bench-neo4j`` (see the README). A write is server-bound: on
2 cores most of the time is Neo4j building and applying the records of the
transaction (Cypher execution about 30%, extracting and applying commands,
range indexes included, about 40%, the vector and full-text indexes about 15%,
a Java Flight Recorder profile of the LoCoMo writes), so the levers are fewer
statements and fewer records, not client code. Vectors are stored twice:
``embedding`` (``LIST<FLOAT>``, what the vector index and user Cypher see) and
``embedding_f32`` (the exact float32 bytes, what the store reads back). The
driver's Rust extension (``neo4j-rust-ext``) packs them; the driver formats
every message for its debug log, hence :class:`_Quiet`.

``make bench-writes`` (:mod:`kg_memory.bench.writes`) puts the store's rate beside
raw-Cypher floors on the same records: on this 2-core machine the LoCoMo graph
without any property or index but the id constraint writes at 1,300-3,100
turns/s, with its properties (and still no index) 750-1,150, and through this
store 360-775 once the server's JIT is warm (a few passes; 180-236 on the
first); the spread is between days of the machine, the store's share of its
floor stays at 0.5-0.6. Node properties cost most: without edges, the nodes
with their properties write at about 1,250 turns/s, without properties at
6,000-7,000; the vectors (a ``LIST<FLOAT>`` and the float32 bytes) are about
a third of the node cost. Storing the vector once, as a float32 list
(``db.create.setNodeVectorProperty``), gained about 10% in a probe, but
reading candidates back as float lists instead of bytes took 3.5x as long
(62 against 18 ms for 1,000 vectors), so the bytes stay. Dropping the vector,
full-text and range indexes one by one moved the store's rate by less than
the run-to-run noise; a larger heap, young generation or page cache did not
move it either.

A Java Flight Recorder profile of the warm store writes (December 2026) put
Lucene's HNSW candidate scoring (scalar code: Lucene's SIMD path needs Java 21+)
first, at about 12% of server samples; the vector indexes now build with
``ef_construction`` 32 instead of 100, and notes no longer carry ABOUT edges
(copies of their turn's MENTIONS): 542-611 turns/s against 436-516 for the
previous code, back to back on one server. Write statements end in
``RETURN count(*)`` so that ``tx.run`` returns once the server has planned
them and the client builds the next batch's rows meanwhile.

Finding edge ends by element id, with list rows (no ``Eager``), took the
server's CPU per LoCoMo pass from 4.9-5.6 s to 4.0-4.6 s and the best pass from
836 to 899 turns/s, the two codes alternating on one server (``build/prof``
scripts; the edge statements' serialized time went from 1.5 s to 0.6 s).
What remains is mostly the commit (about half of the serialized time: applying
the records and updating the indexes); dropping all 12 vector indexes took
0.4 s off it, the four namespace range indexes 0.2 s, the full-text index
nothing measurable. Larger dynamic-record blocks for arrays and strings (a
store created with ``internal.dbms.block_size.array_properties`` 1,600 and
``...strings`` 256, so that a vector takes 3 records instead of 39) did not
move the rate (896 against 895 turns/s).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, ParamSpec, TypeVar

import numpy as np
from neo4j import READ_ACCESS, WRITE_ACCESS, Driver, GraphDatabase, ManagedTransaction, Transaction
from neo4j import exceptions as nx
from neo4j.graph import Node as GraphNode
from neo4j.graph import Path as GraphPath
from neo4j.graph import Relationship as GraphRelationship

from kg_memory.bm25 import bm25_rank
from kg_memory.config import Neo4jConfig
from kg_memory.errors import KGMemoryError, QueryError, StoreError, StoreUnavailableError
from kg_memory.model import NODE_LABELS, Edge, Hit, Node, Stats, check_edge_type, check_label
from kg_memory.resources import resource_dir
from kg_memory.security.uri import check_neo4j_uri, redact_uri
from kg_memory.store.base import (
    CYPHER,
    DURABLE,
    FULLTEXT_INDEX,
    MAX_KEYWORD_CANDIDATES,
    TRANSACTIONS,
    VECTOR_INDEX,
    Direction,
    Search,
    Store,
    check_neighbour_args,
    mean_length,
    rank_by_cosine,
)
from kg_memory.store.neo4j.guard import bind_namespace, guarded_read
from kg_memory.text import query_terms, tokenize

#: Node rows per ``UNWIND`` write (a row may hold a vector).
BATCH = 1000
#: Edge rows per ``UNWIND`` write.
EDGE_BATCH = 10_000
#: Length of the vectors the schema's vector indexes hold (all-MiniLM-L6-v2).
VECTOR_DIMENSIONS = 384
#: Ids per ``UNWIND`` read.
READ_CHUNK = 5000
#: Nodes per ``DETACH DELETE`` statement (all in the same transaction).
DELETE_BATCH = 10_000
#: Name of the full-text index (see ``schemas/neo4j.cypher``).
FULLTEXT_INDEX_NAME = "memory_text"
#: Seconds the driver keeps retrying a transaction that failed transiently.
MAX_RETRY_SECONDS = 30.0
#: Seconds to wait for a TCP connection to the server.
CONNECT_TIMEOUT = 10.0
#: Seconds to wait for indexes to come online after applying the schema.
INDEX_WAIT_SECONDS = 300
#: Seconds an in-scope vector count is trusted without a write of ours in between
#: (bounds staleness from other processes; it only tunes the oversampling).
SCOPE_COUNT_TTL = 5.0
#: Vector search asks the HNSW index for max(OVERSAMPLE * k, k + MIN_CANDIDATES)
#: in-scope neighbours before the exact re-ranking (see Neo4jStore.vector_search).
OVERSAMPLE = 10
MIN_CANDIDATES = 100
#: Lucene caps a boolean query at 1024 clauses; terms are sent in groups of this many.
LUCENE_TERMS_PER_QUERY = 512

#: Properties kg-memory itself sets on nodes; props of these names live in ``props_extra``.
RESERVED_NODE_PROPS = frozenset(
    {
        "id",
        "namespace",
        "conversation",
        "label",
        "text",
        "ntok",
        "ftext",
        "fscope",
        "props_extra",
        "props_json",
        "embedding",
        "embedding_f32",
        "vdim",
    }
)
#: Properties kg-memory itself sets on relationships.
RESERVED_EDGE_PROPS = frozenset({"namespace", "props_extra", "props_json"})
#: Internal properties left out of :meth:`Neo4jStore.cypher` results.
HIDDEN_PROPS = frozenset(
    {"embedding", "embedding_f32", "vdim", "ftext", "fscope", "props_extra", "props_json"}
)


def _plain_props_cypher(var: str, reserved: frozenset[str]) -> str:
    """Cypher for the plain props of ``var`` as ``[key, value]`` pairs (names: our literals)."""
    names = ", ".join(f"'{k}'" for k in sorted(reserved))
    return f"[k IN keys({var}) WHERE NOT k IN [{names}] | [k, {var}[k]]]"


NODE_PLAIN_PROPS = _plain_props_cypher("n", RESERVED_NODE_PROPS)
EDGE_PLAIN_PROPS = _plain_props_cypher("r", RESERVED_EDGE_PROPS)

_INT64 = (-(2**63), 2**63 - 1)
_LIST_KINDS = frozenset({bool, str, float, int})

P = ParamSpec("P")
R = TypeVar("R")
Tx = ManagedTransaction | Transaction


def vector_index_name(label: str) -> str:
    """Name of the vector index of ``label`` (``NoteRevision`` -> ``note_revision_embedding``).

    >>> vector_index_name("Turn"), vector_index_name("TimeInterval")
    ('turn_embedding', 'time_interval_embedding')
    """
    return re.sub(r"(?<!^)(?=[A-Z])", "_", check_label(label)).lower() + "_embedding"


def _scope_token(kind: str, value: str) -> str:
    """A Lucene-safe token for one scope value (hashed: only ``[0-9a-z]``)."""
    return kind + hashlib.blake2b(value.encode("utf-8"), digest_size=10).hexdigest()


def _label_token(label: str) -> str:
    return "l" + label.lower()


def fscope(namespace: str, label: str, conversation: str | None) -> str:
    """The ``fscope`` value of a node: its scope as whitespace-separated tokens."""
    parts = [_scope_token("n", namespace), _label_token(label)]
    if conversation is not None:
        parts.append(_scope_token("c", conversation))
    return " ".join(parts)


def _lucene_phrase(term: str) -> str | None:
    """One query term as a quoted, escaped Lucene phrase over kg-memory's tokens."""
    toks = tokenize(term)
    if not toks:
        return None
    body = " ".join(toks)
    # Tokens are [0-9a-z]+ so nothing needs escaping; escape anyway so that a
    # future tokenizer cannot open a hole.
    body = body.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{body}"'


def lucene_queries(
    terms: Sequence[str], namespace: str, label: str, conversation: str | None
) -> list[str]:
    """Lucene queries OR-ing ``terms`` inside one scope (several if there are many terms).

    >>> lucene_queries(["Caroline's", "x"], "ns", "Turn", None)[0].split(" +fscope")[0]
    '+ftext:("caroline s" OR "x")'
    >>> lucene_queries(["!!", ""], "ns", "Turn", None)
    []
    """
    phrases = list(dict.fromkeys(p for p in map(_lucene_phrase, terms) if p))
    if not phrases:
        return []
    scope = f' +fscope:"{_scope_token("n", namespace)}" +fscope:"{_label_token(label)}"'
    if conversation is not None:
        scope += f' +fscope:"{_scope_token("c", conversation)}"'
    out = []
    for i in range(0, len(phrases), LUCENE_TERMS_PER_QUERY):
        group = phrases[i : i + LUCENE_TERMS_PER_QUERY]
        out.append("+ftext:(" + " OR ".join(group) + ")" + scope)
    return out


# -- value conversion ---------------------------------------------------------------


def _storable(value: Any) -> bool:
    """Whether ``value`` can be a Neo4j property exactly (scalar or homogeneous list).

    The exact built-in types are decided first, with C-level checks for lists
    (every prop of every node and edge passes through here on a write).

    >>> [_storable(v) for v in ("a", 1.5, True, 2**63, [1, 2], [1, True], [], [[1]], None)]
    [True, True, True, False, True, False, False, False, False]
    """
    kind = type(value)
    if kind is str or kind is float or kind is bool:
        return True
    if kind is int:
        return _INT64[0] <= value <= _INT64[1]
    if isinstance(value, list):
        if not value:
            return False
        kinds = set(map(type, value))
        if len(kinds) != 1 or (kind := kinds.pop()) not in _LIST_KINDS:
            return False
        return kind is not int or (min(value) >= _INT64[0] and max(value) <= _INT64[1])
    if isinstance(value, bool | str | float):  # subclasses: stored as their base type
        return True
    if isinstance(value, int):
        return _INT64[0] <= value <= _INT64[1]
    return False


_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _dumps(props: Mapping[str, Any], what: Callable[[], str]) -> str:
    if not props:
        return "{}"
    try:
        return _JSON.encode(props if isinstance(props, dict) else dict(props))
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what()}: props are not JSON-serialisable: {exc}") from exc


def _split_props(
    props: Mapping[str, Any], reserved: frozenset[str], what: Callable[[], str]
) -> dict[str, Any]:
    """Props as Neo4j properties: the storable ones as they are, the rest in ``props_extra``.

    A prop is stored as a plain property when Neo4j keeps it exactly (a scalar or a
    non-empty homogeneous list) and its name is not one kg-memory uses itself; the
    others (``None``, maps, empty or mixed lists, reserved names) go to one JSON
    string, ``props_extra``, present only when needed. Reading joins the two.
    ``what`` names the owner in an error (called only then).
    """
    plain: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for k, v in props.items():
        if k not in reserved and _storable(v):
            plain[k] = v
        else:
            extra[k] = v
    if extra:
        plain["props_extra"] = _dumps(extra, what)
    return plain


def _joined_props(plain: Sequence[Sequence[Any]] | None, extra: str | None) -> dict[str, Any]:
    """The props of a node or edge from its plain ``[key, value]`` pairs and ``props_extra``."""
    props = {k: v for k, v in plain or ()}
    if extra:
        props.update(json.loads(extra))
    return dict(sorted(props.items()))


def _node_props(n: Node) -> dict[str, Any]:
    """A node's own props as properties (raises on props that cannot be stored)."""
    return _split_props(n.props, RESERVED_NODE_PROPS, lambda: f"node {n.id}")


def _node_row(n: Node, own: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A node's ``UNWIND`` row; ``own`` is :func:`_node_props` of it when already known."""
    props = dict(_node_props(n) if own is None else own)
    props.update(id=n.id, namespace=n.namespace, label=n.label)
    if n.conversation is not None:
        props["conversation"] = n.conversation
    if n.text is not None:
        toks = tokenize(n.text)
        props.update(
            text=n.text,
            ntok=len(toks),
            ftext=" ".join(toks),
            fscope=fscope(n.namespace, n.label, n.conversation),
        )
    row: dict[str, Any] = {"id": n.id, "props": props}
    if n.embedding is not None:
        vec = np.asarray(n.embedding, dtype=np.float32).ravel()
        if vec.size == 0:
            raise StoreError(f"node {n.id}: empty embedding")
        props["embedding"] = vec.astype(np.float64).tolist()
        props["embedding_f32"] = vec.astype(_F32).tobytes()
        props["vdim"] = int(vec.size)
    return row


def _edge_row(e: Edge) -> dict[str, Any]:
    """An edge's ``UNWIND`` row: ends, type, namespace (of the ends) and properties."""
    props = _split_props(e.props, RESERVED_EDGE_PROPS, lambda: f"edge {e.key}")
    return {"src": e.src, "dst": e.dst, "type": e.type, "ns": e.namespace, "props": props}


def _to_node(rec: Mapping[str, Any], with_embeddings: bool) -> Node:
    emb = None
    if with_embeddings:
        emb = _vector(rec.get("embedding_f32"), rec.get("embedding"))
    return Node(
        id=rec["id"],
        label=rec["label"],
        namespace=rec["namespace"],
        conversation=rec.get("conversation"),
        text=rec.get("text"),
        props=_joined_props(rec["plain"], rec["extra"]),
        embedding=emb,
    )


def _plain(value: Any) -> Any:
    """A query result value as plain Python (graph entities as dicts, no vectors)."""
    if isinstance(value, GraphNode):
        out = {k: _plain(v) for k, v in value.items() if k not in HIDDEN_PROPS}
        out["_labels"] = sorted(value.labels)
        return out
    if isinstance(value, GraphRelationship):
        out = {k: _plain(v) for k, v in value.items() if k not in HIDDEN_PROPS}
        out["_type"] = value.type
        # The ends' ids are known when the result also carries the end nodes (paths).
        for key, end in (("_src", value.start_node), ("_dst", value.end_node)):
            if end is not None and end.get("id") is not None:
                out[key] = end.get("id")
        return out
    if isinstance(value, GraphPath):
        return {
            "nodes": [_plain(n) for n in value.nodes],
            "relationships": [_plain(r) for r in value.relationships],
        }
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    iso = getattr(value, "iso_format", None) or getattr(value, "isoformat", None)
    if callable(iso):
        return iso()
    return str(value)


class _Quiet(list):  # type: ignore[type-arg]
    """A list parameter with a constant-time ``repr``.

    The driver formats every RUN message for its debug log eagerly, whether or
    not debug logging is on (``" ".join(map(repr, fields))`` in neo4j 6.4):
    for a batch of 1,000 384-d vectors that alone costs about half a second.
    Packing is unchanged (a list subclass packs as a list).
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} items>"


_F32 = np.dtype("<f4")
#: What reads return for a node's vector: exact float32 bytes, and the list as a fallback
#: for nodes written by other tools.
EMBEDDING_COLUMNS = (
    ", n.embedding_f32 AS embedding_f32, "
    "CASE WHEN n.embedding_f32 IS NULL THEN n.embedding END AS embedding"
)


def _vector(raw: bytes | None, values: list[float] | None) -> np.ndarray | None:
    if raw is not None:
        return np.frombuffer(raw, dtype=_F32).astype(np.float32)
    if values is not None:
        return np.asarray(values, dtype=np.float32)
    return None


def _chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def _node_rows(
    nodes: Mapping[str, Node], own: Mapping[str, Mapping[str, Any]], ids: Sequence[str]
) -> list[dict[str, Any]]:
    return [_node_row(nodes[i], own[i]) for i in ids]


def _new_rows(
    nodes: Mapping[str, Node], own: Mapping[str, Mapping[str, Any]], ids: Sequence[str]
) -> list[list[Any]]:
    """Rows of :func:`_create_query`: ``[id, props]`` (a list, so that Cypher reads no map key)."""
    return [[i, _node_row(nodes[i], own[i])["props"]] for i in ids]


#: One write statement of a batch: its query, a function building its rows, other parameters.
Batch = tuple[str, Callable[[], Sequence[Any]], Mapping[str, Any]]


def _run_batches(
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
        result = tx.run(query, rows=_Quiet(rows), **params)
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


def _stored_elements(tx: Tx, ids: Sequence[str], namespace: str | None = None) -> dict[str, str]:
    """The stored nodes among ``ids`` (in ``namespace``, or in any namespace when
    ``None``): id -> element id."""
    query = (
        "UNWIND $ids AS id MATCH (n:Memory {id: id}) USING INDEX SEEK n:Memory(id) "
        + ("WHERE n.namespace = $ns " if namespace is not None else "")
        + "RETURN collect([id, elementId(n)]) AS found"
    )
    out: dict[str, str] = {}
    for chunk in _chunks(ids, READ_CHUNK):
        rec = tx.run(query, ids=_Quiet(chunk), ns=namespace).single()
        out.update(rec["found"] if rec else ())
    return out


def _retryable(exc: BaseException) -> bool:
    is_retryable = getattr(exc, "is_retryable", None)
    return bool(is_retryable()) if callable(is_retryable) else False


# -- transactions -------------------------------------------------------------------


@dataclass
class _OpenTx:
    """The calling thread's explicit transaction and its replay log."""

    session: Any
    tx: Transaction
    depth: int = 1
    ops: list[Callable[[Tx], Any]] = field(default_factory=list)
    namespaces: set[str] = field(default_factory=set)
    failed: BaseException | None = None
    #: Ids of nodes this transaction created (they did not exist before it): their edges
    #: cannot exist yet either, so they are written with CREATE instead of MERGE.
    created: set[str] = field(default_factory=set)
    #: ``(id, namespace)`` of the nodes this transaction wrote (known to exist: no end check).
    written: set[tuple[str, str]] = field(default_factory=set)
    #: Keys of the edges this transaction wrote with an end in ``created``.
    new_edges: set[tuple[str, str, str]] = field(default_factory=set)
    #: Element ids of the nodes in ``written`` (valid in this transaction: it wrote them).
    elements: dict[str, str] = field(default_factory=dict)

    def forget(self) -> None:
        """Drop what the transaction knows of its writes (after a delete, or to replay)."""
        self.created.clear()
        self.written.clear()
        self.new_edges.clear()
        self.elements.clear()


@dataclass
class _Cached:
    """A cached read: its value, the namespace generation it saw, and when."""

    value: Any
    generation: int
    at: float


def _db_errors(method: Callable[P, R]) -> Callable[P, R]:
    """Turn driver errors escaping a public method into kg-memory errors."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except KGMemoryError:
            raise
        except (nx.ServiceUnavailable, nx.SessionExpired) as exc:
            store = args[0]
            raise StoreUnavailableError(
                f"Neo4j at {getattr(store, 'uri', '?')} is unavailable: {exc}"
            ) from exc
        except nx.AuthError as exc:
            store = args[0]
            raise StoreUnavailableError(
                f"Neo4j at {getattr(store, 'uri', '?')} rejected the credentials: {exc}"
            ) from exc
        except (nx.Neo4jError, nx.DriverError) as exc:
            store = args[0]
            raise StoreError(f"Neo4j store at {getattr(store, 'uri', '?')}: {exc}") from exc

    return wrapper


class Neo4jStore(Store):
    """The memory in a Neo4j server (Bolt URI, user, password, database from ``config``).

    Construction checks that the server answers and accepts the credentials
    (else :class:`~kg_memory.errors.StoreUnavailableError` naming the URI),
    then applies ``schemas/neo4j.cypher`` idempotently and waits for its indexes.
    Thread-safe: the driver pools connections; each thread has its own
    ``transaction()``.
    """

    name: ClassVar[str] = "neo4j"
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {CYPHER, VECTOR_INDEX, FULLTEXT_INDEX, TRANSACTIONS, DURABLE}
    )
    #: Candidates from the HNSW vector index, re-ranked exactly.
    vector_index_kind: ClassVar[str] = "hnsw"

    def __init__(self, config: Neo4jConfig) -> None:
        self.config = config
        self.uri = redact_uri(config.uri)  # what messages show: never a password
        self.database = config.database or None
        self._local = threading.local()
        self._cache_lock = threading.Lock()
        self._generation: dict[str, int] = {}
        self._read_cache: dict[tuple[Any, ...], _Cached] = {}
        self._driver: Driver | None = None
        self._bookmarks = GraphDatabase.bookmark_manager()
        self._driver = self._connect()
        try:
            self._apply_schema()
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"Neo4jStore({self.uri!r}, database={self.database!r})"

    # -- connection -------------------------------------------------------
    def _connect(self) -> Driver:
        cfg = self.config
        check_neo4j_uri(cfg.uri)
        where = f"Neo4j at {self.uri}"
        try:
            driver = GraphDatabase.driver(
                cfg.uri,
                auth=(cfg.user, cfg.password),
                connection_timeout=CONNECT_TIMEOUT,
                max_transaction_retry_time=MAX_RETRY_SECONDS,
                notifications_min_severity="OFF",
                user_agent="kg-memory",
            )
        except (nx.ConfigurationError, ValueError) as exc:
            raise StoreUnavailableError(f"invalid Neo4j URI {self.uri!r}: {exc}") from exc
        try:
            driver.verify_connectivity()
            if not driver.verify_authentication():
                raise StoreUnavailableError(
                    f"{where} rejected the credentials of user {cfg.user!r} "
                    "(set KG_MEMORY_NEO4J_USER / KG_MEMORY_NEO4J_PASSWORD)"
                )
            with driver.session(database=self.database) as s:
                s.run("RETURN 1").consume()
        except StoreUnavailableError:
            driver.close()
            raise
        except nx.AuthError as exc:
            driver.close()
            raise StoreUnavailableError(
                f"{where} rejected the credentials of user {cfg.user!r} "
                f"(set KG_MEMORY_NEO4J_USER / KG_MEMORY_NEO4J_PASSWORD): {exc.message or exc}"
            ) from exc
        except (nx.ServiceUnavailable, nx.SessionExpired, OSError) as exc:
            driver.close()
            raise StoreUnavailableError(
                f"cannot connect to {where}: {exc} "
                "(is the server running? scripts/neo4j-server start)"
            ) from exc
        except nx.ClientError as exc:
            driver.close()
            raise StoreUnavailableError(
                f"{where}: cannot open database {cfg.database!r}: {exc.message or exc}"
            ) from exc
        except (nx.Neo4jError, nx.DriverError) as exc:
            driver.close()
            raise StoreUnavailableError(f"{where} is not usable: {exc}") from exc
        return driver

    @property
    def _drv(self) -> Driver:
        if self._driver is None:
            raise StoreError(f"Neo4j store at {self.uri} is closed")
        return self._driver

    def _session(self, access: str = WRITE_ACCESS) -> Any:
        # One bookmark manager for all sessions: a read sees every earlier write of
        # this store even on a cluster (causal consistency).
        return self._drv.session(
            database=self.database, default_access_mode=access, bookmark_manager=self._bookmarks
        )

    @staticmethod
    def schema_statements() -> list[str]:
        """The DDL statements of ``schemas/neo4j.cypher`` (comments removed)."""
        text = (resource_dir("schemas") / "neo4j.cypher").read_text(encoding="utf-8")
        body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
        return [s.strip() for s in body.split(";") if s.strip()]

    def _apply_schema(self) -> None:
        """Run every DDL statement (idempotent), then wait for the indexes."""
        benign = (
            "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists",
            "Neo.ClientError.Schema.IndexAlreadyExists",
            "Neo.ClientError.Schema.ConstraintAlreadyExists",
        )
        try:
            with self._session() as s:
                for stmt in self.schema_statements():
                    try:
                        s.run(stmt).consume()
                    except nx.ClientError as exc:
                        # Two processes creating the same index at once.
                        if exc.code not in benign:
                            raise StoreUnavailableError(
                                f"Neo4j at {self.uri}: cannot apply schema statement "
                                f"{stmt.splitlines()[0]!r}: {exc.message or exc}"
                            ) from exc
                s.run(f"CALL db.awaitIndexes({INDEX_WAIT_SECONDS})").consume()
        except KGMemoryError:
            raise
        except (nx.Neo4jError, nx.DriverError) as exc:
            raise StoreUnavailableError(f"Neo4j at {self.uri}: cannot apply schema: {exc}") from exc

    # -- lifecycle -------------------------------------------------------
    def close(self) -> None:
        state: _OpenTx | None = getattr(self._local, "tx", None)
        if state is not None:
            self._local.tx = None
            self._discard(state)
        if self._driver is not None:
            self._driver.close()
            self._driver = None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes in one Neo4j transaction; nested calls join the outer one."""
        state: _OpenTx | None = getattr(self._local, "tx", None)
        if state is not None:
            state.depth += 1
            try:
                yield
            finally:
                state.depth -= 1
            return
        state = self._begin()
        self._local.tx = state
        try:
            yield
        except BaseException:
            self._local.tx = None
            self._discard(state)
            self._touch(state.namespaces)
            raise
        self._local.tx = None
        try:
            self._commit(state)
        finally:
            self._touch(state.namespaces)

    def _begin(self) -> _OpenTx:
        session = self._session()
        try:
            tx = session.begin_transaction()
        except BaseException as exc:
            session.close()
            if isinstance(exc, nx.Neo4jError | nx.DriverError):
                raise StoreError(f"Neo4j store at {self.uri}: cannot begin: {exc}") from exc
            raise
        return _OpenTx(session=session, tx=tx)

    @staticmethod
    def _discard(state: _OpenTx) -> None:
        # The connection may already be gone: closing is best effort.
        for step in (state.tx.close, state.session.close):
            with contextlib.suppress(Exception):
                step()

    def _restart(self, state: _OpenTx) -> None:
        """Replace a transaction lost to a transient error; replay its log."""
        self._discard(state)
        fresh = self._begin()
        state.session, state.tx = fresh.session, fresh.tx
        state.forget()  # the replayed writes rebuild it
        for op in state.ops:
            op(state.tx)

    def _in_tx(self, state: _OpenTx, fn: Callable[[Tx], R]) -> R:
        if state.failed is not None:
            raise StoreError(
                f"the transaction failed earlier ({state.failed}); leave the "
                "`with store.transaction()` block to roll it back"
            )
        delay, deadline, restart = 0.2, 0.0, False
        while True:
            try:
                if restart:
                    self._restart(state)
                    restart = False
                return fn(state.tx)
            except (nx.Neo4jError, nx.DriverError) as exc:
                now = time.monotonic()
                deadline = deadline or now + MAX_RETRY_SECONDS
                if not _retryable(exc) or now > deadline:
                    state.failed = exc
                    raise
            # Lost to a transient error: a fresh transaction, the log replayed, then fn again.
            restart = True
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _commit(self, state: _OpenTx) -> None:
        """Commit; a commit the server does not confirm with a bookmark is not a success.

        A retryable failure, or a COMMIT answered without a bookmark (the
        connection lost on the way: nothing proves the writes are stored), replays
        the log in a fresh transaction; any other failure raises :class:`StoreError`.
        """
        if state.failed is not None:
            self._discard(state)
            raise StoreError(f"transaction not committed: it failed earlier ({state.failed})")
        before = state.session.last_bookmarks()
        try:
            state.tx.commit()
        except nx.IncompleteCommit as exc:
            self._discard(state)
            raise StoreError(
                f"Neo4j store at {self.uri}: the connection was lost during COMMIT, so the "
                f"writes may or may not be stored; run the command again ({exc})"
            ) from exc
        except (nx.Neo4jError, nx.DriverError) as exc:
            self._discard(state)
            if not _retryable(exc):
                raise StoreError(f"Neo4j store at {self.uri}: commit failed: {exc}") from exc
            self._replay(state)
            return
        after = state.session.last_bookmarks()
        confirmed = bool(after.raw_values) and after != before
        state.session.close()
        if state.ops and not confirmed:
            self._replay(state)

    def _confirmed_write(self, op: Callable[[Tx], R]) -> R:
        """``op`` in a managed write transaction whose commit returns a new bookmark;
        an unconfirmed commit is run once more (every write re-reads what exists)."""
        for _ in range(2):
            with self._session() as s:
                before = s.last_bookmarks()
                out = s.execute_write(op)
                after = s.last_bookmarks()
            if after.raw_values and after != before:
                return out
        raise StoreError(
            f"Neo4j store at {self.uri}: the server did not confirm the commit (no "
            "bookmark), so the write may not be stored; run the command again"
        )

    def _replay(self, state: _OpenTx) -> None:
        """Run a lost transaction's log again in a managed transaction; confirm its bookmark."""
        ops = list(state.ops)

        def replay(tx: ManagedTransaction) -> None:
            state.forget()  # the replayed writes rebuild it
            for op in ops:
                op(tx)

        try:
            with self._session() as s:
                before = s.last_bookmarks()
                s.execute_write(replay)
                after = s.last_bookmarks()
                confirmed = bool(after.raw_values) and after != before
        except (nx.Neo4jError, nx.DriverError) as exc:
            raise StoreError(f"Neo4j store at {self.uri}: commit failed: {exc}") from exc
        if not confirmed:
            raise StoreError(
                f"Neo4j store at {self.uri}: the server did not confirm the commit (no "
                "bookmark), so the writes may not be stored; run the command again"
            )

    def _write(self, op: Callable[[Tx], R], namespaces: set[str]) -> R:
        """Run a write: in the thread's open transaction, else in its own managed one."""
        state: _OpenTx | None = getattr(self._local, "tx", None)
        self._touch(namespaces)
        if state is None:
            try:
                return self._confirmed_write(op)
            finally:
                self._touch(namespaces)
        state.namespaces |= namespaces
        try:
            out = self._in_tx(state, op)
        except BaseException as exc:
            # A write that failed half-way may have left changes in the transaction.
            if state.failed is None and not isinstance(exc, QueryError):
                state.failed = exc
            raise
        state.ops.append(op)
        return out

    def _read(self, fn: Callable[[Tx], R]) -> R:
        """Run a read: in the thread's open transaction (sees its writes), else in its
        ``reading()`` transaction, else in a managed read transaction of its own."""
        state: _OpenTx | None = getattr(self._local, "tx", None)
        if state is not None:
            return self._in_tx(state, fn)
        shared: Transaction | None = getattr(self._local, "read_tx", None)
        if shared is not None:
            try:
                return fn(shared)
            except (nx.Neo4jError, nx.DriverError) as exc:
                if not _retryable(exc):
                    raise
                # Lost (a dropped connection, say): the rest of the block reads on its own,
                # with the driver's retries.
                self._end_reading()
        with self._session(READ_ACCESS) as s:
            return s.execute_read(fn)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Run the calling thread's reads in one read transaction (see :meth:`Store.reading`)."""
        if getattr(self._local, "tx", None) is not None or getattr(self._local, "read_tx", None):
            yield  # inside a write transaction, or nested: reads already share one
            return
        session = self._session(READ_ACCESS)
        try:
            self._local.read_session = session
            self._local.read_tx = session.begin_transaction()
        except (nx.Neo4jError, nx.DriverError):
            self._end_reading()  # reads fall back to one transaction each
        try:
            yield
        finally:
            self._end_reading()

    def _end_reading(self) -> None:
        tx = getattr(self._local, "read_tx", None)
        session = getattr(self._local, "read_session", None)
        self._local.read_tx = self._local.read_session = None
        for step in (getattr(tx, "close", None), getattr(session, "close", None)):
            if step is not None:
                with contextlib.suppress(Exception):
                    step()

    def _touch(self, namespaces: set[str]) -> None:
        if not namespaces:
            return
        with self._cache_lock:
            for ns in namespaces:
                self._generation[ns] = self._generation.get(ns, 0) + 1

    # -- writes ----------------------------------------------------------
    @_db_errors
    def upsert_nodes(self, nodes: Sequence[Node]) -> None:
        """Upsert nodes: ``CREATE`` for ids not stored yet, ``MERGE`` for the others.

        One read finds which ids exist; inside a ``transaction()`` the created ids
        are remembered, so that their edges can be created without ``MERGE``.
        """
        if not nodes:
            return
        # Several writes of one id: the last wins, as with sequential upserts
        # (keeping an earlier vector when the last one has none).
        last: dict[str, Node] = {}
        for n in nodes:
            check_label(n.label)
            if n.embedding is not None and np.asarray(n.embedding).size != VECTOR_DIMENSIONS:
                raise StoreError(
                    f"node {n.id!r}: embedding has {np.asarray(n.embedding).size} dimensions; "
                    f"the Neo4j vector indexes (schemas/neo4j.cypher) hold {VECTOR_DIMENSIONS}"
                )
            prev = last.get(n.id)
            if prev is not None and n.embedding is None and prev.embedding is not None:
                n = Node(
                    n.id, n.label, n.namespace, n.conversation, n.text, n.props, prev.embedding
                )
            last[n.id] = n
        # Props that cannot be stored are refused here, before anything is written; the
        # rest of each row (tokens, vectors) is built while the server runs the batch before.
        own = {i: _node_props(n) for i, n in last.items()}
        ids = list(last)
        state: _OpenTx | None = getattr(self._local, "tx", None)

        def work(tx: Tx) -> None:
            existing = _stored_elements(tx, ids)  # in any namespace: ids are unique store-wide
            made: dict[str, str] = {}
            plan: dict[tuple[str, bool, bool], list[str]] = defaultdict(list)
            for i, n in last.items():
                plan[(n.label, n.embedding is not None, i in existing)].append(i)
            _run_batches(
                tx,
                (
                    (
                        _node_query(label, has_vec) if exists else _create_query(label),
                        functools.partial(_node_rows if exists else _new_rows, last, own, chunk),
                        {"label": label},
                    )
                    for (label, has_vec, exists), group in plan.items()
                    for chunk in _chunks(group, BATCH)
                ),
                sink=lambda rec: made.update(rec.get("made") or ()),
            )
            if state is not None:
                state.written.update((i, n.namespace) for i, n in last.items())
                state.created.update(made)
                state.elements.update(existing)
                state.elements.update(made)

        self._write(work, {n.namespace for n in nodes})

    @_db_errors
    def upsert_edges(self, edges: Sequence[Edge]) -> None:
        """Upsert edges: ``CREATE`` when an end was created in this transaction, else ``MERGE``.

        Both ends must exist in the edge's namespace; ends written in the open
        transaction are known to, the others are checked first (a missing end
        raises before anything is written). The namespace is a property of the
        ends only: an edge never joins two namespaces.
        """
        if not edges:
            return
        last: dict[tuple[str, str, str], Edge] = {}
        for e in edges:
            check_edge_type(e.type)
            last[e.key] = e
        state: _OpenTx | None = getattr(self._local, "tx", None)
        known = state.written if state is not None else set()
        ends = sorted({(i, e.namespace) for e in last.values() for i in (e.src, e.dst)} - known)
        pairs = [{"id": i, "ns": ns} for i, ns in ends]
        rows = {key: _edge_row(e) for key, e in last.items()}

        def check(tx: Tx) -> None:
            missing: list[tuple[str, str]] = []
            for chunk in _chunks(pairs, READ_CHUNK):
                res = tx.run(
                    "UNWIND $pairs AS p OPTIONAL MATCH (n:Memory {id: p.id}) USING INDEX SEEK n:Memory(id) "
                    "WHERE n.namespace = p.ns WITH p, n WHERE n IS NULL "
                    "RETURN p.id AS id, p.ns AS ns",
                    pairs=_Quiet(chunk),
                )
                missing.extend((r["id"], r["ns"]) for r in res)
            missing.sort()
            if missing:
                shown = ", ".join(f"{i} (namespace {ns!r})" for i, ns in missing[:5])
                more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
                raise StoreError(f"cannot write edges: node(s) not found: {shown}{more}")

        def write(tx: Tx) -> None:
            created = state.created if state is not None else set()
            done = state.new_edges if state is not None else set()
            elements = state.elements if state is not None else {}
            written = state.written if state is not None else set()
            seek: list[list[Any]] = []
            fresh: list[dict[str, Any]] = []
            new_keys: list[tuple[str, str, str]] = []
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
                (CREATE_EDGES_BY_ELEMENT, functools.partial(list, chunk), {})
                for chunk in _chunks(seek, EDGE_BATCH)
            ]
            batches += [
                (CREATE_EDGES, functools.partial(_id_rows, chunk), {})
                for chunk in _chunks(fresh, EDGE_BATCH)
            ]
            batches += [
                (_edge_query(typ), functools.partial(_id_rows, chunk), {})
                for typ, group in merged.items()
                for chunk in _chunks(group, EDGE_BATCH)
            ]
            _run_batches(tx, batches, "edges")
            done.update(new_keys)

        namespaces = {e.namespace for e in edges}
        if state is not None:
            # Check first without marking the open transaction failed on a missing end.
            if pairs:
                self._read(check)
            self._write(write, namespaces)
        else:

            def both(tx: Tx) -> None:
                check(tx)
                write(tx)

            self._write(both, namespaces)

    @_db_errors
    def delete_conversation(self, namespace: str, conversation: str) -> int:
        def work(tx: Tx) -> int:
            linked = tx.run(
                "MATCH (n:Memory) WHERE n.namespace = $ns AND n.conversation = $conv "
                "MATCH (n)--(m:Memory) WHERE m.namespace = $ns AND m.conversation IS NULL "
                "RETURN collect(DISTINCT m.id) AS ids",
                ns=namespace,
                conv=conversation,
            ).single()
            ids: list[str] = linked["ids"] if linked else []
            deleted = 0
            while True:
                rec = tx.run(
                    "MATCH (n:Memory) WHERE n.namespace = $ns AND n.conversation = $conv "
                    "WITH n LIMIT $batch DETACH DELETE n RETURN count(*) AS c",
                    ns=namespace,
                    conv=conversation,
                    batch=DELETE_BATCH,
                ).single()
                c = int(rec["c"]) if rec else 0
                deleted += c
                if c < DELETE_BATCH:
                    break
            for chunk in _chunks(ids, READ_CHUNK):
                rec = tx.run(
                    "UNWIND $ids AS id MATCH (m:Memory {id: id}) USING INDEX SEEK m:Memory(id) "
                    "WHERE m.namespace = $ns AND m.conversation IS NULL "
                    "AND NOT EXISTS { (m)--() } DELETE m RETURN count(*) AS c",
                    ids=_Quiet(chunk),
                    ns=namespace,
                ).single()
                deleted += int(rec["c"]) if rec else 0
            if state is not None:
                state.forget()
            return deleted

        state: _OpenTx | None = getattr(self._local, "tx", None)
        return self._write(work, {namespace})

    @_db_errors
    def delete_namespace(self, namespace: str) -> int:
        """Delete a namespace in one transaction, :data:`DELETE_BATCH` nodes per statement."""

        def work(tx: Tx) -> int:
            deleted = 0
            while True:
                rec = tx.run(
                    "MATCH (n:Memory) WHERE n.namespace = $ns "
                    "WITH n LIMIT $batch DETACH DELETE n RETURN count(*) AS c",
                    ns=namespace,
                    batch=DELETE_BATCH,
                ).single()
                c = int(rec["c"]) if rec else 0
                deleted += c
                if c < DELETE_BATCH:
                    if state is not None:
                        state.forget()
                    return deleted

        state: _OpenTx | None = getattr(self._local, "tx", None)
        return self._write(work, {namespace})

    # -- reads -----------------------------------------------------------
    @staticmethod
    def _node_return(with_embeddings: bool) -> str:
        cols = (
            "n.id AS id, n.label AS label, n.namespace AS namespace, "
            "n.conversation AS conversation, n.text AS text, "
            f"{NODE_PLAIN_PROPS} AS plain, n.props_extra AS extra"
        )
        return cols + (EMBEDDING_COLUMNS if with_embeddings else "")

    @_db_errors
    def get_nodes(
        self, namespace: str, ids: Sequence[str], *, with_embeddings: bool = False
    ) -> list[Node]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        query = (
            "UNWIND $ids AS id MATCH (n:Memory {id: id}) USING INDEX SEEK n:Memory(id) "
            "WHERE n.namespace = $ns "
            f"RETURN {self._node_return(with_embeddings)}"
        )

        def work(tx: Tx) -> dict[str, Node]:
            found: dict[str, Node] = {}
            for chunk in _chunks(wanted, READ_CHUNK):
                for rec in tx.run(query, ids=_Quiet(chunk), ns=namespace):
                    found[rec["id"]] = _to_node(rec, with_embeddings)
            return found

        found = self._read(work)
        return [found[i] for i in wanted if i in found]

    @_db_errors
    def find_nodes(
        self,
        namespace: str,
        label: str,
        *,
        conversation: str | None = None,
        limit: int | None = None,
        with_embeddings: bool = False,
    ) -> list[Node]:
        check_label(label)
        query = "MATCH (n:Memory) WHERE n.namespace = $ns AND n.label = $label"
        params: dict[str, Any] = {"ns": namespace, "label": label}
        if conversation is not None:
            query += " AND n.conversation = $conv"
            params["conv"] = conversation
        query += f" RETURN {self._node_return(with_embeddings)} ORDER BY n.id"
        if limit is not None:
            query += " LIMIT $limit"
            params["limit"] = max(int(limit), 0)

        def work(tx: Tx) -> list[Node]:
            return [_to_node(rec, with_embeddings) for rec in tx.run(query, params)]

        return self._read(work)

    @_db_errors
    def neighbours(
        self,
        namespace: str,
        ids: Sequence[str],
        *,
        edge_types: Sequence[str] | None = None,
        direction: Direction = "both",
    ) -> list[Edge]:
        types = check_neighbour_args(edge_types, direction)
        if types is not None and not types:
            return []
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        rel = "r:" + "|".join(dict.fromkeys(types)) if types else "r"
        patterns = {
            "out": [f"(a)-[{rel}]->(b:Memory)"],
            "in": [f"(a)<-[{rel}]-(b:Memory)"],
            "both": [f"(a)-[{rel}]-(b:Memory)"],  # one query, both directions
        }[direction]
        queries = [
            "UNWIND $ids AS id MATCH (a:Memory {id: id}) USING INDEX SEEK a:Memory(id) "
            "WHERE a.namespace = $ns "
            f"MATCH {p} WHERE b.namespace = $ns "
            # one record holding every edge: the driver pays per record, not per value
            "RETURN collect([startNode(r).id, type(r), endNode(r).id, "
            f"{EDGE_PLAIN_PROPS}, r.props_extra]) AS rows"
            for p in patterns
        ]

        def work(tx: Tx) -> dict[tuple[str, str, str], Edge]:
            found: dict[tuple[str, str, str], Edge] = {}
            for chunk in _chunks(wanted, READ_CHUNK):
                for q in queries:
                    for rec in tx.run(q, ids=_Quiet(chunk), ns=namespace):
                        for src, etype, dst, plain, extra in rec["rows"]:
                            key = (src, etype, dst)
                            if key not in found:
                                found[key] = Edge(*key, namespace, _joined_props(plain, extra))
            return found

        found = self._read(work)
        return [found[key] for key in sorted(found)]

    @_db_errors
    def existing_ids(self, namespace: str, ids: Sequence[str]) -> set[str]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return set()

        return set(self._read(lambda tx: _stored_elements(tx, wanted, namespace)))

    def _cached_read(self, key: tuple[Any, ...], namespace: str, work: Callable[[Tx], Any]) -> Any:
        """``self._read(work)``, cached per key until a write of ours to the namespace or a TTL.

        Other processes may write too, hence the TTL (``SCOPE_COUNT_TTL``). Reads
        inside an open transaction are never cached.
        """
        in_tx = getattr(self._local, "tx", None) is not None
        with self._cache_lock:
            gen = self._generation.get(namespace, 0)
            hit = self._read_cache.get(key)
        now = time.monotonic()
        if (
            not in_tx
            and hit is not None
            and hit.generation == gen
            and now - hit.at < SCOPE_COUNT_TTL
        ):
            return hit.value
        value = self._read(work)
        if not in_tx:
            with self._cache_lock:
                self._read_cache[key] = _Cached(value, gen, now)
                if len(self._read_cache) > 4096:
                    self._read_cache.clear()
        return value

    def _scope_count(
        self, namespace: str, label: str, conversation: str | None
    ) -> tuple[int, frozenset[int]]:
        """Vectors (and their lengths) of one scope; cached until a write of ours or a TTL."""
        query = (
            "MATCH (n:Memory) WHERE n.namespace = $ns AND n.label = $label "
            + ("AND n.conversation = $conv " if conversation is not None else "")
            + "AND n.vdim IS NOT NULL RETURN count(n) AS c, collect(DISTINCT n.vdim) AS dims"
        )

        def work(tx: Tx) -> tuple[int, frozenset[int]]:
            rec = tx.run(query, ns=namespace, label=label, conv=conversation).single()
            if rec is None:
                return 0, frozenset()
            return int(rec["c"]), frozenset(int(d) for d in rec["dims"])

        result: tuple[int, frozenset[int]] = self._cached_read(
            ("vectors", namespace, label, conversation), namespace, work
        )
        return result

    def _vector_plan(
        self,
        namespace: str,
        label: str,
        vector: np.ndarray,
        k: int,
        conversation: str | None,
    ) -> _VectorPlan | None:
        """What a vector search will ask the index for (``None``: nothing in scope)."""
        check_label(label)
        q = np.asarray(vector, dtype=np.float64).ravel()
        if k <= 0:
            return None
        in_scope, dims = self._scope_count(namespace, label, conversation)
        if in_scope == 0:
            return None
        if len(dims) > 1:
            raise StoreError(
                f"{label} vectors in namespace {namespace!r} have different dimensions "
                f"{sorted(dims)}; re-embed them with one model"
            )
        (dim,) = dims
        if dim != q.shape[0]:
            raise QueryError(
                f"query vector has {q.shape[0]} dimensions, stored {label} vectors have {dim}"
            )
        qn = float(np.linalg.norm(q))
        if qn == 0.0 or not math.isfinite(qn):
            raise QueryError("query vector must be finite and non-zero for cosine search")

        def label_total(tx: Tx) -> int:
            rec = tx.run(f"MATCH (n:{label}) RETURN count(n) AS c").single()
            return int(rec["c"]) if rec else 0

        total = max(self._cached_read(("label", label), namespace, label_total), in_scope)
        want = max(OVERSAMPLE * k, k + MIN_CANDIDATES)
        k2 = min(total, max(want, math.ceil(want * total / in_scope)))
        return _VectorPlan(label, q, (q / qn).tolist(), k, dim, min(k, in_scope), total, k2)

    @staticmethod
    def _vector_params(plan: _VectorPlan, k2: int, suffix: str = "") -> dict[str, Any]:
        return {
            f"vindex{suffix}": vector_index_name(plan.label),
            f"k2{suffix}": k2,
            f"vector{suffix}": _Quiet(plan.unit),
            f"label{suffix}": plan.label,
        }

    @staticmethod
    def _vector_rows(rows: Sequence[Sequence[Any]]) -> list[tuple[str, np.ndarray | None]]:
        return [(i, _vector(raw, vals)) for i, raw, vals in rows]

    def _vector_ranked(
        self, plan: _VectorPlan, found: list[tuple[str, np.ndarray | None]]
    ) -> list[Hit]:
        usable = [(i, e) for i, e in found if e is not None and e.shape[0] == plan.dim]
        if not usable:
            return []
        matrix = np.stack([e for _, e in usable])
        return rank_by_cosine(plan.query, [i for i, _ in usable], matrix, plan.k)

    def _vector_run(
        self, namespace: str, plan: _VectorPlan, conversation: str | None, k2: int
    ) -> list[Hit]:
        """Ask the index with ``k2``, growing it until the scope yields enough; rank exactly."""
        query = _vector_cypher(conversation is not None)
        while True:

            def work(tx: Tx, k2: int = k2) -> list[tuple[str, np.ndarray | None]]:
                params = self._vector_params(plan, k2)
                res = tx.run(query, params, ns=namespace, conv=conversation)
                return [row for r in res for row in self._vector_rows(r["rows"])]

            found = self._read(work)
            if len(found) >= plan.need or k2 >= plan.total:
                return self._vector_ranked(plan, found)
            k2 = min(plan.total, k2 * 4)

    @_db_errors
    def vector_search(
        self,
        namespace: str,
        label: str,
        vector: np.ndarray,
        k: int,
        *,
        conversation: str | None = None,
    ) -> list[Hit]:
        """Top-``k`` by cosine: HNSW candidates from the label's vector index, ranked exactly.

        HNSW is approximate (Neo4j searches with ``ef = k``), so the index is
        asked for ``want = max(OVERSAMPLE * k, k + MIN_CANDIDATES)`` neighbours
        of the scope, and since it spans every namespace, ``k2`` is scaled by the
        share of the scope in the label (``k2 ~ want * label_total / in_scope``,
        at most the label's size). ``k2`` grows until the scope yields
        ``min(k, in_scope)`` candidates or the whole label has been asked for.
        The candidates are then ranked exactly by their stored float32 vectors.
        On 2,000 random 384-d unit vectors (HNSW's worst case) the top-10 of
        the first 10 / 50 / 100 index results holds 55% / 94% / 99% of the
        exact top-10; with ``want = 110`` the ranking matches the exact one.
        """
        plan = self._vector_plan(namespace, label, vector, k, conversation)
        if plan is None:
            return []
        return self._vector_run(namespace, plan, conversation, plan.k2)

    @_db_errors
    def keyword_candidates(
        self,
        namespace: str,
        label: str,
        terms: Sequence[str],
        *,
        conversation: str | None = None,
        limit: int = MAX_KEYWORD_CANDIDATES,
    ) -> list[tuple[str, str]]:
        check_label(label)
        queries = lucene_queries(terms, namespace, label, conversation)
        if not queries or limit <= 0:
            return []
        cypher = _keyword_cypher(conversation is not None)

        def work(tx: Tx) -> list[tuple[str, str, float]]:
            out: list[tuple[str, str, float]] = []
            for lq in queries:
                res = tx.run(
                    cypher,
                    index=FULLTEXT_INDEX_NAME,
                    q=lq,
                    limit=int(limit),
                    ns=namespace,
                    label=label,
                    conv=conversation,
                )
                for rec in res:
                    out.extend((i, t, float(sc)) for i, t, sc in rec["rows"])
            return out

        rows = self._read(work)
        if len(queries) > 1:
            best: dict[str, tuple[str, str, float]] = {}
            for row in rows:
                if row[0] not in best or row[2] > best[row[0]][2]:
                    best[row[0]] = row
            rows = sorted(best.values(), key=lambda r: (-r[2], r[0]))[:limit]
        return [(i, t) for i, t, _ in rows]

    @_db_errors
    def search_many(
        self, namespace: str, searches: Sequence[Search], *, conversation: str | None = None
    ) -> list[list[Hit]]:
        """Every search in one Cypher statement (one ``CALL {}`` per search): one round trip.

        Keyword searches get their candidates from the full-text index and are
        ranked by the shared BM25; vector searches take their first index
        answer, and one that comes back short of its scope asks again alone
        (:meth:`vector_search`'s growing ``k2``). Results equal the single calls'.
        """
        results: list[list[Hit] | None] = [None] * len(searches)
        parts: list[str] = []
        params: dict[str, Any] = {
            "ns": namespace,
            "conv": conversation,
            "index": FULLTEXT_INDEX_NAME,
        }
        finish: dict[int, Callable[[Sequence[Any]], list[Hit]]] = {}
        has_conv = conversation is not None
        for i, srch in enumerate(searches):
            sfx = str(i)
            if srch.query is not None:
                check_label(srch.label)
                terms = query_terms(srch.query)
                lqs = lucene_queries(terms, namespace, srch.label, conversation)
                if not lqs or srch.k <= 0:
                    results[i] = []
                    continue
                if len(lqs) > 1:  # very long query: Lucene's clause limit, several queries
                    results[i] = self._one_search(namespace, srch, conversation)
                    continue
                n, avgdl = self.text_stats(namespace, srch.label, conversation=conversation)
                parts.append(_keyword_cypher(has_conv, sfx, column="ftext"))
                params.update(
                    {
                        f"q{sfx}": lqs[0],
                        f"limit{sfx}": MAX_KEYWORD_CANDIDATES,
                        f"label{sfx}": srch.label,
                    }
                )
                finish[i] = functools.partial(_bm25_rows, terms, n, avgdl, srch.k)
            else:
                assert srch.vector is not None
                plan = self._vector_plan(namespace, srch.label, srch.vector, srch.k, conversation)
                if plan is None:
                    results[i] = []
                    continue
                parts.append(_vector_cypher(has_conv, sfx))
                params.update(self._vector_params(plan, plan.k2, sfx))

                def done(rows: Sequence[Any], plan: _VectorPlan = plan) -> list[Hit]:
                    found = self._vector_rows(rows)
                    if len(found) < plan.need and plan.k2 < plan.total:
                        return self._vector_run(
                            namespace, plan, conversation, min(plan.total, plan.k2 * 4)
                        )
                    return self._vector_ranked(plan, found)

                finish[i] = done
        if finish:
            query = (
                " ".join(f"CALL {{ {part} }}" for part in parts)
                + " RETURN "
                + ", ".join(f"rows{i}" for i in finish)
            )

            def work(tx: Tx) -> dict[str, Any]:
                rec = tx.run(query, params).single()
                return dict(rec) if rec else {}

            rec = self._read(work)
            for i, fn in finish.items():
                results[i] = fn(rec.get(f"rows{i}") or [])
        return [r if r is not None else [] for r in results]

    @_db_errors
    def text_stats(
        self, namespace: str, label: str, *, conversation: str | None = None
    ) -> tuple[int, float]:
        check_label(label)
        query = (
            "MATCH (n:Memory) WHERE n.namespace = $ns AND n.label = $label "
            + ("AND n.conversation = $conv " if conversation is not None else "")
            + "AND n.ntok IS NOT NULL RETURN count(n) AS c, sum(n.ntok) AS total"
        )

        def work(tx: Tx) -> tuple[int, float]:
            rec = tx.run(query, ns=namespace, label=label, conv=conversation).single()
            if rec is None:
                return 0, 0.0
            return int(rec["c"]), mean_length(int(rec["c"]), rec["total"])

        result: tuple[int, float] = self._cached_read(
            ("text", namespace, label, conversation), namespace, work
        )
        return result

    @_db_errors
    def counts(self, namespace: str | None = None) -> Stats:
        if namespace is None:
            nq = "MATCH (n:Memory) RETURN n.label AS k, count(*) AS c"
            eq = "MATCH (:Memory)-[r]->(:Memory) RETURN type(r) AS k, count(*) AS c"
        else:
            nq = "MATCH (n:Memory) WHERE n.namespace = $ns RETURN n.label AS k, count(*) AS c"
            eq = (
                "MATCH (n:Memory)-[r]->(m:Memory) WHERE n.namespace = $ns AND m.namespace = $ns "
                "RETURN type(r) AS k, count(*) AS c"
            )

        def work(tx: Tx) -> Stats:
            nodes = {r["k"]: int(r["c"]) for r in tx.run(nq, ns=namespace)}
            edges = {r["k"]: int(r["c"]) for r in tx.run(eq, ns=namespace)}
            return Stats(nodes=nodes, edges=edges)

        return self._read(work)

    @_db_errors
    def namespaces(self) -> list[str]:
        def work(tx: Tx) -> list[str]:
            res = tx.run(
                "MATCH (n:Memory) WHERE n.namespace IS NOT NULL "
                "RETURN DISTINCT n.namespace AS ns ORDER BY ns"
            )
            return [r["ns"] for r in res]

        return self._read(work)

    @_db_errors
    def conversations(self, namespace: str) -> list[str]:
        def work(tx: Tx) -> list[str]:
            res = tx.run(
                "MATCH (n:Memory) WHERE n.namespace = $ns AND n.conversation IS NOT NULL "
                "RETURN DISTINCT n.conversation AS c ORDER BY c",
                ns=namespace,
            )
            return [r["c"] for r in res]

        return self._read(work)

    # -- Cypher ------------------------------------------------------------
    def cypher(
        self,
        query: str,
        params: dict[str, Any] | None = None,
        *,
        read_only: bool = True,
        namespace: str | None = None,
    ) -> list[dict[str, Any]]:
        """Run Cypher; rows as dicts (nodes/relationships as property dicts, no vectors).

        With ``read_only`` (the CLI's only mode) the query is first planned with
        ``EXPLAIN`` and its plan checked (:mod:`kg_memory.store.neo4j.guard`: read
        operators and allow-listed procedures only), then run in a READ session
        (the server refuses writes too) under a timeout and a row cap. With
        ``namespace`` ``$namespace`` is bound to it (a ``namespace`` parameter is
        refused) and every node the plan reads must be kept to it. It runs in its
        own session: it does not see writes of an open ``transaction()``.
        """
        if namespace is not None:
            if not read_only:
                raise QueryError("namespace-scoped Cypher is read-only")
            params = bind_namespace(params, namespace)
        params = dict(params or {})

        def write(tx: Tx) -> list[dict[str, Any]]:
            return [{k: _plain(v) for k, v in rec.items()} for rec in tx.run(query, params)]

        try:
            with self._session(READ_ACCESS if read_only else WRITE_ACCESS) as s:
                if read_only:
                    scoped = namespace is not None
                    return s.execute_read(
                        guarded_read(query, params, scoped=scoped, convert=_plain)
                    )
                return s.execute_write(write)
        except nx.ClientError as exc:
            raise _cypher_error(exc, self.uri, read_only) from exc
        except (nx.ServiceUnavailable, nx.SessionExpired) as exc:
            raise StoreUnavailableError(f"Neo4j at {self.uri} is unavailable: {exc}") from exc
        except (nx.Neo4jError, nx.DriverError) as exc:
            raise StoreError(f"Neo4j store at {self.uri}: {exc}") from exc


def _cypher_error(exc: nx.ClientError, uri: str, read_only: bool) -> KGMemoryError:
    """The kg-memory error for a client error of a user query."""
    code = exc.code or ""
    msg = exc.message or str(exc)
    if read_only and (
        "AccessMode" in code
        or "Forbidden" in code
        or ("write" in msg.lower() and "read" in msg.lower())
    ):
        return QueryError(f"kg-memory cypher is read-only: the server refused a write ({msg})")
    if isinstance(exc, nx.AuthError):
        return StoreUnavailableError(f"Neo4j at {uri} rejected the credentials: {msg}")
    if "TransactionTimedOut" in code or "Terminated" in code:
        return QueryError(f"the query ran out of time or memory and was stopped ({code}): {msg}")
    return QueryError(f"Cypher error ({code}): {msg}")


# -- query texts ------------------------------------------------------------------------


@functools.cache
def _keyword_cypher(conversation: bool, suffix: str = "", column: str = "text") -> str:
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
def _vector_cypher(conversation: bool, suffix: str = "") -> str:
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


def _bm25_rows(terms: list[str], n: int, avgdl: float, k: int, rows: Sequence[Any]) -> list[Hit]:
    return bm25_rank(terms, [(i, t) for i, t, _ in rows], n, avgdl, k, tokenized=True)


@dataclass(frozen=True)
class _VectorPlan:
    """A prepared vector search: the query, its unit list, the sizes behind ``k2``."""

    label: str
    query: np.ndarray
    unit: list[float]
    k: int
    dim: int
    need: int
    total: int
    k2: int


@functools.cache
def _node_query(label: str, has_vector: bool) -> str:
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
def _create_query(label: str) -> str:
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


def _id_rows(chunk: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """Rows of :data:`CREATE_EDGES` and :func:`_edge_query`: ``[src, dst, ns, type, props]``."""
    return [[r["src"], r["dst"], r["ns"], r["type"], r["props"]] for r in chunk]


@functools.cache
def _edge_query(edge_type: str) -> str:
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


__all__ = ["Neo4jStore", "lucene_queries", "vector_index_name"]
