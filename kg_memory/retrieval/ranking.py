"""The state one graph search builds up: named rankings, fused scores, provenance, trace.

Every step of :func:`kg_memory.retrieval.graph.graph_search` reads and extends one
:class:`Ranking`; the store scope (store, namespace, conversation) travels with it,
so that a step needs nothing else but its own knobs.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from kg_memory.model import Hit, Node
from kg_memory.store.base import Search, Store

K = TypeVar("K", bound=Hashable)


@dataclass
class Ranking:
    """Turn candidates of one question and how each was found.

    ``rankings`` and ``weights`` are the named rankings fused by RRF (``bm25``,
    ``dense``, ``event.bm25``, ...); after fusion, ``score`` holds every
    candidate turn's score and ``found_by`` each retriever (or step) that
    found it with its rank there. ``fetched`` caches the nodes read so far.
    """

    store: Store
    namespace: str
    conversation: str | None = None
    rankings: dict[str, list[Hit]] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    score: dict[str, float] = field(default_factory=dict)
    found_by: dict[str, dict[str, int]] = field(default_factory=dict)
    trace: list[str] = field(default_factory=list)
    fetched: dict[str, Node] = field(default_factory=dict)

    def ranked(self) -> list[str]:
        """Candidate ids best first (ties by id)."""
        return sorted(self.score, key=lambda i: (-self.score[i], i))

    def credit(self, node_id: str, gain: float, via: str) -> None:
        """Add ``gain`` to a candidate's score; ``via`` joins its ``found_by`` (rank 1)."""
        self.score[node_id] = self.score.get(node_id, 0.0) + gain
        self.found_by.setdefault(node_id, {}).setdefault(via, 1)

    def search(self, searches: Mapping[K, Search]) -> dict[K, list[Hit]]:
        """Run independent searches as one :meth:`~kg_memory.store.base.Store.search_many` batch
        (one round trip on a server), scoped to the conversation."""
        hits = self.store.search_many(
            self.namespace, list(searches.values()), conversation=self.conversation
        )
        return dict(zip(searches, hits, strict=True))

    def nodes(self, ids: list[str]) -> dict[str, Node]:
        """Nodes by id, each read from the store once per search."""
        missing = [i for i in ids if i not in self.fetched]
        if missing:
            self.fetched.update((nd.id, nd) for nd in self.store.get_nodes(self.namespace, missing))
        return {i: self.fetched[i] for i in ids if i in self.fetched}
