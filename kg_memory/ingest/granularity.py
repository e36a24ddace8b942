"""MemGAS multi-granularity memory: session summaries and GMM topic clusters.

Turns are the finest granularity and sessions the next; this stage adds the
two coarser ones, both built from the turn embeddings without a model call:

``Summary`` (one per session)
    An extractive summary: the ``summary_turns`` turns closest to the
    session's centroid, picked by maximal marginal relevance (so they do not
    repeat one another), in dialogue order, followed by the session's
    keywords (c-TF-IDF, below). Its embedding is the session centroid, so it
    rests on every turn of the session: ``EVIDENCED_BY`` to each of them
    (``turn_ids``; the quoted ones are ``quoted``). Edges also: ``SUMMARIZES``
    to the Session, ``IN_TOPIC`` to the topics holding at least
    ``TOPIC_SHARE`` of the session's turns.
``Topic`` (clusters of turns across sessions)
    A Gaussian Mixture Model over the conversation's turn embeddings
    (reduced by PCA, diagonal covariances, the number of components chosen
    by BIC), as MemGAS groups memories: every turn joins its most likely
    topic and also a second one whose responsibility reaches
    ``SOFT_THRESHOLD``. A topic's text names its keywords, speakers, sessions
    and dates; its embedding is the normalised mean of its turns. Edges:
    ``IN_TOPIC`` from each member turn (props ``p``: the responsibility),
    ``EVIDENCED_BY`` to the ``TOPIC_EVIDENCE`` turns nearest its centroid.

In retrieval (:mod:`kg_memory.retrieval.graph`) both are router layers; the
default ``graph`` preset searches summaries (router weight halved,
``GraphConfig.coarse_weight``) but not topics. Turn-level recall@10 on the 7
LoCoMo conversations (``make bench-layers``, :mod:`kg_memory.bench.layers`:
embedded store, MiniLM, one ingest; tables in ``results/layers/layers.md``
for ``ask`` with ``k=20`` as ``make bench`` asks, ``results/layers-k10/layers.md``
for ``k=10``): over categories 1-4, summaries at half weight lift it from
0.654 to 0.663 (k=20) and from 0.653 to 0.669 (k=10), at full weight 0.654
and 0.672, at the cost of R@1 (0.223 to 0.212, 0.224 to 0.214); topics alone
lower it (0.638 at k=20, 0.650 at k=10), and both layers do worse than
summaries alone (0.640, 0.657).

A topic spans many sessions, so the turns it lifts are near the question's
subject but rarely its answer; a session summary places the question in
time and context, which the turn search alone does not, at some cost to the
very first rank (R@1).

Keywords are class-based TF-IDF: a term's frequency in the group's turns times
``log(1 + mean group size / its frequency over the conversation)``, stop
words excluded. Everything is seeded, so the same conversation always gives
the same nodes (re-ingest changes nothing).
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from kg_memory.embed import unit_mean
from kg_memory.formats.model import RawConversation, RawSession
from kg_memory.ingest import turns as turns_stage
from kg_memory.ingest.context import IngestContext, TurnRecord
from kg_memory.ingest.stage import settings
from kg_memory.ingest.turns import human_date
from kg_memory.text import STOPWORDS, tokenize

#: Turns an extractive session summary quotes (at most).
SUMMARY_TURNS = 3
#: Maximal marginal relevance trade-off: centrality against novelty.
MMR_LAMBDA = 0.7
#: Keywords named by a summary or a topic.
KEYWORDS = 6
#: Conversations with fewer turns get no topics (nothing to cluster).
MIN_TURNS_FOR_TOPICS = 12
#: Mean topic size the component counts tried by BIC are centred on.
TURNS_PER_TOPIC = 30
#: Dimensions kept by PCA before the GMM (a diagonal GMM in 384-d overfits a few hundred turns).
PCA_DIMS = 24
#: A turn's second topic needs at least this responsibility.
SOFT_THRESHOLD = 0.3
#: A summary joins each topic that holds at least this share of its session's turns.
TOPIC_SHARE = 0.25
#: Turns nearest a topic's centroid that serve as its provenance.
TOPIC_EVIDENCE = 3
#: Longest quoted utterance in a summary (characters).
QUOTE_CHARS = 240
SEED = 0


def mmr_pick(vectors: np.ndarray, k: int, lam: float = MMR_LAMBDA) -> list[int]:
    """Indexes of ``k`` rows: near the centroid, far from each other (maximal marginal relevance).

    >>> v = np.array([[1, 0], [0.99, 0.14], [0.6, 0.8]], dtype=np.float32)
    >>> mmr_pick(v, 2)
    [1, 2]
    """
    n = len(vectors)
    if n == 0 or k <= 0:
        return []
    x = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.where(norms > 0, norms, 1.0)
    centre = x.mean(axis=0)
    c = float(np.linalg.norm(centre))
    rel = x @ (centre / c) if c > 0 else np.zeros(n)
    picked: list[int] = []
    while len(picked) < min(k, n):
        best, best_score = -1, -math.inf
        for i in range(n):
            if i in picked:
                continue
            red = max((float(x[i] @ x[j]) for j in picked), default=0.0)
            s = lam * float(rel[i]) - (1 - lam) * red
            if s > best_score + 1e-12:
                best, best_score = i, s
        picked.append(best)
    return picked


def keywords(groups: Sequence[Sequence[str]], k: int = KEYWORDS) -> list[list[str]]:
    """Class-based TF-IDF keywords of each group of texts, ties by term.

    >>> keywords([["dog walk", "dog park"], ["guitar lesson", "guitar dog"]], 1)
    [['dog'], ['guitar']]
    """
    counts = [
        Counter(t for text in g for t in tokenize(text) if t not in STOPWORDS and len(t) > 2)
        for g in groups
    ]
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    mean_size = sum(sum(c.values()) for c in counts) / max(1, len(counts))
    out = []
    for c in counts:
        scored = sorted(
            ((tf * math.log(1.0 + mean_size / total[t]), t) for t, tf in c.items()),
            key=lambda x: (-x[0], x[1]),
        )
        out.append([t for _, t in scored[:k]])
    return out


def topic_space(x: np.ndarray) -> np.ndarray:
    """Unit turn vectors ``x`` reduced by PCA to at most ``PCA_DIMS`` (the GMM's input)."""
    from sklearn.decomposition import PCA

    n = len(x)
    dims = max(1, min(PCA_DIMS, n - 1, x.shape[1]))
    reduced: np.ndarray = PCA(n_components=dims, random_state=SEED).fit_transform(
        np.asarray(x, np.float64)
    )
    return reduced


def topic_counts(n: int) -> list[int]:
    """The component counts BIC chooses among for ``n`` turns (around ``n / TURNS_PER_TOPIC``).

    >>> topic_counts(419)
    [7, 14, 28]
    """
    centre = max(2, round(n / TURNS_PER_TOPIC))
    return sorted({max(2, min(n // 4, c)) for c in (centre // 2, centre, centre * 2)})


def bic_curve(z: np.ndarray, counts: Sequence[int]) -> list[tuple[int, float, Any]]:
    """``(k, BIC, fitted GaussianMixture)`` for each component count on ``topic_space`` output."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    out: list[tuple[int, float, Any]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k in counts:
            gmm = GaussianMixture(
                k, covariance_type="diag", reg_covar=1e-3, random_state=SEED, max_iter=200
            ).fit(z)
            out.append((k, float(gmm.bic(z)), gmm))
    return out


def fit_topics(x: np.ndarray) -> np.ndarray:
    """GMM responsibilities (turns x topics) for unit turn vectors ``x``, components by BIC."""
    z = topic_space(x)
    best: tuple[float, Any] | None = None
    for _, bic, gmm in bic_curve(z, topic_counts(len(x))):
        if best is None or bic < best[0] - 1e-9:
            best = (bic, gmm)
    assert best is not None
    resp: np.ndarray = best[1].predict_proba(z)
    return resp


def _quote(rec: TurnRecord) -> str:
    text = " ".join(rec.raw.text.split())
    if len(text) > QUOTE_CHARS:
        text = text[: QUOTE_CHARS - 1].rstrip() + "…"
    return f"{rec.raw.speaker}: {text}"


def _span(recs: Sequence[TurnRecord]) -> str:
    dates = sorted({r.date for r in recs if r.date})
    if not dates:
        return ""
    first, last = human_date(dates[0]), human_date(dates[-1])
    return first if first == last else f"{first} to {last}"


def run(ctx: IngestContext) -> None:
    """Add the Summary and Topic nodes of one conversation."""
    emb = ctx.turn_embeddings
    if emb is None or len(emb) != len(ctx.turns) or not ctx.turns:
        return
    x = np.asarray(emb, dtype=np.float32)
    topic_of: list[list[int]] = [[] for _ in ctx.turns]  # turn -> its topics
    topic_ids: list[str] = []
    if len(ctx.turns) >= MIN_TURNS_FOR_TOPICS:
        topic_ids = _add_topics(ctx, x, topic_of)
    _add_summaries(ctx, x, topic_of, topic_ids)


def _add_topics(ctx: IngestContext, x: np.ndarray, topic_of: list[list[int]]) -> list[str]:
    """Topic nodes (soft GMM clusters of the turns); ``topic_of[i]`` gets turn i's topics."""
    texts = [r.raw.text for r in ctx.turns]
    topic_ids: list[str] = []
    resp = fit_topics(x)
    members: dict[int, dict[int, float]] = {}
    for i, row in enumerate(resp):
        best2 = np.argsort(-row, kind="stable")[:2]
        for rank, c in enumerate(best2):
            if rank == 0 or row[c] >= SOFT_THRESHOLD:
                members.setdefault(int(c), {})[i] = float(row[c])
    # topics in order of their first turn: stable ids and a readable numbering
    clusters = sorted(members.values(), key=lambda m: min(m))
    kws = keywords([[texts[i] for i in m] for m in clusters], KEYWORDS)
    for t, (m, kw) in enumerate(zip(clusters, kws, strict=True)):
        idxs = sorted(m)
        recs = [ctx.turns[i] for i in idxs]
        centroid = unit_mean(x[idxs])
        near = sorted(idxs, key=lambda i: (-float(x[i] @ centroid), i))[:TOPIC_EVIDENCE]
        tid = ctx.make_id("topic", ctx.turns[idxs[0]].raw.turn_id)
        speakers = sorted({r.raw.speaker for r in recs})
        sess = sorted({r.session.index for r in recs})
        span = _span(recs)
        ctx.add_node(
            tid,
            "Topic",
            text=(
                f"Topic {t + 1}: {', '.join(kw)} ({', '.join(speakers)}; "
                f"{len(idxs)} turns in sessions {', '.join(map(str, sess))}"
                + (f", {span})" if span else ")")
            ),
            props={
                "index": t + 1,
                "keywords": kw,
                "size": len(idxs),
                "sessions": sess,
                "speakers": speakers,
                "turn_ids": [ctx.turns[i].raw.turn_id for i in sorted(near)],
            },
            embedding=centroid,
        )
        for i in idxs:
            ctx.add_edge(ctx.turns[i].id, "IN_TOPIC", tid, {"p": round(m[i], 4)})
            topic_of[i].append(len(topic_ids))
        ctx.evidence(tid, [ctx.turns[i].id for i in sorted(near)])
        topic_ids.append(tid)
    return topic_ids


def _add_summaries(
    ctx: IngestContext, x: np.ndarray, topic_of: list[list[int]], topic_ids: list[str]
) -> None:
    """One extractive Summary per session, IN_TOPIC of the topics holding enough of it."""
    texts = [r.raw.text for r in ctx.turns]
    sessions: dict[str, list[int]] = {}
    for i, rec in enumerate(ctx.turns):
        sessions.setdefault(rec.session_id, []).append(i)
    session_ids = list(sessions)
    kws = keywords([[texts[i] for i in sessions[s]] for s in session_ids], KEYWORDS)
    for sid, kw in zip(session_ids, kws, strict=True):
        idxs = sessions[sid]
        picked = sorted(idxs[j] for j in mmr_pick(x[idxs], SUMMARY_TURNS, MMR_LAMBDA))
        session = ctx.turns[idxs[0]].session
        date = human_date(session.date_time)
        head = f"Session {session.index}" + (f" ({date})" if date else "")
        quotes = " ".join(_quote(ctx.turns[i]) for i in picked)
        summ = ctx.make_id("summary", session.index)
        ctx.add_node(
            summ,
            "Summary",
            text=f"{head}: {quotes}" + (f" Keywords: {', '.join(kw)}." if kw else ""),
            props={
                "session": session.index,
                "date_time": session.date_time,
                "keywords": kw,
                "n_turns": len(idxs),
                "quoted": [ctx.turns[i].raw.turn_id for i in picked],
                "turn_ids": [ctx.turns[i].raw.turn_id for i in idxs],
            },
            embedding=unit_mean(x[idxs]),
        )
        ctx.add_edge(summ, "SUMMARIZES", sid)
        ctx.evidence(summ, [ctx.turns[i].id for i in idxs])
        share = Counter(t for i in idxs for t in topic_of[i])
        for t, c in sorted(share.items()):
            if c / len(idxs) >= TOPIC_SHARE:
                ctx.add_edge(summ, "IN_TOPIC", topic_ids[t], {"share": round(c / len(idxs), 4)})


def update(ctx: IngestContext) -> None:
    """Turns added to a stored conversation (``ctx.prior``): update summaries and topics in place.

    The Summary of every session that gains turns is rebuilt from all its turns
    (the stored vectors and the new ones; its keywords are then weighed within
    the session alone), and each new turn joins its nearest stored Topic (cosine
    to the topic's centroid; ``p`` is that cosine, not a GMM responsibility):
    topics are never re-fitted on the add path. A conversation stored with too
    few turns for topics keeps none until it is ingested whole again.
    """
    prior = ctx.prior
    emb = ctx.turn_embeddings
    if prior is None or emb is None or len(emb) != len(ctx.turns) or not ctx.turns:
        return
    x_new = np.asarray(emb, dtype=np.float32)
    x_old = prior.matrix(x_new.shape[1])
    rows: dict[int, list[int]] = {}
    for i, node in enumerate(prior.turns):
        rows.setdefault(int(node.props["session"]), []).append(i)
    stored = {s.index: s for s in prior.conversation.sessions}
    for session in ctx.conversation.sessions:
        old = stored.get(session.index)
        whole = RawSession(
            session.index,
            session.date_time,
            session.date_time_raw,
            (old.turns if old else ()) + session.turns,
        )
        new_rows = [i for i, r in enumerate(ctx.turns) if r.session.index == session.index]
        x = np.vstack([x_old[rows.get(session.index, [])], x_new[new_rows]])
        _rebuild_summary(ctx, whole, x)
    _join_topics(ctx, x_new)


def _rebuild_summary(ctx: IngestContext, session: RawSession, x: np.ndarray) -> None:
    """The Summary of ``session`` (all its turns, vectors ``x``) into ``ctx``."""
    sub = IngestContext(
        namespace=ctx.namespace,
        conversation=RawConversation(ctx.cid, ctx.conversation.speakers, (session,)),
        conversation_node_id=ctx.conversation_node_id,
        store=ctx.store,
        embedder=ctx.embedder,
    )
    turns_stage.build(sub)
    _add_summaries(sub, x, [[] for _ in sub.turns], [])
    for node in sub.nodes.values():
        if node.label == "Summary":
            ctx.nodes[node.id] = node
    for key, edge in sub.edges.items():
        if sub.nodes[edge.src].label == "Summary":
            ctx.edges[key] = edge


def _join_topics(ctx: IngestContext, x: np.ndarray) -> None:
    """Each new turn joins its nearest stored topic (``IN_TOPIC``; the topic's size grows)."""
    topics = [
        t
        for t in ctx.store.find_nodes(
            ctx.namespace, "Topic", conversation=ctx.cid, with_embeddings=True
        )
        if t.embedding is not None and len(t.embedding) == x.shape[1]
    ]
    if not topics:
        return
    centroids = np.vstack([np.asarray(t.embedding, dtype=np.float32) for t in topics])
    sims = x @ centroids.T
    grown: dict[int, list[TurnRecord]] = {}
    for i, rec in enumerate(ctx.turns):
        best = int(np.argmax(sims[i]))
        grown.setdefault(best, []).append(rec)
        ctx.add_edge(rec.id, "IN_TOPIC", topics[best].id, {"p": round(float(sims[i, best]), 4)})
    for t, recs in grown.items():
        p = topics[t].props
        ctx.add_node(
            topics[t].id,
            "Topic",
            text=topics[t].text,
            props={
                **p,
                "size": int(p.get("size", 0)) + len(recs),
                "sessions": sorted({*p.get("sessions", []), *(r.session.index for r in recs)}),
                "speakers": sorted({*p.get("speakers", []), *(r.raw.speaker for r in recs)}),
            },
            embedding=topics[t].embedding,
        )


def config() -> dict[str, object]:
    """The settings above (read when called: they are part of the ingest fingerprint)."""
    return settings(
        globals(),
        (
            "SUMMARY_TURNS MMR_LAMBDA KEYWORDS MIN_TURNS_FOR_TOPICS TURNS_PER_TOPIC "
            "PCA_DIMS SOFT_THRESHOLD TOPIC_SHARE TOPIC_EVIDENCE QUOTE_CHARS SEED"
        ),
    )
