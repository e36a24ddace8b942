"""Search on the embedded store: exact vector search, FTS5 keyword candidates, text stats.

Vectors are float32 BLOBs ranked exactly with numpy. Loading a scope's matrix
once and keeping it in memory makes an exact top-10 over 100k 384-d vectors
take about 20 ms, with no approximate-index recall loss and the same ranking
(:func:`~kg_memory.store.base.rank_by_cosine`) as Neo4j. FTS5 answers keyword
candidate queries in about 1 ms (2 ms for a thousand matches among 100k turns).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from kg_memory.bm25 import bm25_rank
from kg_memory.model import Hit, check_label
from kg_memory.store.base import MAX_KEYWORD_CANDIDATES, Search, mean_length, rank_by_cosine
from kg_memory.store.common import (
    F32,
    Scope,
    mixed_dimensions_error,
    query_dimension_error,
    term_tokens,
)
from kg_memory.store.embedded.connection import Database
from kg_memory.store.embedded.reads import marks
from kg_memory.text import query_terms

#: Vector matrices kept in memory (least recently used evicted first).
MAX_CACHED_SCOPES = 8


class _Matrix:
    """A cached vector scope: ids, float32 matrix, and what it was read at."""

    __slots__ = ("data_version", "generation", "ids", "matrix", "max_norm")

    def __init__(
        self, generation: int, data_version: int, ids: list[str], matrix: np.ndarray
    ) -> None:
        self.generation = generation
        self.data_version = data_version
        self.ids = ids
        self.matrix = matrix
        self.max_norm = float(np.linalg.norm(matrix, axis=1).max()) if len(ids) else 0.0


def _scope_sql(
    select: str, namespace: str, label: str, conversation: str | None
) -> tuple[str, list[Any]]:
    """``select`` restricted to one scope (its WHERE clause opens with namespace and label)."""
    sql = select
    params: list[Any] = [namespace, label]
    if conversation is not None:
        sql += " AND conversation = ?"
        params.append(conversation)
    return sql, params


def _matrix(db: Database, namespace: str, label: str, conversation: str | None) -> _Matrix:
    """The scope's vectors, from the cache unless a write may have changed them."""
    key = (namespace, label, conversation)
    gen = db.generations[namespace]
    data_version = db.data_version()
    hit = db.vectors.get(key)
    if hit is not None and hit.generation == gen and hit.data_version == data_version:
        db.vectors.move_to_end(key)
        return hit
    sql, params = _scope_sql(
        "SELECT id, vec FROM vectors WHERE namespace = ? AND label = ?",
        namespace,
        label,
        conversation,
    )
    ids: list[str] = []
    blobs: list[bytes] = []
    for id_, blob in db.conn.execute(sql, params):
        ids.append(id_)
        blobs.append(blob)
    sizes = {len(b) for b in blobs}
    if len(sizes) > 1:
        raise mixed_dimensions_error(label, namespace, (s // F32.itemsize for s in sizes))
    dim = sizes.pop() // F32.itemsize if sizes else 0
    matrix = np.frombuffer(b"".join(blobs), dtype=F32).reshape(len(ids), dim)
    entry = _Matrix(gen, data_version, ids, np.ascontiguousarray(matrix, dtype=np.float32))
    db.vectors[key] = entry
    db.vectors.move_to_end(key)
    while len(db.vectors) > MAX_CACHED_SCOPES:
        db.vectors.popitem(last=False)
    return entry


def vector_search(db: Database, scope: Scope, vector: np.ndarray, k: int) -> list[Hit]:
    """Exact top-``k`` by cosine over the scope's cached matrix."""
    namespace, label, conversation = scope
    check_label(label)
    q = np.asarray(vector, dtype=np.float64).ravel()
    if k <= 0:
        return []
    with db.lock:
        m = _matrix(db, namespace, label, conversation)
    n = len(m.ids)
    if n == 0:
        return []
    if m.matrix.shape[1] != q.shape[0]:
        raise query_dimension_error(q.shape[0], label, m.matrix.shape[1])
    return top_k(m, q, k)


def top_k(m: _Matrix, q: np.ndarray, k: int) -> list[Hit]:
    """Exact top-``k`` of the float64 query ``q`` over one cached matrix (what each
    vector search costs once the matrix is loaded; ``bench/scale/vectors.py`` times it)."""
    n = len(m.ids)
    if n <= max(4 * k, 512):
        return rank_by_cosine(q, m.ids, m.matrix, k)
    # Preselect in float32, keeping everything within the float32 error bound
    # of the k-th score, then rank that superset exactly in float64.
    qn = float(np.linalg.norm(q))
    q32 = (q / qn if qn > 0 else q).astype(np.float32)
    scores = m.matrix @ q32
    kth = float(np.partition(scores, n - k)[n - k])
    margin = 4.0 * float(np.finfo(np.float32).eps) * q.shape[0] * max(m.max_norm, 1.0)
    sel = np.flatnonzero(scores >= kth - margin)
    return rank_by_cosine(q, [m.ids[i] for i in sel], m.matrix[sel], k)


def fts_query(terms: Sequence[str]) -> str | None:
    """An FTS5 query OR-ing ``terms``; each is normalised and quoted (no syntax passes).

    >>> fts_query(["Caroline's", "!!", "dog"])
    '"caroline s" OR "dog"'
    """
    # Tokens are [0-9a-z]+, so quoting cannot be escaped; a multi-token term becomes a phrase.
    parts = dict.fromkeys(f'"{body}"' for body in map(term_tokens, terms) if body is not None)
    return " OR ".join(parts) if parts else None


def _matching(
    columns: str, match: str, namespace: str, labels: Sequence[str], conversation: str | None
) -> tuple[str, list[Any]]:
    """SQL (without ``LIMIT``) and its parameters selecting ``columns`` of the namespace's
    nodes with one of ``labels`` whose text matches the FTS5 query ``match``."""
    # CROSS JOIN pins the plan to "full-text index first": scanning the
    # scope's nodes and testing MATCH row by row is 1000x slower.
    sql = (
        f"SELECT {columns} FROM nodes_fts f CROSS JOIN nodes n ON n.pk = f.rowid "
        f"WHERE nodes_fts MATCH ? AND n.namespace = ? AND n.label IN ({marks(len(labels))})"
    )
    params: list[Any] = [match, namespace, *labels]
    if conversation is not None:
        sql += " AND n.conversation = ?"
        params.append(conversation)
    return sql, params


def keyword_candidates(
    db: Database, scope: Scope, terms: Sequence[str], limit: int, tokenized: bool = False
) -> list[tuple[str, str]]:
    """``(id, text)`` of the scope's nodes whose text holds any of ``terms`` (FTS5); with
    ``tokenized`` the text as indexed (``ftext``: tokens joined by spaces)."""
    namespace, label, conversation = scope
    match = fts_query(terms)
    if match is None:
        return []
    column = "ftext" if tokenized else "text"
    sql, params = _matching(f"n.id, n.{column}", match, namespace, [label], conversation)
    with db.lock:
        conn = db.conn
        rows = conn.execute(sql + " LIMIT ?", [*params, int(limit) + 1]).fetchall()
        if len(rows) > limit:
            # Too many: FTS5's own bm25 decides which candidates survive the cut.
            rows = conn.execute(
                sql + " ORDER BY f.rank, n.id LIMIT ?", [*params, int(limit)]
            ).fetchall()
        else:
            rows.sort()
    return [(r[0], r[1]) for r in rows]


def labelled_candidates(
    db: Database,
    namespace: str,
    labels: Sequence[str],
    terms: Sequence[str],
    conversation: str | None,
    limit: int,
) -> dict[str, list[tuple[str, str]]]:
    """:func:`keyword_candidates` (tokenized) of several labels from one full-text query.

    The index matches a term across every label, so one query per label would repeat
    that work for each. A label with more than ``limit`` candidates, or a combined
    result too large to tell, is re-read on its own (the cut by FTS5's rank).
    """
    out: dict[str, list[tuple[str, str]]] = {label: [] for label in labels}
    match = fts_query(terms)
    if match is None:
        return out
    sql, params = _matching("n.id, n.label, n.ftext", match, namespace, list(out), conversation)
    cap = len(out) * (int(limit) + 1)
    with db.lock:
        rows = db.conn.execute(sql + " LIMIT ?", [*params, cap]).fetchall()
    for id_, label, ftext in rows:
        out[label].append((id_, ftext))
    for label, found in out.items():
        if len(rows) >= cap or len(found) > limit:
            scope = Scope(namespace, label, conversation)
            out[label] = keyword_candidates(db, scope, terms, limit, tokenized=True)
        else:
            found.sort()
    return out


def search_many(
    db: Database, namespace: str, searches: Sequence[Search], conversation: str | None
) -> list[list[Hit]]:
    """:meth:`Store.search_many`: keyword searches with the same terms share one full-text
    query (:func:`labelled_candidates`); each is still scored on its own label's statistics."""
    out: list[list[Hit]] = [[] for _ in searches]
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, s in enumerate(searches):
        check_label(s.label)
        if s.vector is not None:
            out[i] = vector_search(db, Scope(namespace, s.label, conversation), s.vector, s.k)
        elif terms := tuple(query_terms(s.query or "")):
            groups.setdefault(terms, []).append(i)
    for terms, members in groups.items():
        labels = sorted({searches[i].label for i in members})
        docs = labelled_candidates(
            db, namespace, labels, terms, conversation, MAX_KEYWORD_CANDIDATES
        )
        for i in members:
            s = searches[i]
            n, avgdl = text_stats(db, namespace, s.label, conversation)
            out[i] = bm25_rank(terms, docs[s.label], n, avgdl, s.k, tokenized=True)
    return out


def text_stats(
    db: Database, namespace: str, label: str, conversation: str | None
) -> tuple[int, float]:
    """``(nodes with text, mean token count)`` of one scope, cached until a write."""
    sql, params = _scope_sql(
        "SELECT count(ntok), sum(ntok) FROM nodes WHERE namespace = ? AND label = ?",
        namespace,
        label,
        conversation,
    )
    key = (namespace, label, conversation)
    with db.lock:
        gen = db.generations[namespace]
        data_version = db.data_version()
        hit = db.text_stats.get(key)
        if hit is not None and hit[0] == gen and hit[1] == data_version:
            return hit[2]
        count, total = db.conn.execute(sql, params).fetchone()
        result = (int(count), mean_length(int(count), total))
        if len(db.text_stats) > 1024:
            db.text_stats.clear()
        db.text_stats[key] = (gen, data_version, result)
    return result
