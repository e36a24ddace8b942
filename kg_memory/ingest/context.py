"""What the ingest stages share while processing one conversation.

The pipeline builds an :class:`IngestContext` per conversation, runs the
enabled stages in order (each reads what earlier stages left in it and adds
nodes and edges), and finally writes ``ctx.nodes`` and ``ctx.edges`` to the
store in one transaction per input file.

A stage (:class:`kg_memory.ingest.stage.Stage`, registered in
:mod:`kg_memory.ingest.registry`) declares the :class:`Artifacts` fields it
reads and writes and implements ``run(ctx: IngestContext) -> None``.

Stages must be deterministic: the same conversation (and the same memory
before it) must produce the same nodes and edges, with content-derived ids
(:meth:`IngestContext.make_id`), so that re-running a stage changes nothing.
Every derived node links to its source turns with ``EVIDENCED_BY`` edges and
keeps their source ids in ``props["turn_ids"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kg_memory.embed import Embedder
from kg_memory.formats.model import RawConversation, RawSession, RawTurn
from kg_memory.ids import stable_id
from kg_memory.ingest.artifacts import Artifacts
from kg_memory.ingest.prior import StoredConversation
from kg_memory.model import Edge, Node, check_edge_type, check_label
from kg_memory.store.base import Store

#: Property names a node's ``props`` may not use: the stores keep these as columns.
RESERVED_PROPS = frozenset(
    {"id", "label", "namespace", "conversation", "text", "ntok", "embedding"}
)


@dataclass(slots=True)
class TurnRecord:
    """One turn as the stages see it."""

    id: str  # node id
    raw: RawTurn
    session: RawSession
    session_id: str  # node id of its Session
    index: int  # position in the whole conversation (0-based)
    date: str | None  # ISO date-time of its session
    index_text: str  # what keyword and vector search index


@dataclass
class IngestContext:
    """One conversation being ingested: its turns, the nodes and edges so far, the artifacts."""

    namespace: str
    conversation: RawConversation
    #: Node id of the Conversation node (``RawConversation.conversation_id`` is the source id).
    conversation_node_id: str
    store: Store
    embedder: Embedder
    turns: list[TurnRecord] = field(default_factory=list)
    #: (n_turns, dim) float32 unit vectors of ``TurnRecord.index_text``.
    turn_embeddings: np.ndarray | None = None
    #: spaCy ``Doc`` per turn (of the turn's own text, caption excluded), set by the parse stage.
    docs: list[Any] | None = None
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], Edge] = field(default_factory=dict)
    #: What stages leave for later stages (typed, one field per artifact).
    artifacts: Artifacts = field(default_factory=Artifacts)
    #: Incremental add: the stored conversation the turns are added to (``None``: whole ingest).
    #: ``turns`` then holds only the new turns; stages resolve and link against what is stored.
    prior: StoredConversation | None = None

    @property
    def cid(self) -> str:
        """The source conversation id (``conv-26``)."""
        return self.conversation.conversation_id

    def make_id(self, kind: str, *parts: object) -> str:
        """A content-derived id scoped to this namespace and conversation."""
        return stable_id(kind, self.namespace, self.cid, *parts)

    def add_node(
        self,
        node_id: str,
        label: str,
        *,
        text: str | None = None,
        props: dict[str, Any] | None = None,
        embedding: np.ndarray | None = None,
        conversation: str | bool | None = True,
    ) -> Node:
        """Add (or replace) a node; ``conversation=True`` scopes it to this conversation."""
        conv = self.cid if conversation is True else (conversation or None)
        if props and RESERVED_PROPS & props.keys():
            raise ValueError(f"reserved property name(s) {sorted(RESERVED_PROPS & props.keys())}")
        node = Node(
            id=node_id,
            label=check_label(label),
            namespace=self.namespace,
            conversation=conv,  # type: ignore[arg-type]
            text=text,
            props=props or {},
            embedding=embedding,
        )
        self.nodes[node_id] = node
        return node

    def add_edge(
        self, src: str, edge_type: str, dst: str, props: dict[str, Any] | None = None
    ) -> Edge:
        edge = Edge(src, check_edge_type(edge_type), dst, self.namespace, props or {})
        self.edges[edge.key] = edge
        return edge

    def evidence(self, node_id: str, turn_ids: Sequence[str]) -> None:
        """Link ``node_id`` to the Turn nodes with these node ids (provenance)."""
        for tid in turn_ids:
            self.add_edge(node_id, "EVIDENCED_BY", tid)

    def turn_by_source_id(self) -> dict[str, TurnRecord]:
        return {t.raw.turn_id: t for t in self.turns}
