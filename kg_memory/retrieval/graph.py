"""Graph retrieval: route across granularities, reflect on gaps, traverse to close them.

The algorithm (one call of :func:`graph_search`), in the order the code runs it:

1. **Retrieve turns** (:func:`~kg_memory.retrieval.steps.retrieve_turns`) with
   BM25 and dense cosine, to be fused by RRF (the v0 hybrid).
2. **Route across granularities** (MemGAS, :func:`~kg_memory.retrieval.router.route_layers`).
   Each higher-granularity layer -- events, notes, facts, hyperedges, session
   summaries -- is searched too, in the same batch as the turns (one round trip
   on a server). How much a layer is trusted is set by the *entropy* of its
   relevance distribution: a layer whose top scores stand out (low entropy) is
   confident and gets weight close to 1; a flat distribution (high entropy)
   says the layer cannot tell and is damped.
   Each hit passes its weighted reciprocal rank to the source turns it rests on
   (``EVIDENCED_BY`` / ``MEMBER`` edges), so every score ends on a turn with
   provenance. A coarse hit (a session summary, a topic) rests on many turns:
   it passes its rank only to those already among the turn candidates, best
   turn first, so that it says *where* to look and the turn search *which*.
   The turn and layer rankings are then fused by weighted RRF
   (:func:`~kg_memory.retrieval.steps.fuse`).
3. **Dialogue adjacency** (:func:`~kg_memory.retrieval.steps.dialogue_adjacency`):
   a question's answer often sits in the turn that replies to the matching one
   (less often in the turn it replies to), so each of the top turns passes a
   share of its score along ``NEXT_TURN``: ``reply_bonus`` forward,
   ``prompt_bonus`` backward.
4. **Linked notes** (:func:`~kg_memory.retrieval.steps.linked_notes`): the
   Zettelkasten links of the top turns' notes reach related turns in other
   sessions (multi-hop evidence is spread across sessions).
5. **Reflect and traverse** (MemR^3, :func:`~kg_memory.retrieval.steps.reflect`).
   The question's content terms are the aspects to cover. After ranking, the
   aspects no top-``k`` evidence mentions are the *gap*. For each, a focused
   keyword query (the aspect plus the question's covered aspects) proposes
   turns, which enter the ranking just above the ``k``-th turn. This repeats
   until the gap is closed or ``rounds`` run out.

Steps 3 and 4 run before reflection so that the gap check sees their turns.
The order is part of the measured behaviour: changing it changes rankings.
Measured on LoCoMo (``make bench``), each step adds recall@10 on top of the
hybrid; see the README's benchmark section.

Every step appends a line to the trace (``turns:``, ``router:``,
``adjacency:``, ``links:``, ``reflect N:``) when it has anything to do.
"""

from __future__ import annotations

import time

from kg_memory.retrieval.config import GraphConfig
from kg_memory.retrieval.evidence import Answer
from kg_memory.retrieval.hybrid import turn_evidence
from kg_memory.retrieval.ranking import Ranking
from kg_memory.retrieval.request import SearchRequest, SearchScope
from kg_memory.retrieval.router import COARSE, LAYERS, entropy_weight, layer_searches, route_layers
from kg_memory.retrieval.steps import (
    dialogue_adjacency,
    fuse,
    linked_notes,
    reflect,
    retrieve_turns,
    turn_searches,
)


def graph_search(
    scope: SearchScope, request: SearchRequest, config: GraphConfig | None = None
) -> Answer:
    """The top ``request.k`` turns for ``request.question``, found by the steps of the
    module docstring.

    Parameters
    ----------
    scope:
        Where the memory is (store and namespace), and the embedder that encodes
        the question for the dense searches.
    request:
        The question; its ``k`` is how many turns to return (and the depth the
        reflection checks); its ``conversation`` limits every search to one
        conversation (its source id).
    config:
        The knobs (:class:`GraphConfig`; the defaults are the ``graph`` preset).

    Returns an :class:`~kg_memory.retrieval.evidence.Answer` with the turns as
    evidence (best first, each with the retrievers or steps that found it), the
    trace of the steps, and the router weight of each fused ranking.
    """
    cfg = config or GraphConfig()
    question, k = request.question, request.k
    t0 = time.perf_counter()
    ranking = Ranking(scope.store, scope.namespace, request.conversation)
    qv = scope.embedder.embed([question])[0]
    searches = {
        **turn_searches(question, qv, max(cfg.candidates, k)),
        **layer_searches(question, qv, cfg),
    }
    results = ranking.search(searches)  # steps 1 and 2 in one batch
    retrieve_turns(ranking, results)
    route_layers(ranking, results, cfg)
    fuse(ranking, cfg.rrf_k)
    dialogue_adjacency(ranking, k, cfg.reply_bonus, cfg.prompt_bonus)
    linked_notes(ranking, cfg)
    reflect(ranking, question, k, cfg.rounds, cfg.gap_k)
    final = ranking.ranked()[: max(k, cfg.pool)]
    nodes = ranking.nodes(final)
    evidence = [
        turn_evidence(nodes[i], ranking.score[i], ranking.found_by.get(i, {}))
        for i in final
        if i in nodes
    ]
    seconds = time.perf_counter() - t0
    return Answer(question, evidence, ranking.trace, seconds, dict(ranking.weights))


__all__ = ["COARSE", "LAYERS", "GraphConfig", "entropy_weight", "graph_search"]
