"""Bounds on what one request may ask of a store, so that no request can take a server down.

A 26 KB question of 3,000 distinct words once ran a Neo4j server out of memory:
every distinct word became a Lucene clause over the whole full-text index, and
BM25 scored every candidate for every word. Two bounds now hold on both stores:

* a question longer than :data:`MAX_QUESTION_CHARS` is refused with a
  :class:`~kg_memory.errors.QueryError` that says how long it is;
* keyword search uses at most :data:`MAX_QUERY_TERMS` distinct terms of a
  question, the longest ones (a stand-in for the rarest: the corpus document
  frequencies are not known when a question is tokenized, and in English the
  longer words are the rarer; no LoCoMo question comes near 64 terms, so
  rankings there are unchanged).

The server side has its own bound: ``scripts/neo4j-server`` gives every
transaction a memory limit (``db.memory.transaction.max``).
"""

from __future__ import annotations

from collections.abc import Sequence

from kg_memory.errors import QueryError

#: Characters a question may have (a long paragraph; LoCoMo's longest has 198).
MAX_QUESTION_CHARS = 4000
#: Distinct terms of a question sent to keyword search.
MAX_QUERY_TERMS = 64


def check_question(question: str) -> str:
    """``question`` if it is a usable question, else a :class:`QueryError`.

    >>> check_question("Where did Maya go hiking?")
    'Where did Maya go hiking?'
    >>> check_question("x" * 5000)
    Traceback (most recent call last):
    ...
    kg_memory.errors.QueryError: the question has 5,000 characters; at most 4,000 are allowed
    """
    if not isinstance(question, str):
        raise QueryError(f"the question must be text, not {type(question).__name__}")
    if len(question) > MAX_QUESTION_CHARS:
        raise QueryError(
            f"the question has {len(question):,} characters; "
            f"at most {MAX_QUESTION_CHARS:,} are allowed"
        )
    return question


def cap_terms(terms: Sequence[str], limit: int = MAX_QUERY_TERMS) -> list[str]:
    """At most ``limit`` of ``terms`` (distinct), the longest, kept in their order.

    >>> cap_terms(["a", "bbb", "cc", "dddd"], limit=2)
    ['bbb', 'dddd']
    """
    if len(terms) <= limit:
        return list(terms)
    ranked = sorted(range(len(terms)), key=lambda i: (-len(terms[i]), i))[:limit]
    return [terms[i] for i in sorted(ranked)]


__all__ = ["MAX_QUERY_TERMS", "MAX_QUESTION_CHARS", "cap_terms", "check_question"]
