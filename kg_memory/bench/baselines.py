"""Flat retrieval baselines over one conversation's turns (one turn = one document).

* :class:`FlatBM25` -- ``rank_bm25.BM25Okapi`` (default parameters) over
  :func:`kg_memory.text.tokenize` tokens of document and question; documents
  that share no term with the question (score <= 0) are not returned.
* :func:`dense_rank` -- exact cosine over precomputed unit vectors
  (:func:`kg_memory.store.base.rank_by_cosine`, ties by id).
* :func:`rrf_rank` -- reciprocal rank fusion (:func:`kg_memory.retrieval.fusion.rrf`,
  ``k = 60``) of several rankings.

Every function returns document ids best first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from kg_memory.model import Hit
from kg_memory.retrieval.fusion import RRF_K, rrf
from kg_memory.store.base import rank_by_cosine
from kg_memory.text import tokenize


class FlatBM25:
    """BM25 Okapi over a fixed list of documents.

    >>> bm = FlatBM25(["d1", "d2", "d3"], ["red apple pie", "green car", "red car red"])
    >>> bm.rank("which red car?", 5)
    ['d3', 'd2', 'd1']
    >>> bm.rank("blue", 5)
    []
    """

    def __init__(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        from rank_bm25 import BM25Okapi

        if len(ids) != len(texts):
            raise ValueError("ids and texts differ in length")
        self.ids = list(ids)
        # BM25Okapi divides by the corpus size and mean length: keep one token per empty text.
        self._bm25 = BM25Okapi([tokenize(t) or [""] for t in texts]) if texts else None

    def scores(self, query: str) -> np.ndarray:
        if self._bm25 is None:
            return np.zeros(0)
        return np.asarray(self._bm25.get_scores(tokenize(query)), dtype=np.float64)

    def rank(self, query: str, n: int) -> list[str]:
        """The ``n`` best documents with a positive score, ties by position."""
        s = self.scores(query)
        order = sorted((i for i in range(len(s)) if s[i] > 0), key=lambda i: (-s[i], i))
        return [self.ids[i] for i in order[:n]]


def dense_rank(ids: Sequence[str], matrix: np.ndarray, query: np.ndarray, n: int) -> list[str]:
    """The ``n`` documents most cosine-similar to ``query``.

    >>> m = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)
    >>> dense_rank(["a", "b", "c"], m, np.array([0.0, 1.0]), 2)
    ['b', 'c']
    """
    return [h.id for h in rank_by_cosine(query, ids, matrix, n)]


def rrf_rank(rankings: Mapping[str, Sequence[str]], n: int, *, k: int = RRF_K) -> list[str]:
    """Fuse rankings of ids by reciprocal rank (``sum 1 / (k + rank)``), ties by id.

    >>> rrf_rank({"bm25": ["x", "y"], "dense": ["y", "z"]}, 3)
    ['y', 'x', 'z']
    """
    fused = rrf({name: [Hit(i, 0.0) for i in ids] for name, ids in rankings.items()}, k=k)
    return [i for i, _, _ in fused[:n]]
