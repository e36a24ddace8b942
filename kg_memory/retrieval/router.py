"""Step 2 of the graph search: route across granularities (MemGAS).

Each higher-granularity layer -- events, notes, facts, hyperedges, session
summaries, topics -- is searched beside the turns. How much a layer is trusted
is set by the *entropy* of its relevance distribution (:func:`entropy_weight`):
a layer whose top scores stand out is confident and gets a weight close to 1; a
flat distribution says the layer cannot tell and is damped. Each hit then
passes its weighted reciprocal rank to the source turns it rests on
(``EVIDENCED_BY`` / ``MEMBER`` edges, :func:`project_onto_turns`), so every
score ends on a turn with provenance.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from kg_memory.model import Hit
from kg_memory.retrieval.config import GraphConfig
from kg_memory.retrieval.fusion import rrf
from kg_memory.retrieval.ranking import Ranking
from kg_memory.store.base import Search

#: Layers searched besides turns -> whether their nodes carry embeddings of their own.
#: (Notes reuse their turn's embedding, so only their keyword side adds anything.)
LAYERS: dict[str, bool] = {
    "Event": True,
    "Note": False,
    "Fact": False,
    "Hyperedge": False,
    "Summary": True,
    "Topic": True,
}
#: Coarse layers (MemGAS granularities above the event): a hit stands for many turns,
#: so it passes its rank only to those of its turns that are already turn candidates,
#: best turn first (the layer says *where*, the turn search says *which*).
COARSE: frozenset[str] = frozenset({"Summary", "Topic"})

SearchKey = tuple[str, str]  # (label, "bm25" | "dense")


def entropy_weight(scores: Sequence[float], temperature: float = 0.1) -> float:
    """Router weight of a layer from its relevance distribution: ``1 - H(p)/log(n)``.

    ``p = softmax(scores / temperature)``. A peaked distribution (one clear
    match) gives a weight near 1, a flat one near 0.

    >>> round(entropy_weight([0.9, 0.2, 0.1, 0.1]), 2)
    0.99
    >>> round(entropy_weight([0.6, 0.55, 0.5, 0.45]), 1)
    0.1
    >>> round(entropy_weight([0.5, 0.5, 0.5, 0.5]), 2)
    0.0
    """
    n = len(scores)
    if n < 2:
        return 1.0 if n == 1 else 0.0
    s = np.asarray(scores, dtype=np.float64) / temperature
    p = np.exp(s - s.max())
    p /= p.sum()
    h = float(-(p * np.log(p + 1e-12)).sum())
    return max(0.0, 1.0 - h / math.log(n))


def normalised(hits: Sequence[Hit]) -> list[float]:
    """Scores scaled to [0, 1] by the top score (BM25 has no fixed range).

    >>> normalised([Hit("a", 8.0), Hit("b", 2.0)])
    [1.0, 0.25]
    """
    if not hits:
        return []
    top = hits[0].score or 1.0
    return [h.score / top for h in hits]


def layer_searches(question: str, vector: np.ndarray, cfg: GraphConfig) -> dict[SearchKey, Search]:
    """The layers' searches: BM25 on each, dense on those with embeddings of their own."""
    searches: dict[SearchKey, Search] = {}
    for label in cfg.layers:
        searches[(label, "bm25")] = Search(label, cfg.layer_k, query=question)
        if LAYERS[label]:
            searches[(label, "dense")] = Search(label, cfg.layer_k, vector=vector)
    return searches


def layer_weights(
    results: Mapping[SearchKey, list[Hit]], cfg: GraphConfig
) -> tuple[dict[str, list[Hit]], dict[str, float]]:
    """Each layer ranking with hits (``event.bm25``, ...) and its router weight.

    Dense scores are cosines, weighed at temperature 0.1; BM25 scores are first
    :func:`normalised`, at temperature 0.2. Coarse layers are damped by
    ``cfg.coarse_weight``.
    """
    hits_of: dict[str, list[Hit]] = {}
    weights: dict[str, float] = {}
    for label in cfg.layers:
        for kind in ("bm25", "dense"):
            hits = results.get((label, kind), [])
            if not hits:
                continue
            scores = [h.score for h in hits] if kind == "dense" else normalised(hits)
            w = entropy_weight(scores, 0.1 if kind == "dense" else 0.2) * cfg.layer_weight
            if label in COARSE:
                w *= cfg.coarse_weight
            name = f"{label.lower()}.{kind}"
            hits_of[name] = hits
            weights[name] = w
    return hits_of, weights


def project_onto_turns(
    hits: Sequence[Hit],
    turns_of: Mapping[str, list[str]],
    turn_rank: Mapping[str, float] | None = None,
    limit: int | None = None,
) -> list[Hit]:
    """A layer's ranking as a ranking of turns: each hit's source turns, in hit order.

    A fine hit passes its score to all its turns (by id). A coarse hit (with
    ``turn_rank``, the turns' fused rank scores) passes it only to those of its
    turns that are turn candidates, best first, at most ``limit`` of them. A turn
    keeps its first (best) place.

    >>> turns = {"event:1": ["turn:b", "turn:a"], "event:2": ["turn:a", "turn:c"]}
    >>> [h.id for h in project_onto_turns([Hit("event:1", 2.0), Hit("event:2", 1.0)], turns)]
    ['turn:a', 'turn:b', 'turn:c']
    >>> rank = {"turn:c": 0.5, "turn:a": 0.2}
    >>> [h.id for h in project_onto_turns([Hit("event:2", 1.0)], turns, rank)]
    ['turn:c', 'turn:a']
    """
    projected: list[Hit] = []
    seen: set[str] = set()
    for h in hits:
        turns = turns_of.get(h.id, [])
        if turn_rank is not None:
            candidates = (t for t in turns if t in turn_rank)
            turns = sorted(candidates, key=lambda t: (-turn_rank[t], t))[:limit]
        else:
            turns = sorted(turns)
        for tid in turns:
            if tid not in seen:
                seen.add(tid)
                projected.append(Hit(tid, h.score))
    return projected


def route_layers(
    ranking: Ranking, results: Mapping[SearchKey, list[Hit]], cfg: GraphConfig
) -> None:
    """Step 2: add each layer's ranking, projected onto its source turns, with its router weight.

    Needs the turn rankings of step 1 (coarse layers rank their turns by the
    turns' own fusion). Traces ``router: event.bm25 w=0.42, ...``.
    """
    hits_of, weights = layer_weights(results, cfg)
    if not hits_of:
        return
    src_ids = sorted({h.id for hits in hits_of.values() for h in hits})
    turns_of: dict[str, list[str]] = defaultdict(list)
    for e in ranking.store.neighbours(
        ranking.namespace, src_ids, edge_types=["EVIDENCED_BY", "MEMBER"], direction="out"
    ):
        if e.dst.startswith("turn:"):
            turns_of[e.src].append(e.dst)
    coarse = {f"{label.lower()}.{kind}" for label in COARSE for kind in ("bm25", "dense")}
    turn_rank: dict[str, float] = {}
    if coarse & set(hits_of):
        turns_only = {"bm25": ranking.rankings["bm25"], "dense": ranking.rankings["dense"]}
        turn_rank = {i: s for i, s, _ in rrf(turns_only, k=cfg.rrf_k)}
    for name, hits in hits_of.items():
        if name in coarse:
            projected = project_onto_turns(hits, turns_of, turn_rank, cfg.coarse_turns)
        else:
            projected = project_onto_turns(hits, turns_of)
        ranking.rankings[name] = projected
    ranking.weights.update(weights)
    ranking.trace.append("router: " + ", ".join(f"{n} w={weights[n]:.2f}" for n in hits_of))
