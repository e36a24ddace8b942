"""Okapi BM25 scoring shared by every store.

Stores only find the *candidates* (documents that contain any query term, via
SQLite FTS5 or Neo4j's Lucene full-text index) and the corpus statistics; the
score is computed here, with kg-memory's own tokenizer, so that every backend
ranks the same documents identically.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

from kg_memory.model import Hit
from kg_memory.text import tokenize

K1 = 1.2
B = 0.75


def bm25_rank(
    terms: Sequence[str],
    candidates: Iterable[tuple[str, str]],
    n_docs: int,
    avgdl: float,
    k: int,
    *,
    k1: float = K1,
    b: float = B,
    tokenized: bool = False,
) -> list[Hit]:
    """Rank ``candidates`` (``(id, text)``) for ``terms`` by BM25.

    ``n_docs`` and ``avgdl`` describe the whole searched scope; document
    frequencies come from the candidates, which must be every document of the
    scope that contains at least one term. Ties break by id. With ``tokenized``
    each text is already :func:`~kg_memory.text.tokenize` d, tokens joined by spaces.

    >>> docs = [("a", "red apple"), ("b", "green apple pie"), ("c", "red red car")]
    >>> [h.id for h in bm25_rank(["red"], docs, n_docs=3, avgdl=2.67, k=2)]
    ['c', 'a']
    """
    if not terms:
        return []
    uniq = list(dict.fromkeys(terms))  # a fixed order: each score sums in the same order
    tfs: list[tuple[str, dict[str, int], int]] = []
    df: Counter[str] = Counter()
    for doc_id, text in candidates:
        toks = text.split() if tokenized else tokenize(text)
        # list.count per query term: a few C scans beat a Python filter over every token
        tf = {t: c for t in uniq if (c := toks.count(t))}
        if not tf:
            continue
        tfs.append((doc_id, tf, len(toks)))
        df.update(tf.keys())
    n = max(n_docs, len(tfs))
    avg = avgdl if avgdl > 0 else 1.0
    idf = {t: math.log(1.0 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in df}
    scored: list[Hit] = []
    for doc_id, tf, dl in tfs:
        norm = k1 * (1.0 - b + b * dl / avg)
        s = sum(idf[t] * c * (k1 + 1.0) / (c + norm) for t, c in tf.items())
        scored.append(Hit(doc_id, s))
    scored.sort(key=lambda h: (-h.score, h.id))
    return scored[:k]
