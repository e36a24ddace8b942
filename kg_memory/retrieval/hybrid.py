"""Retrieval v0: hybrid keyword (BM25) + dense search over turns, fused by RRF."""

from __future__ import annotations

import time
from dataclasses import dataclass

from kg_memory.model import Node
from kg_memory.retrieval.evidence import Answer, Evidence
from kg_memory.retrieval.fusion import rrf
from kg_memory.retrieval.request import SearchRequest, SearchScope
from kg_memory.store.base import Search


@dataclass(frozen=True)
class HybridConfig:
    """A named search preset: how many candidates each retriever gives to fusion."""

    candidates: int = 100
    rrf_k: int = 60
    bm25_weight: float = 1.0
    dense_weight: float = 1.0


def turn_evidence(node: Node, score: float, found_by: dict[str, int]) -> Evidence:
    """A Turn node as ranked evidence: its text, source turn ids, session date and speaker."""
    p = node.props
    return Evidence(
        node_id=node.id,
        kind=node.label,
        text=node.text or "",
        turn_ids=list(p.get("turn_ids") or []),
        score=score,
        conversation=node.conversation,
        session_date=p.get("date_time"),
        speaker=p.get("speaker"),
        found_by=found_by,
    )


def hybrid_search(
    scope: SearchScope, request: SearchRequest, config: HybridConfig | None = None
) -> Answer:
    """Top ``request.k`` turns for the question by RRF of BM25 and dense cosine."""
    cfg = config or HybridConfig()
    question, k, store = request.question, request.k, scope.store
    t0 = time.perf_counter()
    n = max(cfg.candidates, k)
    qv = scope.embedder.embed([question])[0]
    bm25, dense = store.search_many(
        scope.namespace,
        [Search("Turn", n, query=question), Search("Turn", n, vector=qv)],
        conversation=request.conversation,
    )
    fused = rrf(
        {"bm25": bm25, "dense": dense},
        k=cfg.rrf_k,
        weights={"bm25": cfg.bm25_weight, "dense": cfg.dense_weight},
    )[:k]
    nodes = {nd.id: nd for nd in store.get_nodes(scope.namespace, [i for i, _, _ in fused])}
    evidence = [turn_evidence(nodes[i], s, r) for i, s, r in fused if i in nodes]
    trace = [
        f"bm25: {len(bm25)} turns; dense: {len(dense)} turns; "
        f"rrf(k={cfg.rrf_k}) -> top {len(evidence)}"
    ]
    return Answer(question, evidence, trace, time.perf_counter() - t0)
