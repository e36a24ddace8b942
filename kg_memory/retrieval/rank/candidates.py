"""The candidate pool: ~150 turns per question from every signal the graph offers.

:func:`gather` runs the graph search (:func:`kg_memory.retrieval.graph.graph_search`)
with a large ``k`` -- its BM25, dense, layer projections, adjacency, linked notes
and gap search, each turn with its ``found_by`` ranks -- and adds the
**category generator**: a dense search with the question's category word alone
("books", "instruments"), which finds the turns that name *members* of the
category ("Charlotte's Web", "clarinet") even when they share no word with
the question (multi-hop questions of the form "What X does P ...?").

The **subject aggregation** then adds the turns where the question's subject
(a PERSON entity node, :mod:`~kg_memory.retrieval.rank.entities`) speaks or is
mentioned and that relate most to what is asked: the subject's turns ranked by
cosine with the *content query* (the question without its names, which every
turn of the subject's would match) plus cosine with the category word. A question that
coordinates subjects ("What have Jo and Nate both seen?") is decomposed into
one sub-question per subject, and each subject's turns are ranked by its own
sub-question; the pools are merged.

It then reads, in a few batched store calls, what the features need: the
turns with their embeddings, their dialogue neighbours, the time intervals
they mention, and the document frequencies of the question's terms.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from kg_memory.embed import CachedEmbedder, Embedder
from kg_memory.model import Node
from kg_memory.retrieval.graph import GraphConfig, graph_search
from kg_memory.retrieval.rank.entities import EntityLinks, link
from kg_memory.retrieval.rank.question import QuestionInfo
from kg_memory.retrieval.request import SearchRequest, SearchScope
from kg_memory.store.base import Store

#: turns taken from the graph search
POOL = 150
#: the ``k`` the graph search's own steps (adjacency, reflection) work with
STEP_K = 20
#: turns whose cosine with the question (and the category word) is read: the rest count
#: as unrelated (missing)
COSINE_K = 2000
#: turns the category generator adds (its dense search with the category word)
FOCUS_K = 40
#: turns the subject aggregation adds (split between coordinated subjects)
SUBJECT_K = 60
#: version of the candidate generation (part of the feature cache key: a change to what
#: :func:`gather` proposes must not reuse matrices built by the previous code)
VERSION = 2


@dataclass
class Pool:
    """A question's candidate turns and what the features read about them."""

    info: QuestionInfo
    ids: list[str]
    nodes: dict[str, Node]
    graph_rank: dict[str, int]
    graph_score: dict[str, float]
    found_by: dict[str, dict[str, int]]
    weights: dict[str, float]
    qv: np.ndarray
    fv: np.ndarray | None
    #: cosine with the question / with the category word, by turn node id
    cos_q: dict[str, float] = field(default_factory=dict)
    cos_f: dict[str, float] = field(default_factory=dict)
    #: cosine with the content query (the question without its names), by turn node id
    cos_c: dict[str, float] = field(default_factory=dict)
    prev: dict[str, str] = field(default_factory=dict)
    next: dict[str, str] = field(default_factory=dict)
    context: dict[str, Node] = field(default_factory=dict)
    times: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)
    trace: list[str] = field(default_factory=list)
    #: the question's entity nodes and their turns
    links: EntityLinks = field(default_factory=EntityLinks)
    #: a subject's turn -> its rank among that subject's turns (by relevance)
    subject_rank: dict[str, int] = field(default_factory=dict)
    #: a coordinated subject's turn -> its cosine with that subject's sub-question
    cos_sub: dict[str, float] = field(default_factory=dict)


def gather(
    store: Store,
    embedder: Embedder,
    namespace: str,
    info: QuestionInfo,
    *,
    conversation: str | None = None,
    size: int = POOL,
    focus_k: int = FOCUS_K,
    subject_k: int = SUBJECT_K,
    config: GraphConfig | None = None,
) -> Pool:
    """The candidate pool of one question (see the module docstring)."""
    focus = [info.focus] if info.focus and focus_k > 0 else []
    content = [info.content] if info.content else []
    subs = [q for _, q in info.subquestions] if subject_k > 0 else []
    vecs = embedder.embed([info.text, *focus, *content, *subs])
    qv, fv = vecs[0], (vecs[1] if focus else None)
    cv = vecs[1 + len(focus)] if content else None
    sub_vecs = list(vecs[1 + len(focus) + len(content) :])
    graph = graph_search(
        SearchScope(store, CachedEmbedder(embedder, {info.text: qv}), namespace),
        SearchRequest(info.text, STEP_K, conversation),
        config or GraphConfig(candidates=size, pool=size),
    )
    pool = Pool(
        info=info,
        ids=[e.node_id for e in graph.evidence],
        nodes={},
        graph_rank={e.node_id: r for r, e in enumerate(graph.evidence, 1)},
        graph_score={e.node_id: e.score for e in graph.evidence},
        found_by={e.node_id: dict(e.found_by) for e in graph.evidence},
        weights=dict(graph.router_weights),
        qv=qv,
        fv=fv,
        cos_q=_cosines(store, namespace, qv, conversation),
        trace=[f"graph: {line}" for line in graph.trace],
    )
    if cv is not None:
        pool.cos_c = _cosines(store, namespace, cv, conversation)
    if fv is not None:
        _focus(store, namespace, pool, fv, focus_k, conversation)
    if subject_k > 0:
        pool.links = link(store, namespace, info, conversation)
        _subjects(store, namespace, pool, sub_vecs, subject_k, conversation)
    _read_graph(store, namespace, pool, conversation)
    return pool


def _cosines(
    store: Store, namespace: str, vec: np.ndarray, conversation: str | None
) -> dict[str, float]:
    """Cosine of the ``COSINE_K`` turns nearest to ``vec``, by turn node id."""
    hits = store.vector_search(namespace, "Turn", vec, COSINE_K, conversation=conversation)
    return {h.id: h.score for h in hits}


def _focus(
    store: Store,
    namespace: str,
    pool: Pool,
    fv: np.ndarray,
    k: int,
    conversation: str | None,
) -> None:
    """The category generator: the ``k`` turns nearest to the category word join the pool."""
    hits = store.vector_search(namespace, "Turn", fv, COSINE_K, conversation=conversation)
    pool.cos_f = {h.id: h.score for h in hits}
    new = 0
    for rank, h in enumerate(hits[:k], 1):
        if h.id not in pool.found_by:
            pool.ids.append(h.id)
            new += 1
        pool.found_by.setdefault(h.id, {})["focus.dense"] = rank
    pool.trace.append(f"category {pool.info.focus!r}: dense top {k}, {new} new turns")


def _subjects(
    store: Store,
    namespace: str,
    pool: Pool,
    sub_vecs: list[np.ndarray],
    k: int,
    conversation: str | None,
) -> None:
    """The subject aggregation (module docstring): rank each subject's turns, add the best."""
    turns_of = pool.links.subject_turns
    if not turns_of:
        return
    sub_q = dict(zip((n for n, _ in pool.info.subquestions), sub_vecs, strict=False))
    per = max(1, k // len(turns_of))
    known = set(pool.found_by)
    added = 0
    for name, turns in sorted(turns_of.items()):
        cos = pool.cos_q
        if name in sub_q:
            hits = store.vector_search(
                namespace, "Turn", sub_q[name], COSINE_K, conversation=conversation
            )
            cos = {h.id: h.score for h in hits}
            pool.cos_sub.update((t, cos[t]) for t in turns if t in cos)
        elif pool.cos_c:  # the subject's own turns: the name adds nothing, the topic does
            cos = pool.cos_c

        def relevance(t: str, cos: dict[str, float] = cos) -> float:
            return cos.get(t, -1.0) + pool.cos_f.get(t, 0.0)

        ranked = sorted((t for t in turns if t in cos), key=lambda t: (-relevance(t), t))
        for rank, t in enumerate(ranked, 1):
            pool.subject_rank[t] = min(rank, pool.subject_rank.get(t, rank))
            if rank <= per and t not in known:
                pool.ids.append(t)
                known.add(t)
                added += 1
            if rank <= per:
                pool.found_by.setdefault(t, {})["subject.dense"] = rank
    pool.trace.append(
        f"subjects {sorted(turns_of)}: {sum(map(len, turns_of.values()))} turns, "
        f"top {per} each, {added} new turns"
    )


def _read_graph(store: Store, namespace: str, pool: Pool, conversation: str | None) -> None:
    """The turns, their neighbours, their time intervals, and the question terms' IDF."""
    nodes = store.get_nodes(namespace, pool.ids)
    pool.nodes = {n.id: n for n in nodes}
    pool.ids = [i for i in pool.ids if i in pool.nodes]
    for e in store.neighbours(namespace, pool.ids, edge_types=["NEXT_TURN"]):
        pool.next[e.src] = e.dst
        pool.prev[e.dst] = e.src
    time_of: dict[str, list[str]] = {}
    for e in store.neighbours(namespace, pool.ids, edge_types=["MENTIONS"], direction="out"):
        if e.dst.startswith("time:"):
            time_of.setdefault(e.src, []).append(e.dst)
    around = {pool.prev.get(i) for i in pool.ids} | {pool.next.get(i) for i in pool.ids}
    missing = sorted(a for a in around if a and a not in pool.nodes)
    extra = store.get_nodes(namespace, missing) if missing else []
    pool.context = {**pool.nodes, **{n.id: n for n in extra}}
    spans = sorted({t for ts in time_of.values() for t in ts})
    when = {n.id: n.props for n in store.get_nodes(namespace, spans)} if spans else {}
    for tid, ts in time_of.items():
        pool.times[tid] = [
            (str(when[t]["begin"]), str(when[t]["end"]))
            for t in ts
            if t in when and when[t].get("begin") and when[t].get("end")
        ]
    terms = list(pool.info.terms)
    if terms:
        n_docs, _ = store.text_stats(namespace, "Turn", conversation=conversation)
        pool.idf = idf(
            terms,
            store.keyword_candidates(namespace, "Turn", terms, conversation=conversation),
            n_docs,
        )


def idf(terms: list[str], docs: list[tuple[str, str]], n_docs: int) -> dict[str, float]:
    """BM25's IDF of each term over ``docs`` (every document of the scope with any term).

    A term counts where it is a whole token of :func:`~kg_memory.text.tokenize`.

    >>> w = idf(["dog", "cat"], [("a", "A dog!"), ("b", "dogs, cat")], 10)
    >>> round(w["dog"], 2), round(w["cat"], 2)
    (1.99, 1.99)
    """
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    rx = re.compile(rf"(?<![0-9a-z])({alternatives})(?![0-9a-z])")
    df: Counter[str] = Counter()
    for _, text in docs:
        df.update(set(rx.findall(text.lower())))
    n = max(n_docs, len(docs), 1)
    return {t: math.log(1.0 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in terms}
