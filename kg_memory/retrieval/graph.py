"""Graph retrieval: route across granularities, reflect on gaps, traverse to close them.

The algorithm (one call of :func:`graph_search`):

1. **Retrieve turns** with BM25 and dense cosine, fused by RRF (the v0 hybrid).
2. **Route across granularities** (MemGAS). Each higher-granularity layer --
   events, notes, facts, hyperedges, session summaries -- is searched too. How
   much a layer is trusted is set by the *entropy* of its relevance
   distribution: a layer whose top scores stand out (low entropy) is confident
   and gets weight close to 1; a flat distribution (high entropy) says the
   layer cannot tell and is damped.
   Each hit passes its weighted reciprocal rank to the source turns it rests on
   (``EVIDENCED_BY`` / ``MEMBER`` edges), so every score ends on a turn with
   provenance. A coarse hit (a session summary, a topic) rests on many turns:
   it passes its rank only to those already among the turn candidates, best
   turn first, so that it says *where* to look and the turn search *which*.
3. **Reflect and traverse** (MemR^3). The question's content terms are the
   aspects to cover. After ranking, the aspects no top-``k`` evidence
   mentions are the *gap*. For each, a focused keyword query (the aspect plus
   the question's named entities) proposes turns; turns that are graph
   neighbours of the current evidence (same event, linked note, adjacent turn)
   are preferred. Found turns enter the ranking just below the evidence they
   complement. This repeats until the gap is closed or ``rounds`` run out.
4. **Dialogue adjacency**: a question's answer often sits in the turn that
   replies to the matching one (less often in the turn it replies to), so
   each of the top turns passes a share of its score along ``NEXT_TURN``:
   ``reply_bonus`` forward, ``prompt_bonus`` backward.

Measured on LoCoMo (``make bench``), each step adds recall@10 on top of the
hybrid; see the README's benchmark section.

Every step appends a line to the trace.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kg_memory.embed import Embedder
from kg_memory.model import Hit, Node
from kg_memory.retrieval.evidence import Answer
from kg_memory.retrieval.fusion import rrf
from kg_memory.retrieval.hybrid import turn_evidence
from kg_memory.store.base import Search, Store
from kg_memory.text import query_terms, tokenize

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


@dataclass(frozen=True)
class GraphConfig:
    """Search preset for :func:`graph_search`."""

    candidates: int = 100
    rrf_k: int = 60
    layer_k: int = 20
    #: Topic is searchable too but not on by default: on LoCoMo it cost recall (the
    #: ablation is in :mod:`kg_memory.ingest.granularity`).
    layers: tuple[str, ...] = ("Event", "Note", "Fact", "Hyperedge", "Summary")
    layer_weight: float = 1.0
    #: extra factor on the coarse layers' router weights (summaries, topics)
    coarse_weight: float = 0.5
    #: at most this many turn candidates a coarse hit passes its rank to (its best
    #: ones; ``None``: all of them, which measured best)
    coarse_turns: int | None = None
    rounds: int = 2
    gap_k: int = 5
    #: share of a turn's score passed to the turn that replies to it (its NEXT_TURN)
    reply_bonus: float = 0.3
    #: share of a turn's score passed to the turn it replies to
    prompt_bonus: float = 0.1
    #: share of a top turn's score passed to turns of notes its note LINKS_TO
    link_bonus: float = 0.2
    link_from: int = 5
    link_routed: bool = True
    #: return this many turns (if more than ``k``) in the final order: the steps still
    #: work with ``k``; the learned ranker reads the longer list as its candidate pool
    pool: int = 0


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


def _search_all(
    store: Store,
    namespace: str,
    searches: dict[tuple[str, str], Search],
    conversation: str | None,
) -> dict[tuple[str, str], list[Hit]]:
    """Run independent searches as one :meth:`~kg_memory.store.base.Store.search_many` batch."""
    hits = store.search_many(namespace, list(searches.values()), conversation=conversation)
    return dict(zip(searches, hits, strict=True))


def _norm(hits: Sequence[Hit]) -> list[float]:
    """Scores scaled to [0, 1] by the top score (BM25 has no fixed range)."""
    if not hits:
        return []
    top = hits[0].score or 1.0
    return [h.score / top for h in hits]


def graph_search(
    store: Store,
    embedder: Embedder,
    namespace: str,
    question: str,
    k: int,
    *,
    conversation: str | None = None,
    config: GraphConfig | None = None,
) -> Answer:
    cfg = config or GraphConfig()
    t0 = time.perf_counter()
    trace: list[str] = []
    n = max(cfg.candidates, k)
    qv = embedder.embed([question])[0]

    # 1. turns, and 2. the layers: independent searches, one batch (one round trip on a server)
    batch: dict[tuple[str, str], Search] = {
        ("Turn", "bm25"): Search("Turn", n, query=question),
        ("Turn", "dense"): Search("Turn", n, vector=qv),
    }
    for label in cfg.layers:
        batch[(label, "bm25")] = Search(label, cfg.layer_k, query=question)
        if LAYERS[label]:
            batch[(label, "dense")] = Search(label, cfg.layer_k, vector=qv)
    results = _search_all(store, namespace, batch, conversation)
    bm25, dense = results[("Turn", "bm25")], results[("Turn", "dense")]
    rankings: dict[str, list[Hit]] = {"bm25": bm25, "dense": dense}
    trace.append(f"turns: bm25 {len(bm25)}, dense {len(dense)}")

    # 2. layers, routed by entropy, projected onto their source turns
    layer_hits: dict[str, list[Hit]] = {}
    coarse_layers: set[str] = set()  # names of the layers in COARSE
    weights: dict[str, float] = {"bm25": 1.0, "dense": 1.0}
    for label in cfg.layers:
        for kind in ("bm25", "dense"):
            hits = results.get((label, kind), [])
            if not hits:
                continue
            scores = [h.score for h in hits] if kind == "dense" else _norm(hits)
            w = entropy_weight(scores, 0.1 if kind == "dense" else 0.2) * cfg.layer_weight
            name = f"{label.lower()}.{kind}"
            if label in COARSE:
                w *= cfg.coarse_weight
                coarse_layers.add(name)
            layer_hits[name] = hits
            weights[name] = w
    if layer_hits:
        src_ids = sorted({h.id for hits in layer_hits.values() for h in hits})
        to_turns: dict[str, list[str]] = defaultdict(list)
        for e in store.neighbours(
            namespace, src_ids, edge_types=["EVIDENCED_BY", "MEMBER"], direction="out"
        ):
            if e.dst.startswith("turn:"):
                to_turns[e.src].append(e.dst)
        turn_rrf: dict[str, float] = {}
        if coarse_layers:
            turn_rrf = {i: s for i, s, _ in rrf({"bm25": bm25, "dense": dense}, k=cfg.rrf_k)}
        for name, hits in layer_hits.items():
            projected: list[Hit] = []
            seen: set[str] = set()
            for h in hits:
                turns = to_turns.get(h.id, [])
                if name in coarse_layers:
                    candidates = (t for t in turns if t in turn_rrf)
                    turns = sorted(candidates, key=lambda t: (-turn_rrf[t], t))[: cfg.coarse_turns]
                else:
                    turns = sorted(turns)
                for tid in turns:
                    if tid not in seen:
                        seen.add(tid)
                        projected.append(Hit(tid, h.score))
            rankings[name] = projected
        trace.append("router: " + ", ".join(f"{name} w={weights[name]:.2f}" for name in layer_hits))

    fused = rrf(rankings, k=cfg.rrf_k, weights=weights)
    score = {i: s for i, s, _ in fused}
    found_by = {i: r for i, _, r in fused}

    # 4. dialogue adjacency (applied before reflection so that the gap check sees it)
    if (cfg.reply_bonus > 0 or cfg.prompt_bonus > 0) and fused:
        base = {i: s for i, s, _ in fused[: 3 * k]}
        for e in store.neighbours(namespace, list(base), edge_types=["NEXT_TURN"]):
            for a, b, share in (
                (e.src, e.dst, cfg.reply_bonus),
                (e.dst, e.src, cfg.prompt_bonus),
            ):
                if a in base:
                    score[b] = score.get(b, 0.0) + share * base[a]
                    found_by.setdefault(b, {}).setdefault("adjacent", 1)

    # 5. linked notes: the Zettelkasten links of the top turns' notes reach related turns
    #    in other sessions (multi-hop evidence is spread across sessions)
    if cfg.link_bonus > 0 and score:
        top = sorted(score, key=lambda i: (-score[i], i))[: cfg.link_from]
        note_of: dict[str, str] = {}
        for e in store.neighbours(namespace, top, edge_types=["EVIDENCED_BY"], direction="in"):
            if e.src.startswith("note:"):
                note_of[e.src] = e.dst
        linked: dict[str, list[str]] = defaultdict(list)
        for e in store.neighbours(namespace, sorted(note_of), edge_types=["LINKS_TO"]):
            for a, b in ((e.src, e.dst), (e.dst, e.src)):
                if a in note_of:
                    linked[b].append(note_of[a])
        if linked:
            # router: a flat turn relevance distribution (no single answer turn) asks for
            # wider expansion; a peaked one (one clear answer) for little
            spread = 1.0 - entropy_weight([h.score for h in dense[: cfg.layer_k]])
            share = cfg.link_bonus * (spread if cfg.link_routed else 1.0)
            for e in store.neighbours(
                namespace, sorted(linked), edge_types=["EVIDENCED_BY"], direction="out"
            ):
                if e.dst.startswith("turn:"):
                    gain = share * max(score[t] for t in linked[e.src])
                    score[e.dst] = score.get(e.dst, 0.0) + gain
                    found_by.setdefault(e.dst, {}).setdefault("linked-note", 1)
            trace.append(
                f"links: {len(note_of)} top notes -> {len(linked)} linked notes "
                f"(turn spread {spread:.2f}, share {share:.2f})"
            )

    def ranked() -> list[str]:
        return sorted(score, key=lambda i: (-score[i], i))

    fetched: dict[str, Node] = {}

    def nodes_of(ids: list[str]) -> dict[str, Node]:
        """Nodes by id, each fetched from the store once per search."""
        missing = [i for i in ids if i not in fetched]
        if missing:
            fetched.update((nd.id, nd) for nd in store.get_nodes(namespace, missing))
        return {i: fetched[i] for i in ids if i in fetched}

    # 3. reflect: which aspects lack evidence?
    aspects = query_terms(question)
    for rnd in range(cfg.rounds):
        top = ranked()[:k]
        texts = {i: set(tokenize(nd.text or "")) for i, nd in nodes_of(top).items()}
        covered = set().union(*texts.values()) if texts else set()
        gap = [a for a in aspects if a not in covered]
        if not gap:
            trace.append(f"reflect {rnd + 1}: every aspect covered")
            break
        floor = score[top[-1]] if top else 0.0
        added = 0
        anchors = [a for a in aspects if a not in gap]
        subqueries = {
            ("gap", aspect): Search("Turn", cfg.gap_k, query=" ".join([aspect, *anchors]))
            for aspect in gap
        }
        found = _search_all(store, namespace, subqueries, conversation)
        for aspect in gap:
            for rank, h in enumerate(found[("gap", aspect)], 1):
                bonus = floor * (1.0 + 0.1 / rank)
                if score.get(h.id, 0.0) < bonus:
                    score[h.id] = bonus
                    found_by.setdefault(h.id, {})[f"gap:{aspect}"] = rank
                    added += 1
        trace.append(f"reflect {rnd + 1}: gap {gap} -> {added} turns proposed")
        if not added:
            break

    final = ranked()[: max(k, cfg.pool)]
    nodes = nodes_of(final)
    evidence = [turn_evidence(nodes[i], score[i], found_by.get(i, {})) for i in final if i in nodes]
    return Answer(question, evidence, trace, time.perf_counter() - t0)
