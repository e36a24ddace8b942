"""Step 3 of the ``events`` stage: ``NEXT`` edges, one time line per person.

An edge ``A -NEXT-> B`` says that B happens after A in real-world time. Two
kinds of wrong edge come from chaining every event of a conversation in one
line: events of different people (or threads) whose order nothing decides,
and events whose resolved times contradict the order they were told in. So:

* **Subjects.** An event belongs to the time line of each speaker who talks
  about themselves in it ("I", "me", "my" in their own turns), keeping every
  speaker with at least :data:`SUBJECT_SHARE` of the most self-referring one's
  count. "You" and vocatives ("Thanks, Jo!") do not count: in a chat they
  mostly react to the other's news. An event in which nobody speaks of
  themselves is on no time line.
* **Spans.** An event's span is the hull of every time expression its turns
  resolve (:func:`span`): a segment that speaks of last week and of next month
  spans both, so it is ordered against little. An event without a time
  expression tells of something since the previous session: its ordering span
  runs from the previous session's day to its own (:func:`untimed_begin`).
  One that looks back without a date ("when I was a kid", "used to", "growing
  up": :data:`PAST_CUE`) tells of an older happening at no known time: its
  span opens at :data:`DISTANT_PAST`, so nothing is ordered against it.
* **Edges.** On each time line, events sorted by span (then as told), an
  event links to the first later event that is decidably after it: both
  without a time expression and told later (the order they were told in), or
  the first span ending before the second begins. Overlapping spans are left
  unordered. Props: ``same_session``, ``by`` ("time" or "conversation") and
  ``subject`` (the person's name).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from kg_memory.ingest.artifacts import Mention, TimeMention

#: Share of the most mentioned speaker's count another speaker needs to be a subject too.
SUBJECT_SHARE = 0.5
#: Undated looking back: the event tells of something older than the conversation.
PAST_CUE = re.compile(
    r"\b(?:when (?:i|we) (?:was|were) (?:a|little|young|younger|in)|as a (?:kid|child|teen)|"
    r"growing up|back (?:then|in (?:the day|high school|college|school))|used to|childhood|"
    r"since (?:i|we) (?:was|were)|(?:in|during) (?:high school|college))\b",
    re.IGNORECASE,
)
#: The span start of an event that tells of the undated past.
DISTANT_PAST = "0001-01-01"


def past_cue(texts: Sequence[str]) -> str | None:
    """The first undated look back in ``texts`` ("when I was a kid"), or ``None``.

    >>> past_cue(["Nice!", "I used to play the violin."]), past_cue(["I play the violin."])
    ('used to', None)
    """
    for text in texts:
        m = PAST_CUE.search(text)
        if m:
            return m.group(0).lower()
    return None


@dataclass(frozen=True, slots=True)
class Placed:
    """One event on the time lines: its span, whether a time expression gave it, who."""

    index: int  # position in the caller's events list
    begin: str  # ISO date (for an untimed event: the previous session's day)
    end: str
    timed: bool
    told: tuple[int, int]  # (session, position of its first turn)
    subjects: tuple[str, ...]  # Entity node ids of the speakers it is about


def span(times: Sequence[TimeMention], session_day: str | None) -> tuple[str | None, str | None]:
    """The hull of the resolved time expressions, else the session day (both ``None`` if none).

    >>> t = lambda b, e: TimeMention("x", 0, 1, b, e, "day", "")
    >>> span([t("2023-05-01", "2023-05-07"), t("2023-06-01", "2023-06-30")], "2023-05-20")
    ('2023-05-01', '2023-06-30')
    >>> span([], "2023-05-20")
    ('2023-05-20', '2023-05-20')
    """
    if times:
        return min(t.begin for t in times), max(t.end_date for t in times)
    return session_day, session_day


def untimed_begin(day: str | None, session_days: Sequence[str | None]) -> str | None:
    """The latest session day before ``day`` (``day`` itself when there is none).

    >>> untimed_begin("2023-05-20", ["2023-05-01", "2023-05-20", "2023-05-09"])
    '2023-05-09'
    >>> untimed_begin("2023-05-01", ["2023-05-01"])
    '2023-05-01'
    """
    if day is None:
        return None
    return max((d for d in session_days if d and d < day), default=day)


#: First-person pronouns: a speaker speaking of themselves.
FIRST_PERSON = frozenset({"i", "me", "my", "mine", "myself"})


def subjects(
    turns: Sequence[tuple[str | None, Sequence[Mention]]], speaker_ids: Sequence[str]
) -> tuple[str, ...]:
    """The speakers (Entity ids, in ``speaker_ids`` order) who speak of themselves.

    ``turns`` holds each turn's speaker entity and mentions.

    >>> m = lambda e, w="I": Mention(e, w, 0, 1, "PERSON", True)
    >>> subjects([("ann", [m("ann"), m("ann")]), ("bob", [m("bob")])], ["ann", "bob"])
    ('ann', 'bob')
    >>> subjects([("ann", [m("ann"), m("ann"), m("ann")]), ("bob", [m("ann", "you")])], ["ann", "bob"])
    ('ann',)
    >>> subjects([("ann", [])], ["ann", "bob"])
    ()
    """
    counts = Counter(
        m.entity_id
        for who, ms in turns
        for m in ms
        if m.pronoun and m.entity_id == who and m.text.lower() in FIRST_PERSON
    )
    if not counts:
        return ()
    top = max(counts.values())
    return tuple(s for s in speaker_ids if counts[s] and counts[s] >= SUBJECT_SHARE * top)


def after(a: Placed, b: Placed) -> bool:
    """Whether ``b`` is decidably after ``a``.

    >>> p = lambda i, b, e, timed: Placed(i, b, e, timed, (1, i), ("ann",))
    >>> after(p(0, "2023-05-01", "2023-05-02", False), p(1, "2023-05-01", "2023-05-02", False))
    True
    >>> after(p(0, "2023-05-01", "2023-05-07", True), p(1, "2023-05-02", "2023-05-09", False))
    False
    >>> after(p(0, "2023-05-01", "2023-05-07", True), p(1, "2023-05-08", "2023-05-09", False))
    True
    """
    if not a.timed and not b.timed:
        return a.told < b.told
    return a.end < b.begin


def next_pairs(placed: Sequence[Placed]) -> list[tuple[Placed, Placed, str]]:
    """``(a, b, subject)`` for every NEXT edge: per subject, each event to its first
    decidable successor in span order (see the module docstring)."""
    out: list[tuple[Placed, Placed, str]] = []
    seen: set[tuple[int, int]] = set()
    people = list(dict.fromkeys(s for p in placed for s in p.subjects))
    for person in people:
        line = sorted(
            (p for p in placed if person in p.subjects), key=lambda p: (p.begin, p.end, p.told)
        )
        for k, a in enumerate(line):
            b = next((b for b in line[k + 1 :] if after(a, b)), None)
            if b is not None and (a.index, b.index) not in seen:
                seen.add((a.index, b.index))
                out.append((a, b, person))
    return out
