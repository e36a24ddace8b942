"""Search on Neo4j: vector search, keyword candidates, corpus statistics, batched searches.

Identical ranking to the embedded store: keyword search gets its candidates
from the Lucene full-text index over ``ftext`` (:mod:`.fulltext`), so the
candidate set equals the embedded store's, and the shared BM25 scores them.
Vector search asks the HNSW vector index of the label for an oversampled top
list, filters it to the scope and re-ranks the survivors exactly with
:func:`~kg_memory.store.base.rank_by_cosine` over the stored vectors.
:func:`search_many` runs a question's searches as one statement (a ``CALL {}``
subquery each).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from kg_memory.bm25 import bm25_rank
from kg_memory.errors import QueryError
from kg_memory.model import Hit, check_label
from kg_memory.store.base import MAX_KEYWORD_CANDIDATES, Search, mean_length, rank_by_cosine
from kg_memory.store.common import Scope, mixed_dimensions_error, query_dimension_error
from kg_memory.store.neo4j import cypher
from kg_memory.store.neo4j.connection import Connection, Tx
from kg_memory.store.neo4j.fulltext import FULLTEXT_INDEX_NAME, lucene_queries
from kg_memory.store.neo4j.rows import Quiet, stored_vector
from kg_memory.text import query_terms

#: Vector search asks the HNSW index for max(OVERSAMPLE * k, k + MIN_CANDIDATES)
#: in-scope neighbours before the exact re-ranking (see :func:`vector_search`).
OVERSAMPLE = 10
MIN_CANDIDATES = 100

T = TypeVar("T")
Candidates = list[tuple[str, np.ndarray | None]]


@dataclass(frozen=True)
class VectorPlan:
    """A prepared vector search: the query, its unit list, the sizes behind ``k2``."""

    label: str
    query: np.ndarray
    unit: list[float]
    k: int
    dim: int
    need: int
    total: int
    k2: int
    indexed: bool = True  # False: no vector index for the label, read the scope's vectors

    def cypher(self, conversation: bool, suffix: str = "") -> str:
        """The statement asking for this search's candidates."""
        if self.indexed:
            return cypher.vector_cypher(conversation, suffix)
        return cypher.vector_scan_cypher(conversation, suffix)


@functools.cache
def _indexed_labels() -> frozenset[str]:
    """Labels with a vector index (``schema_statements``: the stages' ``vectors``)."""
    from kg_memory.ingest.registry import vector_labels

    return frozenset(vector_labels())


def _scope_aggregate(
    db: Connection,
    kind: str,
    namespace: str,
    label: str,
    conversation: str | None,
    value: Callable[[Any], T],
) -> T:
    """``value`` of the record of :func:`~.cypher.scope_query` with ``VECTOR_COUNT``
    (``kind="vectors"``) or ``TEXT_STATS`` (``"text"``), cached until a write of ours
    to the namespace or a TTL."""
    tail = cypher.VECTOR_COUNT if kind == "vectors" else cypher.TEXT_STATS
    query = cypher.scope_query(conversation is not None, tail)

    def work(tx: Tx) -> T:
        return value(tx.run(query, ns=namespace, label=label, conv=conversation).single())

    result: T = db.cached_read((kind, namespace, label, conversation), namespace, work)
    return result


def _vector_count(rec: Any) -> tuple[int, frozenset[int]]:
    if rec is None:
        return 0, frozenset()
    return int(rec["c"]), frozenset(int(d) for d in rec["dims"])


def _text_stats(rec: Any) -> tuple[int, float]:
    if rec is None:
        return 0, 0.0
    return int(rec["c"]), mean_length(int(rec["c"]), rec["total"])


def text_stats(
    db: Connection, namespace: str, label: str, conversation: str | None
) -> tuple[int, float]:
    """``(nodes with text, mean token count)`` of one scope (see :meth:`Store.text_stats`)."""
    check_label(label)
    return _scope_aggregate(db, "text", namespace, label, conversation, _text_stats)


def vector_plan(
    db: Connection, namespace: str, srch: Search, conversation: str | None
) -> VectorPlan | None:
    """What vector search ``srch`` will ask the index for (``None``: nothing in scope)."""
    label, k = check_label(srch.label), srch.k
    q = np.asarray(srch.vector, dtype=np.float64).ravel()
    if k <= 0:
        return None
    in_scope, dims = _scope_aggregate(db, "vectors", namespace, label, conversation, _vector_count)
    if in_scope == 0:
        return None
    if len(dims) > 1:
        raise mixed_dimensions_error(label, namespace, dims)
    (dim,) = dims
    if dim != q.shape[0]:
        raise query_dimension_error(q.shape[0], label, dim)
    qn = float(np.linalg.norm(q))
    if qn == 0.0 or not math.isfinite(qn):
        raise QueryError("query vector must be finite and non-zero for cosine search")

    if label not in _indexed_labels():
        # No stage writes vectors of this label, so it has no index: the scope's vectors,
        # all of them (k2 = in_scope), ranked exactly. Same result as through an index.
        return VectorPlan(
            label, q, (q / qn).tolist(), k, dim, min(k, in_scope), in_scope, in_scope, indexed=False
        )

    def label_total(tx: Tx) -> int:
        rec = tx.run(cypher.label_count_query(label)).single()
        return int(rec["c"]) if rec else 0

    total = max(db.cached_read(("label", label), namespace, label_total), in_scope)
    want = max(OVERSAMPLE * k, k + MIN_CANDIDATES)
    k2 = min(total, max(want, math.ceil(want * total / in_scope)))
    return VectorPlan(label, q, (q / qn).tolist(), k, dim, min(k, in_scope), total, k2)


def _vector_params(plan: VectorPlan, k2: int, suffix: str = "") -> dict[str, Any]:
    return {
        f"vindex{suffix}": cypher.vector_index_name(plan.label),
        f"k2{suffix}": k2,
        f"vector{suffix}": Quiet(plan.unit),
        f"label{suffix}": plan.label,
    }


def _vector_rows(rows: Sequence[Sequence[Any]]) -> Candidates:
    return [(i, stored_vector(raw, vals)) for i, raw, vals in rows]


def _vector_ranked(plan: VectorPlan, found: Candidates) -> list[Hit]:
    usable = [(i, e) for i, e in found if e is not None and e.shape[0] == plan.dim]
    if not usable:
        return []
    matrix = np.stack([e for _, e in usable])
    return rank_by_cosine(plan.query, [i for i, _ in usable], matrix, plan.k)


def vector_run(
    db: Connection, namespace: str, plan: VectorPlan, conversation: str | None, k2: int
) -> list[Hit]:
    """Ask the index with ``k2``, growing it until the scope yields enough; rank exactly."""
    query = plan.cypher(conversation is not None)
    while True:

        def work(tx: Tx, k2: int = k2) -> Candidates:
            params = _vector_params(plan, k2)
            res = tx.run(query, params, ns=namespace, conv=conversation)
            return [row for r in res for row in _vector_rows(r["rows"])]

        found = db.read(work)
        if len(found) >= plan.need or k2 >= plan.total:
            return _vector_ranked(plan, found)
        k2 = min(plan.total, k2 * 4)


def vector_search(db: Connection, scope: Scope, vector: np.ndarray, k: int) -> list[Hit]:
    """Top-``k`` by cosine: HNSW candidates from the label's vector index, ranked exactly.

    HNSW is approximate (Neo4j searches with ``ef = k``), so the index is
    asked for ``want = max(OVERSAMPLE * k, k + MIN_CANDIDATES)`` neighbours
    of the scope, and since it spans every namespace, ``k2`` is scaled by the
    share of the scope in the label (``k2 ~ want * label_total / in_scope``,
    at most the label's size). ``k2`` grows until the scope yields
    ``min(k, in_scope)`` candidates or the whole label has been asked for.
    The candidates are then ranked exactly by their stored float32 vectors.
    On 2,000 random 384-d unit vectors (HNSW's worst case) the top-10 of
    the first 10 / 50 / 100 index results holds 55% / 94% / 99% of the
    exact top-10; with ``want = 110`` the ranking matches the exact one.
    """
    namespace, label, conversation = scope
    plan = vector_plan(db, namespace, Search(label, k, vector=vector), conversation)
    if plan is None:
        return []
    return vector_run(db, namespace, plan, conversation, plan.k2)


def keyword_candidates(
    db: Connection, scope: Scope, terms: Sequence[str], limit: int, tokenized: bool = False
) -> list[tuple[str, str]]:
    """``(id, text)`` of the scope's nodes whose text holds any of ``terms`` (full-text index);
    with ``tokenized`` the text as indexed (``ftext``: tokens joined by spaces)."""
    namespace, label, conversation = scope
    queries = lucene_queries(terms, namespace, label, conversation)
    if not queries:
        return []
    query = cypher.keyword_cypher(conversation is not None, column="ftext" if tokenized else "text")

    def work(tx: Tx) -> list[tuple[str, str, float]]:
        out: list[tuple[str, str, float]] = []
        for lq in queries:
            res = tx.run(
                query,
                index=FULLTEXT_INDEX_NAME,
                q=lq,
                limit=int(limit),
                ns=namespace,
                label=label,
                conv=conversation,
            )
            for rec in res:
                out.extend((i, t, float(sc)) for i, t, sc in rec["rows"])
        return out

    rows = db.read(work)
    if len(queries) > 1:
        best: dict[str, tuple[str, str, float]] = {}
        for row in rows:
            if row[0] not in best or row[2] > best[row[0]][2]:
                best[row[0]] = row
        rows = sorted(best.values(), key=lambda r: (-r[2], r[0]))[:limit]
    return [(i, t) for i, t, _ in rows]


# -- several searches in one statement ---------------------------------------------------

#: How :func:`search_many` finishes one search from its subquery's rows.
Finish = Callable[[Sequence[Any]], list[Hit]]


def _bm25_rows(terms: list[str], n: int, avgdl: float, k: int, rows: Sequence[Any]) -> list[Hit]:
    return bm25_rank(terms, [(i, t) for i, t, _ in rows], n, avgdl, k, tokenized=True)


@dataclass
class _Batch:
    """The statement :func:`search_many` is building: subqueries, parameters, finishers."""

    db: Connection
    namespace: str
    conversation: str | None
    parts: list[str]
    params: dict[str, Any]
    finish: dict[int, Finish]

    def keyword(self, i: int, srch: Search, terms: list[str], lq: str) -> None:
        """Add keyword search ``i`` (one Lucene query ``lq``), ranked by BM25."""
        sfx = str(i)
        n, avgdl = text_stats(self.db, self.namespace, srch.label, self.conversation)
        self.parts.append(cypher.keyword_cypher(self.conversation is not None, sfx, column="ftext"))
        self.params.update(
            {f"q{sfx}": lq, f"limit{sfx}": MAX_KEYWORD_CANDIDATES, f"label{sfx}": srch.label}
        )
        self.finish[i] = functools.partial(_bm25_rows, terms, n, avgdl, srch.k)

    def vector(self, i: int, plan: VectorPlan) -> None:
        """Add vector search ``i``; one that comes back short of its scope asks again alone."""
        db, namespace, conversation = self.db, self.namespace, self.conversation
        self.parts.append(plan.cypher(conversation is not None, str(i)))
        self.params.update(_vector_params(plan, plan.k2, str(i)))

        def done(rows: Sequence[Any]) -> list[Hit]:
            found = _vector_rows(rows)
            if len(found) < plan.need and plan.k2 < plan.total:
                return vector_run(db, namespace, plan, conversation, min(plan.total, plan.k2 * 4))
            return _vector_ranked(plan, found)

        self.finish[i] = done

    def run(self) -> dict[int, list[Hit]]:
        """Run the statement (if any search is in it); each search's hits."""
        if not self.finish:
            return {}
        query = cypher.subqueries(self.parts, [f"rows{i}" for i in self.finish])

        def work(tx: Tx) -> dict[str, Any]:
            rec = tx.run(query, self.params).single()
            return dict(rec) if rec else {}

        rec = self.db.read(work)
        return {i: fn(rec.get(f"rows{i}") or []) for i, fn in self.finish.items()}


def search_many(
    db: Connection,
    namespace: str,
    searches: Sequence[Search],
    conversation: str | None,
    one_search: Callable[[Search], list[Hit]],
) -> list[list[Hit]]:
    """Every search in one Cypher statement (one ``CALL {}`` per search): one round trip.

    Keyword searches get their candidates from the full-text index and are
    ranked by the shared BM25; vector searches take their first index answer,
    and one that comes back short of its scope asks again alone
    (:func:`vector_search`'s growing ``k2``). A keyword search too long for one
    Lucene query runs alone through ``one_search``. Results equal the single calls'.
    """
    results: list[list[Hit] | None] = [None] * len(searches)
    params: dict[str, Any] = {"ns": namespace, "conv": conversation, "index": FULLTEXT_INDEX_NAME}
    batch = _Batch(db, namespace, conversation, [], params, {})
    for i, srch in enumerate(searches):
        if srch.query is not None:
            check_label(srch.label)
            terms = query_terms(srch.query)
            lqs = lucene_queries(terms, namespace, srch.label, conversation)
            if not lqs or srch.k <= 0:
                results[i] = []
            elif len(lqs) > 1:  # very long query: Lucene's clause limit, several queries
                results[i] = one_search(srch)
            else:
                batch.keyword(i, srch, terms, lqs[0])
        else:
            plan = vector_plan(db, namespace, srch, conversation)
            if plan is None:
                results[i] = []
            else:
                batch.vector(i, plan)
    for i, hits in batch.run().items():
        results[i] = hits
    return [r if r is not None else [] for r in results]
