"""The memory's data model: nodes, edges and the allow-lists of their kinds.

Every node and edge carries a ``namespace`` (one user's memory). Node labels and
edge types are closed sets: backends interpolate them into Cypher only after
checking them against these allow-lists (values always travel as parameters).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kg_memory.errors import QueryError

#: Node labels kg-memory writes. Order is the display order of ``stats``.
NODE_LABELS: tuple[str, ...] = (
    "Conversation",
    "Session",
    "Turn",
    "Entity",
    "Fact",
    "TimeInterval",
    "Event",
    "Note",
    "NoteRevision",
    "Hyperedge",
    "Summary",
    "Topic",
)

#: Edge (relationship) types kg-memory writes.
EDGE_TYPES: tuple[str, ...] = (
    "HAS_SESSION",  # Conversation -> Session
    "HAS_TURN",  # Session -> Turn
    "NEXT_TURN",  # Turn -> Turn (within a session)
    "NEXT_SESSION",  # Session -> Session
    "MENTIONS",  # Turn -> Entity
    "SPOKEN_BY",  # Turn -> Entity (speaker as Person)
    "ADDRESSES",  # Turn -> Entity (addressee)
    "SUBJECT",  # Fact -> Entity
    "OBJECT",  # Fact -> Entity
    "RELATED_TO",  # Entity -> Entity (a fact as an edge, predicate in props)
    "EVIDENCED_BY",  # Fact/Event/Note/Hyperedge/Summary/Topic -> Turn (provenance)
    "DURING",  # Fact/Event -> TimeInterval
    "NEXT",  # Event -> Event (time order)
    "CAUSES",  # Event -> Event
    "SUBEVENT_OF",  # Event -> Event
    "PARTICIPANT",  # Event -> Entity
    "LOCATED_AT",  # Event -> Entity (place)
    "LINKS_TO",  # Note -> Note
    "REVISION_OF",  # NoteRevision -> Note
    "MEMBER",  # Hyperedge -> any member
    "SUMMARIZES",  # Summary -> Session
    "IN_TOPIC",  # Turn/Session/Summary -> Topic
)

_IDENT = re.compile(r"^[A-Z][A-Za-z_]*$")


def check_label(label: str) -> str:
    """Return ``label`` if it is an allowed node label, else raise :class:`QueryError`.

    >>> check_label("Turn")
    'Turn'
    """
    if label not in NODE_LABELS or not _IDENT.match(label):
        raise QueryError(f"unknown node label {label!r}; allowed: {', '.join(NODE_LABELS)}")
    return label


def check_edge_type(edge_type: str) -> str:
    """Return ``edge_type`` if it is an allowed relationship type, else raise."""
    if edge_type not in EDGE_TYPES or not _IDENT.match(edge_type):
        raise QueryError(f"unknown edge type {edge_type!r}; allowed: {', '.join(EDGE_TYPES)}")
    return edge_type


@dataclass(frozen=True, slots=True)
class Node:
    """A node of the memory graph.

    Attributes
    ----------
    id:
        Content-derived, globally unique (it includes the namespace).
    label:
        One of :data:`NODE_LABELS`.
    namespace:
        The memory (user) the node belongs to.
    conversation:
        Conversation id for nodes derived from one conversation, else ``None``.
    text:
        The text indexed for keyword search (``None``: not keyword-searchable).
    props:
        JSON-serialisable properties (str, int, float, bool, None, lists of those).
    embedding:
        float32 vector (``None``: not vector-searchable).
    """

    id: str
    label: str
    namespace: str
    conversation: str | None = None
    text: str | None = None
    props: Mapping[str, Any] = field(default_factory=dict)
    embedding: np.ndarray | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Edge:
    """A directed, typed edge. ``(src, type, dst)`` identifies it."""

    src: str
    type: str
    dst: str
    namespace: str
    props: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.src, self.type, self.dst)


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: a node id and its score (higher is better)."""

    id: str
    score: float


@dataclass(slots=True)
class Stats:
    """Counts per node label and edge type."""

    nodes: dict[str, int] = field(default_factory=dict)
    edges: dict[str, int] = field(default_factory=dict)

    @property
    def total_nodes(self) -> int:
        return sum(self.nodes.values())

    @property
    def total_edges(self) -> int:
        return sum(self.edges.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "nodes": dict(sorted(self.nodes.items())),
            "edges": dict(sorted(self.edges.items())),
            "total_nodes": self.total_nodes,
            "total_edges": self.total_edges,
        }
