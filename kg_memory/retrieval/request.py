"""What every search takes: where to search (:class:`SearchScope`) and what (:class:`SearchRequest`).

Every retrieval entry point -- :func:`~kg_memory.retrieval.presets.search`,
:func:`~kg_memory.retrieval.graph.graph_search`,
:func:`~kg_memory.retrieval.hybrid.hybrid_search`,
:func:`~kg_memory.retrieval.rank.search.ranked_search` -- is called as
``fn(scope, request, config)``. :class:`SearchRequest` is the one typed query
object the front ends build: :meth:`kg_memory.Memory.search` takes it, the CLI's
``ask``, the server's ``recall`` and the bench build one per question.

>>> SearchRequest("Where did Maya adopt her puppy?", k=5, conversation="demo-1")
SearchRequest(question='Where did Maya adopt her puppy?', k=5, conversation='demo-1', explain=False)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kg_memory.embed import Embedder
from kg_memory.store.base import Store


@dataclass(frozen=True)
class SearchRequest:
    """One question: its text, how many turns to return, and the conversation it is limited to.

    ``conversation`` is a conversation's source id (``None``: the whole namespace).
    ``explain`` adds to the trace, for each evidence turn, the features that moved the
    learned ranker's score most (SHAP values: about a tenth of a ranked ask's time, so
    paid only when asked; ``ask --trace`` asks).
    """

    question: str
    k: int = 10
    conversation: str | None = None
    explain: bool = False

    def with_k(self, k: int) -> SearchRequest:
        """The same question asking for ``k`` turns."""
        return replace(self, k=k)


@dataclass(frozen=True)
class SearchScope:
    """Where a search runs: a store, the embedder its vectors came from, and a namespace."""

    store: Store
    embedder: Embedder
    namespace: str


__all__ = ["SearchRequest", "SearchScope"]
