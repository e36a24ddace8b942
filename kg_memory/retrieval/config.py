"""The graph search preset: every knob of :func:`kg_memory.retrieval.graph.graph_search`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GraphConfig:
    """Search preset for :func:`~kg_memory.retrieval.graph.graph_search`.

    The defaults are the measured ones (``make bench``); the comments say which
    step of the search each knob belongs to.
    """

    #: turns each turn retriever (BM25, dense) proposes (step 1; at least ``k``)
    candidates: int = 100
    #: the ``k`` of reciprocal rank fusion (steps 1-2)
    rrf_k: int = 60
    #: hits per layer and retriever (step 2)
    layer_k: int = 20
    #: layers searched besides turns (step 2). Topic is searchable too but not on by
    #: default: on LoCoMo it cost recall (the ablation is in :mod:`kg_memory.ingest.granularity`).
    layers: tuple[str, ...] = ("Event", "Note", "Fact", "Hyperedge", "Summary")
    #: factor on every layer's router weight (step 2)
    layer_weight: float = 1.0
    #: extra factor on the coarse layers' router weights (summaries, topics; step 2)
    coarse_weight: float = 0.5
    #: at most this many turn candidates a coarse hit passes its rank to (its best
    #: ones; ``None``: all of them, which measured best; step 2)
    coarse_turns: int | None = None
    #: reflection rounds (step 5)
    rounds: int = 2
    #: turns a gap's keyword query proposes (step 5)
    gap_k: int = 5
    #: share of a turn's score passed to the turn that replies to it (its NEXT_TURN; step 3)
    reply_bonus: float = 0.3
    #: share of a turn's score passed to the turn it replies to (step 3)
    prompt_bonus: float = 0.1
    #: share of a top turn's score passed to turns of notes its note LINKS_TO (step 4)
    link_bonus: float = 0.2
    #: how many top turns' notes are followed (step 4)
    link_from: int = 5
    #: scale ``link_bonus`` by the spread of the dense turn scores (step 4)
    link_routed: bool = True
    #: return this many turns (if more than ``k``) in the final order: the steps still
    #: work with ``k``; the learned ranker reads the longer list as its candidate pool
    pool: int = 0
