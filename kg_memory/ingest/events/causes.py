"""Step 4 of the ``events`` stage: cause/effect links from discourse markers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kg_memory.ingest.artifacts import EventInfo
from kg_memory.ingest.context import IngestContext
from kg_memory.ingest.events.describe import sentences
from kg_memory.ingest.events.segmentation import TOPIC_SHIFT
from kg_memory.ingest.turns import human_date

#: Sentence-initial result markers. "So," with a comma (and "So" opening a turn) is a
#: discourse marker in chat ("So, how's the studio?"), not a result: issue 14 found most
#: wrong CAUSES edges there, so a bare "So" counts only inside one speaker's turn.
_RESULT_START = re.compile(
    r"^\W*(?:so\b(?=\s+(?:i|we|he|she|they|it|my|our|the|now)\b)|therefore|thus|hence|"
    r"as a result|that'?s why|that is why|which is why|because of (?:this|that))",
    re.IGNORECASE,
)
_WHY_MID = re.compile(r",?\s*\b(?:which is why|that'?s why|and so|as a result)\b", re.IGNORECASE)
_IN_SENTENCE_MARKER = re.compile(r"\b(?:because|since)\b|,\s*so\b", re.IGNORECASE)
_TEMPORAL_SINCE = re.compile(
    r"\bsince (?:we|i|you)? ?(?:last|first)\b|\bsince (?:then|\d|the last|our last|my last|"
    r"i was|we were|childhood|last)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class CausalLink:
    """A cause clause and its effect clause, located by turn index and char offsets."""

    marker: str
    cause_turn: int
    cause_span: tuple[int, int]
    effect_turn: int
    effect_span: tuple[int, int]


def _strip_span(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and not text[s].isalnum():
        s += 1
    while e > s and not text[e - 1].isalnum():
        e -= 1
    return s, e


def _words(text: str, span: tuple[int, int]) -> int:
    return len(text[span[0] : span[1]].split())


def find_causal_links(
    texts: Sequence[str],
    docs: Sequence[Any],
    same_block: Sequence[int],
    speakers: Sequence[str] | None = None,
) -> list[CausalLink]:
    """Cause/effect clause pairs marked by discourse connectives.

    ``same_block[i]`` is the session of turn ``i``: a sentence-initial result
    marker only reaches back to the previous turn of the same session, and a bare
    "So" only to the same speaker's words (``speakers[i]``; without speakers, to
    the same turn): answering the other speaker, "So" is a discourse marker.

    >>> import spacy
    >>> nlp = spacy.blank("en"); nlp.add_pipe("sentencizer")  # doctest: +ELLIPSIS
    <...>
    >>> texts = ["It rained all day.", "So we stayed in and watched films."]
    >>> [(c.marker, c.cause_turn, c.effect_turn) for c in find_causal_links(
    ...     texts, [nlp(t) for t in texts], [1, 1], ["Ann", "Ann"])]
    [('so', 0, 1)]
    >>> find_causal_links(texts, [nlp(t) for t in texts], [1, 1], ["Ann", "Bob"])
    []
    """
    out: list[CausalLink] = []
    prev_sent: tuple[int, tuple[int, int]] | None = None
    for i, text in enumerate(texts):
        if i > 0 and same_block[i] != same_block[i - 1]:
            prev_sent = None
        doc = docs[i] if i < len(docs) else None
        for s, e in sentences(doc, text):
            sent = text[s:e]
            found = False
            m = _RESULT_START.match(sent)
            if (
                m
                and prev_sent is not None
                and not TOPIC_SHIFT.match(sent)
                and not sent.rstrip().endswith("?")
                and (
                    not m.group(0).strip().lower().startswith("so")
                    or prev_sent[0] == i
                    or (speakers is not None and speakers[prev_sent[0]] == speakers[i])
                )
            ):
                eff = _strip_span(text, s + m.end(), e)
                if _words(text, eff) >= 2:
                    marker = m.group(0).strip(" ,").lower()
                    out.append(CausalLink(marker, prev_sent[0], prev_sent[1], i, eff))
                    found = True
            if not found and doc is not None and _IN_SENTENCE_MARKER.search(sent):
                link = _in_sentence(i, text, doc, s, e)
                if link is not None:
                    out.append(link)
                    found = True
            if not found:
                m2 = _WHY_MID.search(sent)
                if m2 and m2.start() > 0:
                    cause = _strip_span(text, s, s + m2.start())
                    eff = _strip_span(text, s + m2.end(), e)
                    if _words(text, cause) >= 2 and _words(text, eff) >= 2:
                        marker = m2.group(0).strip(" ,").lower()
                        out.append(CausalLink(marker, i, cause, i, eff))
            prev_sent = (i, _strip_span(text, s, e))
    return out


def _causal_since(tok: Any, clause: str) -> bool:
    """``since`` is causal when it opens a present-tense clause with a subject.

    Chat "since" is mostly temporal ("since we talked", "since I moved",
    "since 2016"): past tenses, perfect main clauses and time words reject it.
    """
    head = tok.head
    if _TEMPORAL_SINCE.search(clause) or head.tag_ in ("VBD", "VBN") or "ago" in clause.lower():
        return False
    if not any(c.dep_ in ("nsubj", "nsubjpass", "expl") for c in head.children):
        return False
    main = head.head
    return not any(c.tag_ == "VBN" or c.lower_ in ("'ve", "have", "has") for c in main.children)


def _in_sentence(i: int, text: str, doc: Any, s: int, e: int) -> CausalLink | None:
    """``because``/causal ``since`` clauses and mid-sentence ``, so`` within one sentence."""
    for tok in doc.char_span(s, e, alignment_mode="expand") or ():
        low = tok.lower_
        if low in ("because", "since") and tok.dep_ == "mark":
            head = tok.head
            cs, ce = head.left_edge.idx, head.right_edge.idx + len(head.right_edge.text)
            if low == "since" and not _causal_since(tok, text[cs:ce]):
                continue
            cause = _strip_span(text, tok.idx + len(tok.text), ce)
            before = _strip_span(text, s, cs)
            after = _strip_span(text, ce, e)
            effect = before if _words(text, before) >= _words(text, after) else after
            if _words(text, cause) >= 2 and _words(text, effect) >= 2:
                return CausalLink(low, i, cause, i, effect)
        elif (
            low == "so"
            and tok.i > 0
            and tok.nbor(-1).text == ","
            and tok.i + 1 < len(doc)
            and tok.nbor(1).pos_ in ("PRON", "PROPN", "DET", "NOUN")
        ):
            cause = _strip_span(text, s, tok.nbor(-1).idx)
            effect = _strip_span(text, tok.idx + 2, e)
            if _words(text, cause) >= 2 and _words(text, effect) >= 2:
                return CausalLink("so", i, cause, i, effect)
    return None


def add_causes(
    ctx: IngestContext,
    events: list[EventInfo],
    event_of_turn: list[int],
    emb: np.ndarray,
    speakers: dict[str, str],
) -> list[EventInfo]:
    texts = [t.raw.text for t in ctx.turns]
    blocks = [t.session.index for t in ctx.turns]
    subevents: list[EventInfo] = []
    who = [t.raw.speaker for t in ctx.turns]
    for link in find_causal_links(texts, ctx.docs or [], blocks, who):
        ce, ee = events[event_of_turn[link.cause_turn]], events[event_of_turn[link.effect_turn]]
        cause_text = texts[link.cause_turn][link.cause_span[0] : link.cause_span[1]]
        effect_text = texts[link.effect_turn][link.effect_span[0] : link.effect_span[1]]
        tids = sorted(
            {ctx.turns[link.cause_turn].raw.turn_id, ctx.turns[link.effect_turn].raw.turn_id}
        )
        props = {
            "marker": link.marker,
            "cause": cause_text,
            "effect": effect_text,
            "turn_ids": tids,
        }
        if ce.id != ee.id:
            ctx.add_edge(ce.id, "CAUSES", ee.id, props)
            continue
        ids = []
        times = ctx.artifacts.times or [[] for _ in ctx.turns]
        for role, ti, span, text in (
            ("cause", link.cause_turn, link.cause_span, cause_text),
            ("effect", link.effect_turn, link.effect_span, effect_text),
        ):
            rec = ctx.turns[ti]
            sid = ctx.make_id("subevent", rec.raw.turn_id, role, span[0], span[1])
            head = f"[{human_date(rec.date)}] " if rec.date else ""
            # the clause's own time expression, else its event's
            own = next((t for t in times[ti] if span[0] <= t.start < span[1]), None)
            begin, end = (own.begin, own.end_date) if own else (ce.begin, ce.end)
            ctx.add_node(
                sid,
                "Event",
                text=f"{head}{rec.raw.speaker}: {text}",
                props={
                    "description": text,
                    "turn_ids": [rec.raw.turn_id],
                    "participants": [rec.raw.speaker],
                    "place": None,
                    "begin": begin,
                    "end": end,
                    "session": rec.session.index,
                    "date": rec.date,
                    "kind": "clause",
                    "role": role,
                    "marker": link.marker,
                },
                embedding=emb[ti],
            )
            ctx.evidence(sid, [rec.id])
            ctx.add_edge(sid, "SUBEVENT_OF", ce.id, {"reason": f"{role} clause"})
            sp = speakers.get(rec.raw.speaker)
            if sp:
                ctx.add_edge(sid, "PARTICIPANT", sp)
            ids.append(sid)
            if own is not None and own.node_id:
                ctx.add_edge(sid, "DURING", own.node_id)
            subevents.append(EventInfo(sid, [ti], text, [sp] if sp else [], None, begin, end))
        ctx.add_edge(ids[0], "CAUSES", ids[1], props)
    return subevents
