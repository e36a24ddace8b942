"""The ``ranked`` preset: the graph's candidates re-ranked by the learned model.

1. analyse the question (type, subject names, category word, time range, cues);
2. gather the candidate pool (graph search with a large ``k`` plus the
   category generator);
3. featurise every candidate and score it with the LightGBM model;
4. return the top ``k``; the trace names each stage and every evidence turn's score,
   and with ``request.explain`` the three features that moved each score most (SHAP
   contributions).

Without a model file the preset is the graph fusion (the trace says so).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kg_memory.retrieval.evidence import Answer
from kg_memory.retrieval.graph import GraphConfig, graph_search
from kg_memory.retrieval.hybrid import turn_evidence
from kg_memory.retrieval.rank.candidates import FOCUS_K, POOL, gather
from kg_memory.retrieval.rank.features import FEATURES, featurize
from kg_memory.retrieval.rank.model import load_ranker, order
from kg_memory.retrieval.rank.question import analyse
from kg_memory.retrieval.request import SearchRequest, SearchScope

_GRAPH_RANK = FEATURES.index("graph_rank")


@dataclass(frozen=True)
class RankedConfig:
    """Search preset for :func:`ranked_search`."""

    pool: int = POOL
    focus_k: int = FOCUS_K
    #: the graph search that proposes the candidates (``None``: its defaults, returning the
    #: top ``pool`` turns -- what the model was trained on); also the fallback's preset
    graph: GraphConfig | None = None
    #: model file (``None``: the committed :data:`~kg_memory.retrieval.rank.model.MODEL_FILE`)
    model: Path | None = None
    #: features shown per evidence turn in the trace
    explain: int = 3


def ranked_search(
    scope: SearchScope, request: SearchRequest, config: RankedConfig | None = None
) -> Answer:
    """Top ``request.k`` turns for the question by the learned ranker (graph fusion without
    a model)."""
    cfg = config or RankedConfig()
    ranker = load_ranker(cfg.model)
    if ranker is None:
        ans = graph_search(scope, request, cfg.graph)  # None: the graph preset's defaults
        ans.trace.insert(0, "ranked: no model file; graph fusion")
        return ans
    question, k = request.question, request.k
    t0 = time.perf_counter()
    info = analyse(question)
    pool = gather(
        scope.store,
        scope.embedder,
        scope.namespace,
        info,
        conversation=request.conversation,
        size=max(cfg.pool, k),
        focus_k=cfg.focus_k,
        config=cfg.graph,
    )
    trace = [
        f"question: type {info.qtype}, names {list(info.names)}, category {info.focus!r}, "
        f"time cue {info.time_cue}, current {info.current}",
        *pool.trace,
        f"pool: {len(pool.ids)} candidate turns",
    ]
    X = featurize(pool)
    scores = ranker.score(X)
    top = order(scores, X[:, _GRAPH_RANK])[:k]
    # evidence scores in (0, 1): the logistic of the model's score (same order; the
    # trace shows the raw score)
    shown = 1.0 / (1.0 + np.exp(-scores))
    trace.append(f"ranker: {len(ranker.features)} features, {len(pool.ids)} turns scored")
    whys = ranker.contributions(X[top], cfg.explain) if request.explain else [[]] * len(top)
    evidence = []
    for row, why in zip(top, whys, strict=True):
        tid = pool.ids[row]
        ev = turn_evidence(pool.nodes[tid], float(shown[row]), pool.found_by.get(tid, {}))
        evidence.append(ev)
        line = f"  {','.join(ev.turn_ids)} score {scores[row]:.2f}"
        if why:
            line += ": " + ", ".join(f"{name} {value:+.2f}" for name, value in why)
        trace.append(line)
    return Answer(question, evidence, trace, time.perf_counter() - t0)
