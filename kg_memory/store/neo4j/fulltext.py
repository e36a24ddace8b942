"""Keyword search on Neo4j: the full-text index's scope tokens and Lucene queries.

Nodes with text carry ``ftext`` (the text normalised by kg-memory's own
tokenizer) and ``fscope`` (their namespace, label and conversation as hashed
tokens); the ``memory_text`` full-text index (whitespace analyzer) covers both,
so a query matches exactly kg-memory's tokens inside one scope and the
candidate set equals the embedded store's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from kg_memory.store.common import term_tokens

#: Name of the full-text index (see ``schemas/neo4j.cypher``).
FULLTEXT_INDEX_NAME = "memory_text"
#: Lucene caps a boolean query at 1024 clauses; terms are sent in groups of this many.
LUCENE_TERMS_PER_QUERY = 512


def _scope_token(kind: str, value: str) -> str:
    """A Lucene-safe token for one scope value (hashed: only ``[0-9a-z]``)."""
    return kind + hashlib.blake2b(value.encode("utf-8"), digest_size=10).hexdigest()


def _label_token(label: str) -> str:
    return "l" + label.lower()


def fscope(namespace: str, label: str, conversation: str | None) -> str:
    """The ``fscope`` value of a node: its scope as whitespace-separated tokens."""
    parts = [_scope_token("n", namespace), _label_token(label)]
    if conversation is not None:
        parts.append(_scope_token("c", conversation))
    return " ".join(parts)


def _lucene_phrase(term: str) -> str | None:
    """One query term as a quoted, escaped Lucene phrase over kg-memory's tokens."""
    body = term_tokens(term)
    if body is None:
        return None
    # Tokens are [0-9a-z]+ so nothing needs escaping; escape anyway so that a
    # future tokenizer cannot open a hole.
    body = body.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{body}"'


def lucene_queries(
    terms: Sequence[str], namespace: str, label: str, conversation: str | None
) -> list[str]:
    """Lucene queries OR-ing ``terms`` inside one scope (several if there are many terms).

    >>> lucene_queries(["Caroline's", "x"], "ns", "Turn", None)[0].split(" +fscope")[0]
    '+ftext:("caroline s" OR "x")'
    >>> lucene_queries(["!!", ""], "ns", "Turn", None)
    []
    """
    phrases = list(dict.fromkeys(p for p in map(_lucene_phrase, terms) if p))
    if not phrases:
        return []
    scope = f' +fscope:"{_scope_token("n", namespace)}" +fscope:"{_label_token(label)}"'
    if conversation is not None:
        scope += f' +fscope:"{_scope_token("c", conversation)}"'
    out = []
    for i in range(0, len(phrases), LUCENE_TERMS_PER_QUERY):
        group = phrases[i : i + LUCENE_TERMS_PER_QUERY]
        out.append("+ftext:(" + " OR ".join(group) + ")" + scope)
    return out
