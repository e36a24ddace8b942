"""Step 2 of the ``events`` stage: an event's extractive description."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from spacy.attrs import IDX, SENT_START

from kg_memory.ingest.artifacts import Mention, TimeMention
from kg_memory.ingest.context import IngestContext

#: Longest description (characters) before a second sentence is left out.
MAX_DESCRIPTION = 220
_PHATIC = re.compile(
    r"^\W*(?:wow|thanks|thank you|yeah|yep|yes|hey|hi|hello|cool|awesome|great|congrats|"
    r"absolutely|agreed|glad|sounds|that's (?:great|awesome|cool|amazing|so)|totally)\b",
    re.IGNORECASE,
)


def sentences(doc: Any, text: str) -> list[tuple[int, int]]:
    """Char spans of the sentences of a turn (the whole text without a parse).

    Reads the sentence starts with one ``Doc.to_array`` call (no Token objects).

    >>> import spacy
    >>> nlp = spacy.blank("en"); _ = nlp.add_pipe("sentencizer")
    >>> sentences(nlp("Hi there. How are you?"), "Hi there. How are you?")
    [(0, 10), (10, 22)]
    """
    whole = [(0, len(text))] if text.strip() else []
    if doc is None or len(doc) == 0 or not doc.has_annotation("SENT_START"):
        return whole
    arr = doc.to_array([SENT_START, IDX]).tolist()
    starts = [idx for k, (st, idx) in enumerate(arr) if k == 0 or st == 1]
    return [(a, b) for a, b in zip(starts, [*starts[1:], len(text)], strict=True) if a < b]


def _sentence_score(sent: str, centrality: float, n_mentions: int) -> float:
    """Heuristic informativeness of a candidate description sentence.

    >>> _sentence_score("I went to a support group yesterday.", 0.8, 1) > _sentence_score(
    ...     "Wow, that's cool!", 0.8, 0)
    True
    """
    words = len(sent.split())
    score = centrality + 0.1 * min(3, n_mentions) + 0.02 * min(words, 15)
    if words < 4:
        score -= 0.3
    if sent.rstrip().endswith("?"):
        score -= 0.3
    if _PHATIC.match(sent):
        score -= 0.2
    return score


def describe(
    ctx: IngestContext,
    idxs: list[int],
    emb: np.ndarray,
    mean: np.ndarray,
    mentions: list[list[Mention]],
    times: list[list[TimeMention]],
) -> str:
    cands: list[tuple[float, int, int, str]] = []  # (-score, turn, start, text)
    cent = emb[idxs] @ mean
    docs = ctx.docs or []
    for k, i in enumerate(idxs):
        rec = ctx.turns[i]
        text = rec.raw.text
        doc = docs[i] if i < len(docs) else None
        spans = [(m.start, m.end) for m in mentions[i] if not m.pronoun]
        spans += [(t.start, t.end) for t in times[i]]
        for s, e in sentences(doc, text):
            sent = text[s:e].strip()
            if not sent:
                continue
            n = sum(1 for a, b in spans if a >= s and b <= e)
            cands.append((-_sentence_score(sent, float(cent[k]), n), i, s, sent))
    if not cands:
        return ""
    cands.sort()
    chosen = [cands[0]]
    for c in cands[1:]:
        if c[1] != chosen[0][1] and len(chosen[0][3]) + len(c[3]) <= MAX_DESCRIPTION:
            if c[0] <= cands[0][0] + 0.25:
                chosen.append(c)
            break
    chosen.sort(key=lambda c: (c[1], c[2]))
    return " ".join(f"{ctx.turns[c[1]].raw.speaker}: {c[3]}" for c in chosen)
