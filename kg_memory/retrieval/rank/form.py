"""How a turn is phrased: who it talks about and whether it tells or asks.

Evidence about a person is mostly what that person reports ("I signed up for a
pottery class"), less what is said *to* them ("Your painting is awesome!"), and
rarely a question ("What inspired you?"). These features read that from the
utterance's pronouns and sentence ends -- a regular expression, no model.
"""

from __future__ import annotations

import re

#: first-person words (the speaker reports about themselves or their group)
FIRST = frozenset(
    [
        "i",
        "me",
        "my",
        "mine",
        "myself",
        "we",
        "us",
        "our",
        "ours",
        "ourselves",
        "i'm",
        "i've",
        "i'd",
        "i'll",
        "we're",
        "we've",
        "we'd",
        "we'll",
    ]
)
#: second-person words (the speaker talks about the addressee)
SECOND = frozenset(["you", "your", "yours", "yourself", "you're", "you've", "you'd", "you'll"])
#: the columns :func:`turn_form` returns, in order
COLUMNS: tuple[str, ...] = (
    "first_person",
    "second_person",
    "person_balance",
    "question_share",
    "ends_question",
)
_WORD = re.compile(r"[a-z']+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def turn_form(utterance: str) -> tuple[float, ...]:
    """Share of first- and second-person words, their difference in counts, the share of
    sentences that are questions, and whether the turn ends with a question.

    >>> turn_form("I went hiking. Have you been?")
    (0.1667, 0.1667, 0.0, 0.5, 1.0)
    >>> turn_form("")
    (0.0, 0.0, 0.0, 0.0, 0.0)
    """
    text = utterance.replace("\u2019", "'").strip()
    words = _WORD.findall(text.lower())
    n = max(len(words), 1)
    first = sum(w in FIRST for w in words)
    second = sum(w in SECOND for w in words)
    sentences = [s for s in _SENTENCE_END.split(text) if s]
    asked = sum(s.rstrip().endswith("?") for s in sentences)
    return (
        round(first / n, 4),
        round(second / n, 4),
        float(first - second),
        round(asked / max(len(sentences), 1), 4),
        1.0 if text.endswith("?") else 0.0,
    )
