"""Text normalisation shared by every keyword index (one tokenizer for all stores)."""

from __future__ import annotations

import re
import unicodedata

from kg_memory.limits import cap_terms

#: Runs of letters and digits of any script (``\\w`` without ``_``).
_TOKEN = re.compile(r"[^\W_]+")

#: A short English stop-word list; query terms in it are dropped.
STOPWORDS: frozenset[str] = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "s",
        "t",
        "d",
        "ll",
        "m",
        "re",
        "ve",
    ]
)


#: English month names, January first.
MONTHS: tuple[str, ...] = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


def tokenize(text: str) -> list[str]:
    """Lower-case tokens: runs of letters and digits of any script, accents kept
    (Unicode NFC first, so a decomposed accent gives the same token). Scripts
    written without spaces (Chinese, Japanese) give one token per run.

    >>> tokenize("Caroline's LGBTQ group, 7 May 2023!")
    ['caroline', 's', 'lgbtq', 'group', '7', 'may', '2023']
    >>> tokenize("Zürich, Иван, 北京")
    ['zürich', 'иван', '北京']
    """
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return _TOKEN.findall(text.lower())


def query_terms(text: str) -> list[str]:
    """Distinct non-stop-word tokens of a query, in order of first appearance
    (at most :data:`~kg_memory.limits.MAX_QUERY_TERMS`, the longest).

    >>> query_terms("What did Caroline do at the LGBTQ support group?")
    ['caroline', 'lgbtq', 'support', 'group']
    """
    seen: dict[str, None] = {}
    for tok in tokenize(text):
        if tok not in STOPWORDS and tok not in seen:
            seen[tok] = None
    return cap_terms(list(seen))  # a huge question must not become a huge index query
