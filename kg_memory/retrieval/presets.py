"""Named search presets (what ``kg-memory ask --preset`` chooses from).

``ranked`` (default)
    :func:`kg_memory.retrieval.rank.search.ranked_search`: the graph search's
    candidates (and the category generator's) re-ranked by the learned
    LightGBM model committed in ``kg_memory/retrieval/rank/model.txt``; without
    that file it is the ``graph`` preset.
``graph``
    :func:`kg_memory.retrieval.graph.graph_search`: turns plus the event,
    note, fact, hyperedge and session-summary layers weighted by the entropy
    router, dialogue adjacency, and reflection rounds that close gaps in the
    evidence.
``hybrid``
    :func:`kg_memory.retrieval.hybrid.hybrid_search`: BM25 + dense over turns,
    fused by RRF (retrieval v0; the flat reference).
"""

from __future__ import annotations

from kg_memory.errors import ConfigError
from kg_memory.limits import check_question
from kg_memory.retrieval.evidence import Answer
from kg_memory.retrieval.graph import GraphConfig, graph_search
from kg_memory.retrieval.hybrid import HybridConfig, hybrid_search
from kg_memory.retrieval.rank.search import RankedConfig, ranked_search
from kg_memory.retrieval.request import SearchRequest, SearchScope

PRESETS: dict[str, GraphConfig | HybridConfig | RankedConfig] = {
    "ranked": RankedConfig(),
    "graph": GraphConfig(),
    "hybrid": HybridConfig(),
}
DEFAULT_PRESET = "ranked"


def search(scope: SearchScope, request: SearchRequest, preset: str = DEFAULT_PRESET) -> Answer:
    """Run the named preset (a question over :data:`~kg_memory.limits.MAX_QUESTION_CHARS`
    characters is refused)."""
    check_question(request.question)
    try:
        cfg = PRESETS[preset]
    except KeyError:
        raise ConfigError(f"unknown preset {preset!r}; available: {', '.join(PRESETS)}") from None
    with scope.store.reading():  # one read transaction per question on a server store
        if isinstance(cfg, RankedConfig):
            return ranked_search(scope, request, cfg)
        if isinstance(cfg, GraphConfig):
            return graph_search(scope, request, cfg)
        return hybrid_search(scope, request, cfg)
