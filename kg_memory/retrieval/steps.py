"""The steps of the graph search other than routing (:mod:`kg_memory.retrieval.router`).

Each step reads and extends one :class:`~kg_memory.retrieval.ranking.Ranking` and
appends a line to its trace; :func:`kg_memory.retrieval.graph.graph_search` runs
them in the order its docstring gives.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import numpy as np

from kg_memory.model import Hit
from kg_memory.retrieval.config import GraphConfig
from kg_memory.retrieval.fusion import rrf
from kg_memory.retrieval.ranking import Ranking
from kg_memory.retrieval.router import SearchKey, entropy_weight
from kg_memory.store.base import Search
from kg_memory.text import query_terms, tokenize


def turn_searches(question: str, vector: np.ndarray, n: int) -> dict[SearchKey, Search]:
    """Step 1's searches: the ``n`` best turns by BM25 and by dense cosine."""
    return {
        ("Turn", "bm25"): Search("Turn", n, query=question),
        ("Turn", "dense"): Search("Turn", n, vector=vector),
    }


def retrieve_turns(ranking: Ranking, results: Mapping[SearchKey, list[Hit]]) -> None:
    """Step 1: the turn rankings ``bm25`` and ``dense``, each at weight 1.

    Traces ``turns: bm25 N, dense M``.
    """
    bm25, dense = results[("Turn", "bm25")], results[("Turn", "dense")]
    ranking.rankings.update(bm25=bm25, dense=dense)
    ranking.weights.update(bm25=1.0, dense=1.0)
    ranking.trace.append(f"turns: bm25 {len(bm25)}, dense {len(dense)}")


def fuse(ranking: Ranking, rrf_k: int) -> None:
    """Score every candidate turn by weighted reciprocal rank fusion of the rankings so far."""
    for i, s, ranks in rrf(ranking.rankings, k=rrf_k, weights=ranking.weights):
        ranking.score[i] = s
        ranking.found_by[i] = ranks


def dialogue_adjacency(ranking: Ranking, k: int, reply_bonus: float, prompt_bonus: float) -> None:
    """Step 3: each of the top ``3 k`` turns passes a share of its score along ``NEXT_TURN``.

    A question's answer often sits in the turn that replies to the matching one
    (less often in the turn it replies to): ``reply_bonus`` of the score goes
    forward, ``prompt_bonus`` backward. Runs before reflection, so that the gap
    check sees it. Traces ``adjacency: N top turns -> M turns``.
    """
    if (reply_bonus <= 0 and prompt_bonus <= 0) or not ranking.score:
        return
    base = {i: ranking.score[i] for i in ranking.ranked()[: 3 * k]}
    reached: set[str] = set()
    for e in ranking.store.neighbours(ranking.namespace, list(base), edge_types=["NEXT_TURN"]):
        for a, b, share in ((e.src, e.dst, reply_bonus), (e.dst, e.src, prompt_bonus)):
            if a in base:
                ranking.credit(b, share * base[a], "adjacent")
                reached.add(b)
    ranking.trace.append(f"adjacency: {len(base)} top turns -> {len(reached)} turns")


def linked_notes(ranking: Ranking, cfg: GraphConfig) -> None:
    """Step 4: the Zettelkasten links of the top turns' notes reach related turns.

    Multi-hop evidence is spread across sessions: the notes of the top
    ``cfg.link_from`` turns follow their ``LINKS_TO`` edges, and each linked
    note's turn gains ``share`` of the best score among the turns linking to it.
    ``share`` is ``cfg.link_bonus``, scaled (``cfg.link_routed``) by the spread
    of the dense turn scores: a flat distribution (no single answer turn) asks
    for wider expansion, a peaked one for little. Traces ``links: ...`` when a
    link was found.
    """
    if cfg.link_bonus <= 0 or not ranking.score:
        return
    store, ns = ranking.store, ranking.namespace
    top = ranking.ranked()[: cfg.link_from]
    note_of: dict[str, str] = {}  # note id -> its turn among the top
    for e in store.neighbours(ns, top, edge_types=["EVIDENCED_BY"], direction="in"):
        if e.src.startswith("note:"):
            note_of[e.src] = e.dst
    linked: dict[str, list[str]] = defaultdict(list)  # linked note -> top turns linking to it
    for e in store.neighbours(ns, sorted(note_of), edge_types=["LINKS_TO"]):
        for a, b in ((e.src, e.dst), (e.dst, e.src)):
            if a in note_of:
                linked[b].append(note_of[a])
    if not linked:
        return
    dense = ranking.rankings["dense"]
    spread = 1.0 - entropy_weight([h.score for h in dense[: cfg.layer_k]])
    share = cfg.link_bonus * (spread if cfg.link_routed else 1.0)
    for e in store.neighbours(ns, sorted(linked), edge_types=["EVIDENCED_BY"], direction="out"):
        if e.dst.startswith("turn:"):
            ranking.credit(
                e.dst, share * max(ranking.score[t] for t in linked[e.src]), "linked-note"
            )
    ranking.trace.append(
        f"links: {len(note_of)} top notes -> {len(linked)} linked notes "
        f"(turn spread {spread:.2f}, share {share:.2f})"
    )


def evidence_gap(ranking: Ranking, aspects: list[str], k: int) -> list[str]:
    """The aspects (question terms) that no word of the top ``k`` turns mentions."""
    top = ranking.ranked()[:k]
    texts = {i: set(tokenize(nd.text or "")) for i, nd in ranking.nodes(top).items()}
    covered = set().union(*texts.values()) if texts else set()
    return [a for a in aspects if a not in covered]


def close_gap(ranking: Ranking, aspects: list[str], gap: list[str], k: int, gap_k: int) -> int:
    """One keyword query per missing aspect (plus the covered ones as anchors); its ``gap_k``
    turns enter just above the ``k``-th turn's score. Returns how many turns rose."""
    top = ranking.ranked()[:k]
    floor = ranking.score[top[-1]] if top else 0.0
    anchors = [a for a in aspects if a not in gap]
    found = ranking.search(
        {aspect: Search("Turn", gap_k, query=" ".join([aspect, *anchors])) for aspect in gap}
    )
    added = 0
    for aspect in gap:
        for rank, h in enumerate(found[aspect], 1):
            bonus = floor * (1.0 + 0.1 / rank)
            if ranking.score.get(h.id, 0.0) < bonus:
                ranking.score[h.id] = bonus
                ranking.found_by.setdefault(h.id, {})[f"gap:{aspect}"] = rank
                added += 1
    return added


def reflect(ranking: Ranking, question: str, k: int, rounds: int, gap_k: int) -> None:
    """Step 5: reflect and traverse (MemR^3) until every aspect has evidence.

    The question's content terms are the aspects to cover; those no top-``k``
    turn mentions are the gap (:func:`evidence_gap`), closed by focused keyword
    queries (:func:`close_gap`). Repeats for at most ``rounds`` rounds, and stops
    early when the gap is empty or a round adds nothing. Traces one line a round.
    """
    aspects = query_terms(question)
    for rnd in range(1, rounds + 1):
        gap = evidence_gap(ranking, aspects, k)
        if not gap:
            ranking.trace.append(f"reflect {rnd}: every aspect covered")
            return
        added = close_gap(ranking, aspects, gap, k, gap_k)
        ranking.trace.append(f"reflect {rnd}: gap {gap} -> {added} turns proposed")
        if not added:
            return
