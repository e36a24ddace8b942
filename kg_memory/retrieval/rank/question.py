"""What a question asks for: its type, subject names, category word, time constraint and cues.

Pure text analysis (regular expressions and the time stage's resolver), no model:
the ranker's question-level features and the candidate generators read it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from kg_memory.ingest.temporal import find_times
from kg_memory.text import STOPWORDS, query_terms, tokenize

#: Question types, in the order of the ``qtype`` feature's one-hot columns.
QTYPES: tuple[str, ...] = (
    "when",
    "who",
    "where",
    "how_many",
    "how",
    "why",
    "which",
    "what",
    "yesno",
)
_YESNO = re.compile(
    r"^(would|could|is|are|was|were|do|does|did|has|have|had|can|will|should)\b", re.I
)
_AUX = r"(?:does|do|did|has|have|had|is|are|was|were|can|could|would|will)"
#: "What books has X read", "Which instruments does X play", "What kind of music ..."
_FOCUS = re.compile(
    rf"^(?:what|which)\s+(?:kinds?\s+of\s+|types?\s+of\s+|sorts?\s+of\s+)?"
    rf"((?:[a-z-]+\s+){{0,2}}?[a-z-]+)\s+{_AUX}\b",
    re.I,
)
#: "What are X's hobbies", "What is X's favourite food"
_POSSESSIVE = re.compile(
    r"^(?i:what|which)\s+(?i:are|is|were|was)\s+[A-Z][\w-]*'s\s+((?:[a-z-]+\s+){0,2}?[a-z-]+)\b"
)
_CURRENT = re.compile(r"\b(now|currently|current|still|anymore|latest|these days)\b", re.I)
_TIME_CUE = re.compile(
    r"\b(before|after|since|until|during|ago|last|first|recently|year|month|week|"
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"19\d\d|20\d\d)\b",
    re.I,
)
_BOTH = re.compile(r"\b(both|in common|and)\b", re.I)
_NAME = re.compile(r"\b[A-Z][a-z]+(?:'s)?\b")


@dataclass(frozen=True, slots=True)
class QuestionInfo:
    """Everything the ranker reads from the question text alone."""

    text: str
    terms: tuple[str, ...]
    qtype: str
    #: the asked category ("books", "instruments"), if the question names one
    focus: str | None
    #: capitalised words after the first (lower-cased, possessive 's dropped)
    names: tuple[str, ...]
    current: bool
    time_cue: bool
    coordinated: bool
    #: one sub-question per coordinated subject ("What have Jo and Ana both painted?" ->
    #: "What have Jo painted?", "What have Ana painted?"); empty when not coordinated
    subquestions: tuple[tuple[str, str], ...] = ()
    #: what is asked about, without the names: the question's terms less its names
    #: ("What activities does Melanie partake in?" -> "activities partake"); its
    #: embedding matches the turns about the topic whoever they address
    content: str | None = None


def question_type(question: str) -> str:
    """The wh-word (or ``yesno``) that decides what kind of answer is asked for.

    >>> question_type("How many times did Jon go to Paris?"), question_type("Would Ana like it?")
    ('how_many', 'yesno')
    """
    q = question.strip().lower()
    if q.startswith("how many") or q.startswith("how much") or q.startswith("how long"):
        return "how_many"
    first = tokenize(q)[:1]
    if first and first[0] in ("when", "who", "whom", "whose", "where", "how", "why", "which"):
        return {"whom": "who", "whose": "who"}.get(first[0], first[0])
    if _YESNO.match(q):
        return "yesno"
    for wh in ("when", "where", "who", "why", "which", "how"):  # "In which city ..."
        if re.search(rf"\b{wh}\b", q):
            return wh
    return "what"


def focus_phrase(question: str) -> str | None:
    """The category the question asks members of, if it names one.

    >>> focus_phrase("What books has Melanie read?"), focus_phrase("What are Jon's hobbies?")
    ('books', 'hobbies')
    >>> focus_phrase("What kind of music does Ana like?"), focus_phrase("When did Ana go?")
    ('music', None)
    >>> focus_phrase("What does Melanie do on hikes?") is None
    True
    """
    q = question.strip()
    m = _FOCUS.match(q) or _POSSESSIVE.match(q)
    if not m:
        return None
    # a capitalised word is a name ("What does Melanie do ...": no category), not a category
    words = [
        w.lower()
        for w in m.group(1).split()
        if w.lower() not in STOPWORDS and not (w[:1].isupper() and not w.isupper())
    ]
    return " ".join(words) or None


_JOINER = r"(?:\s*,\s*|\s+and\s+|\s*,\s*and\s+)"


def decompose(question: str, names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``(name, sub-question)`` per subject of a coordination of names ("X and Y", "both X
    and Y", "X, Y and Z"): the coordination is replaced by each name alone, and "both" and
    "in common" are dropped.

    >>> decompose("What movies have both Jo and Nate seen?", ("jo", "nate"))
    (('jo', 'What movies have Jo seen?'), ('nate', 'What movies have Nate seen?'))
    >>> decompose("What did Jo say to Nate?", ("jo", "nate"))
    ()
    """
    if len(names) < 2:
        return ()
    alt = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    name = rf"(?:{alt})(?:'s)?"
    rx = re.compile(rf"(?:\bboth\s+)?\b({name}(?:{_JOINER}{name})+)\b", re.I)
    m = rx.search(question)
    if not m:
        return ()
    found = [w.lower().removesuffix("'s") for w in re.findall(name, m.group(1), re.I)]
    subjects = list(dict.fromkeys(found))
    if len(subjects) < 2:
        return ()
    out = []
    for subject in subjects:
        word = next(w for w in re.findall(name, m.group(1), re.I) if w.lower().startswith(subject))
        text = question[: m.start()] + word + question[m.end() :]
        text = re.sub(r"\s+(?:both|in common)\b", "", text, flags=re.I)
        out.append((subject, re.sub(r"\s{2,}", " ", text).strip()))
    return tuple(out)


def content_query(question: str, names: tuple[str, ...]) -> str | None:
    """The question's terms without its names (``None`` when nothing else is left).

    A question embedding is dominated by the person it names, which every turn
    addressed to that person shares; the content query keeps only the topic.

    >>> content_query("What activities does Melanie partake in?", ("melanie",))
    'activities partake'
    >>> content_query("Who is Melanie?", ("melanie",)) is None
    True
    """
    asked = set(names)
    words = [t for t in query_terms(question) if t not in asked]
    return " ".join(words) or None


def analyse(question: str) -> QuestionInfo:
    """:class:`QuestionInfo` of ``question``.

    >>> info = analyse("What instruments does Melanie still play?")
    >>> info.qtype, info.focus, info.names, info.current
    ('what', 'instruments', ('melanie',), True)
    """
    names = tuple(
        dict.fromkeys(
            m.group(0).lower().removesuffix("'s") for m in _NAME.finditer(question) if m.start() > 0
        )
    )
    return QuestionInfo(
        text=question,
        terms=tuple(query_terms(question)),
        qtype=question_type(question),
        focus=focus_phrase(question),
        names=names,
        current=bool(_CURRENT.search(question)),
        time_cue=bool(_TIME_CUE.search(question)),
        coordinated=bool(_BOTH.search(question)),
        subquestions=decompose(question, names),
        content=content_query(question, names),
    )


def time_range(question: str, ref: date | None) -> tuple[date, date] | None:
    """The span of the time expressions in ``question``, resolved against ``ref``.

    >>> time_range("What did Ana do in May 2023?", date(2023, 8, 1))
    (datetime.date(2023, 5, 1), datetime.date(2023, 5, 31))
    """
    if ref is None:
        return None
    found = find_times(question, ref)
    if not found:
        return None
    return min(f[3] for f in found), max(f[4] for f in found)
