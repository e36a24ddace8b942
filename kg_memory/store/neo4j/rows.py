"""Rows and properties: kg-memory nodes and edges to Neo4j parameters and back.

Each prop Neo4j holds exactly (a scalar, a non-empty homogeneous list) is a
plain property, so ``t.speaker`` works in Cypher; the rest (``None``, maps,
mixed or empty lists, reserved names) is one JSON string, ``props_extra``, only
where needed. Reading joins the two. Dates (the props of :data:`TEMPORAL_PROPS`
holding a canonical ISO date or date-time) are native Neo4j ``DATE`` /
``LOCAL DATETIME`` / ``ZONED DATETIME`` values, so Cypher's temporal functions
work on them; they read back as the same ISO strings. Vectors are stored twice: ``embedding``
(``LIST<FLOAT>``, what the vector index and user Cypher see) and
``embedding_f32`` (the exact float32 bytes, what the store reads back).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
from neo4j import time as neo4j_time
from neo4j.graph import Node as GraphNode
from neo4j.graph import Path as GraphPath
from neo4j.graph import Relationship as GraphRelationship

from kg_memory.errors import StoreError
from kg_memory.model import Edge, Node
from kg_memory.store.common import decode_vector, dump_props, encode_vector, tokenized
from kg_memory.store.neo4j.fulltext import fscope

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
        "embedding",
        "embedding_f32",
        "vdim",
    }
)
#: Properties kg-memory itself sets on relationships.
RESERVED_EDGE_PROPS = frozenset({"namespace", "props_extra"})
#: Internal properties left out of :meth:`Neo4jStore.cypher` results.
HIDDEN_PROPS = frozenset({"embedding", "embedding_f32", "vdim", "ftext", "fscope", "props_extra"})

#: Props holding dates: stored as native temporal values when their string is canonical ISO.
TEMPORAL_PROPS = frozenset({"date_time", "date", "begin", "end"})

_INT64 = (-(2**63), 2**63 - 1)
_LIST_KINDS = frozenset({bool, str, float, int})


class Quiet(list):  # type: ignore[type-arg]
    """A list parameter with a constant-time ``repr``.

    The driver formats every RUN message for its debug log eagerly, whether or
    not debug logging is on (``" ".join(map(repr, fields))`` in neo4j 6.4):
    for a batch of 1,000 384-d vectors that alone costs about half a second.
    Packing is unchanged (a list subclass packs as a list).
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} items>"


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


def to_temporal(value: Any) -> Any:
    """``value`` as a native date or date-time if it is a canonical ISO string, else itself.

    Canonical means Python writes it back identically (``isoformat()``), so that
    :func:`from_temporal` restores the exact string; anything else stays a string.

    >>> to_temporal("2023-05-08"), to_temporal("2023-05-08T13:56:00")
    (datetime.date(2023, 5, 8), datetime.datetime(2023, 5, 8, 13, 56))
    >>> to_temporal("2023-05-08T13:56"), to_temporal("8 May 2023"), to_temporal(3)
    ('2023-05-08T13:56', '8 May 2023', 3)
    """
    if type(value) is not str or not 10 <= len(value) <= 32 or not value[:4].isdigit():
        return value
    try:
        parsed: date = (
            date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        )
    except ValueError:
        return value
    return parsed if parsed.isoformat() == value else value


def from_temporal(value: Any) -> Any:
    """A Neo4j temporal value read back as the ISO string :func:`to_temporal` took.

    >>> from_temporal(neo4j_time.Date(2023, 5, 8)), from_temporal("x")
    ('2023-05-08', 'x')
    >>> from_temporal(neo4j_time.DateTime(2023, 5, 8, 13, 56))
    '2023-05-08T13:56:00'
    """
    if isinstance(value, neo4j_time.Date | neo4j_time.DateTime | neo4j_time.Time):
        return value.to_native().isoformat()
    return value


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
            plain[k] = to_temporal(v) if k in TEMPORAL_PROPS else v
        else:
            extra[k] = v
    if extra:
        plain["props_extra"] = dump_props(extra, what)
    return plain


def joined_props(plain: Sequence[Sequence[Any]] | None, extra: str | None) -> dict[str, Any]:
    """The props of a node or edge from its plain ``[key, value]`` pairs and ``props_extra``."""
    props = {k: from_temporal(v) for k, v in plain or ()}
    if extra:
        props.update(json.loads(extra))
    return dict(sorted(props.items()))


def node_props(n: Node) -> dict[str, Any]:
    """A node's own props as properties (raises on props that cannot be stored)."""
    return _split_props(n.props, RESERVED_NODE_PROPS, lambda: f"node {n.id}")


def node_row(n: Node, own: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A node's ``UNWIND`` row; ``own`` is :func:`node_props` of it when already known."""
    props = dict(node_props(n) if own is None else own)
    props.update(id=n.id, namespace=n.namespace, label=n.label)
    if n.conversation is not None:
        props["conversation"] = n.conversation
    if n.text is not None:
        ftext, ntok = tokenized(n.text)
        props.update(
            text=n.text,
            ntok=ntok,
            ftext=ftext,
            fscope=fscope(n.namespace, n.label, n.conversation),
        )
    row: dict[str, Any] = {"id": n.id, "props": props}
    if n.embedding is not None:
        vec = np.asarray(n.embedding, dtype=np.float32).ravel()
        if vec.size == 0:
            raise StoreError(f"node {n.id}: empty embedding")
        props["embedding"] = vec.astype(np.float64).tolist()
        props["embedding_f32"] = encode_vector(vec)
        props["vdim"] = int(vec.size)
    return row


def edge_row(e: Edge) -> dict[str, Any]:
    """An edge's ``UNWIND`` row: ends, type, namespace (of the ends) and properties."""
    props = _split_props(e.props, RESERVED_EDGE_PROPS, lambda: f"edge {e.key}")
    return {"src": e.src, "dst": e.dst, "type": e.type, "ns": e.namespace, "props": props}


def node_rows(
    nodes: Mapping[str, Node], own: Mapping[str, Mapping[str, Any]], ids: Sequence[str]
) -> list[dict[str, Any]]:
    """Rows of :func:`~kg_memory.store.neo4j.cypher.node_query` for ``ids``."""
    return [node_row(nodes[i], own[i]) for i in ids]


def new_rows(
    nodes: Mapping[str, Node], own: Mapping[str, Mapping[str, Any]], ids: Sequence[str]
) -> list[list[Any]]:
    """Rows of :func:`~kg_memory.store.neo4j.cypher.create_query`: ``[id, props]``
    (a list, so that Cypher reads no map key)."""
    return [[i, node_row(nodes[i], own[i])["props"]] for i in ids]


def id_rows(chunk: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """Rows of ``CREATE_EDGES`` and ``edge_query``: ``[src, dst, ns, type, props]``."""
    return [[r["src"], r["dst"], r["ns"], r["type"], r["props"]] for r in chunk]


def stored_vector(raw: bytes | None, values: list[float] | None) -> np.ndarray | None:
    """A node's vector from its float32 bytes, else from its list (nodes written by other tools)."""
    if raw is not None:
        return decode_vector(raw)
    if values is not None:
        return np.asarray(values, dtype=np.float32)
    return None


def to_node(rec: Mapping[str, Any], with_embeddings: bool) -> Node:
    """A :class:`~kg_memory.model.Node` from a record of ``cypher.node_return``."""
    emb = None
    if with_embeddings:
        emb = stored_vector(rec.get("embedding_f32"), rec.get("embedding"))
    return Node(
        id=rec["id"],
        label=rec["label"],
        namespace=rec["namespace"],
        conversation=rec.get("conversation"),
        text=rec.get("text"),
        props=joined_props(rec["plain"], rec["extra"]),
        embedding=emb,
    )


def plain_value(value: Any) -> Any:
    """A query result value as plain Python (graph entities as dicts, no vectors)."""
    if isinstance(value, GraphNode):
        out = {k: plain_value(v) for k, v in value.items() if k not in HIDDEN_PROPS}
        out["_labels"] = sorted(value.labels)
        return out
    if isinstance(value, GraphRelationship):
        out = {k: plain_value(v) for k, v in value.items() if k not in HIDDEN_PROPS}
        out["_type"] = value.type
        # The ends' ids are known when the result also carries the end nodes (paths).
        for key, end in (("_src", value.start_node), ("_dst", value.end_node)):
            if end is not None and end.get("id") is not None:
                out[key] = end.get("id")
        return out
    if isinstance(value, GraphPath):
        return {
            "nodes": [plain_value(n) for n in value.nodes],
            "relationships": [plain_value(r) for r in value.relationships],
        }
    if isinstance(value, list | tuple):
        return [plain_value(v) for v in value]
    if isinstance(value, dict):
        return {k: plain_value(v) for k, v in value.items()}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, neo4j_time.Date | neo4j_time.DateTime | neo4j_time.Time):
        return from_temporal(value)  # as stored: '2023-05-08T13:56:00', not ...00.000000000
    iso = getattr(value, "iso_format", None) or getattr(value, "isoformat", None)
    if callable(iso):
        return iso()
    return str(value)
