"""Okapi BM25 scoring shared by every store.

Stores only find the *candidates* (documents that contain any query term, via
SQLite FTS5 or Neo4j's Lucene full-text index) and the corpus statistics; the
score is computed here, with kg-memory's own tokenizer, so that every backend
ranks the same documents identically.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Iterable, Sequence

from kg_memory.model import Hit
from kg_memory.text import tokenize

K1 = 1.2
B = 0.75


#: documents whose token counts are kept between searches (a few tens of MB at most)
DOC_CACHE = 16384


@functools.lru_cache(maxsize=DOC_CACHE)
def term_counts(tokens: str) -> tuple[Counter[str], int, frozenset[str]]:
    """Each token's count in ``tokens`` (tokenized text, tokens joined by spaces), their
    number, and the distinct tokens. Cached: the same documents are candidates of search
    after search, and counting their tokens was most of a keyword search's time. Callers
    must not mutate the result.

    >>> term_counts("red red car")[:2]
    (Counter({'red': 2, 'car': 1}), 3)
    """
    toks = tokens.split()
    counts = Counter(toks)
    return counts, len(toks), frozenset(counts)


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
    docs, df = _frequencies(frozenset(terms), candidates, tokenized)
    n = max(n_docs, len(docs))
    avg = avgdl if avgdl > 0 else 1.0
    idf = {t: math.log(1.0 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
    k1p = k1 + 1.0
    scored: list[tuple[float, str]] = []
    for doc_id, tf, dl in docs:
        norm = k1 * (1.0 - b + b * dl / avg)
        s = sum(idf[t] * c * k1p / (c + norm) for t, c in tf.items())
        scored.append((-s, doc_id))
    scored.sort()  # best first, ties by id
    return [Hit(doc_id, -neg) for neg, doc_id in scored[:k]]


def _frequencies(
    terms: frozenset[str], candidates: Iterable[tuple[str, str]], tokenized: bool
) -> tuple[list[tuple[str, dict[str, int], int]], dict[str, int]]:
    """The matching documents with their query-term counts (in the document's token order,
    the order each score sums in) and length, and each term's document frequency."""
    docs: list[tuple[str, dict[str, int], int]] = []
    df: dict[str, int] = {}
    for doc_id, text in candidates:
        counts, length, distinct = term_counts(text if tokenized else " ".join(tokenize(text)))
        found = terms & distinct
        if not found:
            continue
        if len(found) == 1:
            (t,) = found
            tf = {t: counts[t]}
        else:
            tf = {t: c for t, c in counts.items() if t in found}
        docs.append((doc_id, tf, length))
        for t in tf:
            df[t] = df.get(t, 0) + 1
    return docs, df
