"""Rank fusion."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kg_memory.model import Hit

RRF_K = 60


def rrf(
    rankings: Mapping[str, Sequence[Hit]],
    *,
    k: int = RRF_K,
    weights: Mapping[str, float] | None = None,
) -> list[tuple[str, float, dict[str, int]]]:
    """Reciprocal rank fusion (Cormack et al., 2009).

    Each id scores ``sum_r w_r / (k + rank_r)`` over the rankings it appears in.
    Returns ``(id, score, {ranking name: rank})`` best first, ties by id.

    >>> a = [Hit("x", 9.0), Hit("y", 5.0)]
    >>> b = [Hit("y", 0.9), Hit("z", 0.8)]
    >>> [(i, r) for i, _, r in rrf({"bm25": a, "dense": b})]
    [('y', {'bm25': 2, 'dense': 1}), ('x', {'bm25': 1}), ('z', {'dense': 2})]
    """
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for name, hits in rankings.items():
        w = 1.0 if weights is None else weights.get(name, 1.0)
        for rank, hit in enumerate(hits, start=1):
            scores[hit.id] = scores.get(hit.id, 0.0) + w / (k + rank)
            ranks.setdefault(hit.id, {})[name] = rank
    order = sorted(scores, key=lambda i: (-scores[i], i))
    return [(i, scores[i], ranks[i]) for i in order]
