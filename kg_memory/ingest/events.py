"""Event segmentation (CompassMem-style): sessions -> Event nodes, their order and causes.

Algorithm
---------
1. **Segmentation** (per session, :func:`segment`). A TextTiling variant on the
   turn embeddings already in ``ctx.turn_embeddings`` (no extra model call):
   for every gap between two consecutive turns the cosine similarity between
   the mean of the ``WINDOW`` turns before the gap and the ``WINDOW`` turns
   after it is computed (cumulative sums, one vectorised pass). A gap's
   *depth score* is how far its similarity lies below the nearest peaks on
   both sides (hill climbing, as in Hearst 1997). Explicit topic-shift cues at
   the start of the turn after a gap ("By the way", "Anyway", "So, what about",
   "Speaking of", "On another note", ...) add ``CUE_BONUS``. Gaps are accepted
   greedily, deepest first, when their score reaches
   ``max(MIN_DEPTH, mean - 0.5 * std)`` of the session's depth scores and both
   resulting segments keep at least ``MIN_LEN`` turns; segments longer than
   ``MAX_LEN`` are then split at their lowest-similarity gap.
2. **Event frames** (per segment): participants are the speakers plus the
   PERSON entities mentioned; the place is the most mentioned GPE/LOC/FAC
   entity; the time is the first time expression of the segment (``begin`` /
   ``end`` from the time stage), else the session date. The description is
   extractive: the one or two most central sentences (:func:`_sentence_score`:
   centrality of the turn's embedding to the segment mean, entity and time
   mentions, length; questions and phatic openers are penalised), each with
   its speaker, ordered as spoken. Node text is ``"[<session date>] <description>"``
   (plus ``"(<time expression>: <date>)"`` when the time is explicit); the
   embedding is the normalised mean of the segment's turn embeddings.
3. **Edges.** ``EVIDENCED_BY`` every turn, ``PARTICIPANT``, ``LOCATED_AT``,
   ``DURING`` (the TimeInterval of the explicit time, when there is one; no
   TimeInterval is invented for the session date),
   ``NEXT`` between consecutive events in conversation order (sessions are in
   time order, so this is time order across sessions).
4. **Causes** (:func:`find_causal_links`), from discourse markers:
   ``because`` / causal ``since`` (the subordinate clause is the cause, the
   rest of the sentence the effect), ``, so`` / ``which is why`` mid-sentence
   (before = cause, after = effect), and sentence-initial ``So`` /
   ``Therefore`` / ``Thus`` / ``Hence`` / ``As a result`` / ``That's why``
   (the previous sentence, possibly in the previous turn, is the cause). When
   cause and effect fall in different events, the cause event ``CAUSES`` the
   effect event (props: marker, cause, effect, turn_ids). When both lie in one
   event, two clause-level *sub-events* are created (``kind="clause"``,
   ``role`` cause/effect), each ``SUBEVENT_OF`` the event, the cause one
   ``CAUSES`` the effect one.
5. **Back-references** become ``SUBEVENT_OF``: an event containing a cue such
   as "I told you about", "remember the/when", "last time", "as I mentioned" is
   attached to the most similar event of an *earlier* session (cosine of the
   event embeddings, one matrix product, at least ``SUBEVENT_MIN_SIM``).

Leaves ``ctx.artifacts["events"]`` (top-level events, in time order, as
:class:`~kg_memory.ingest.artifacts.EventInfo`) and ``"subevents"`` (clause
sub-events).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from spacy.attrs import IDX, SENT_START

from kg_memory.embed import unit_mean
from kg_memory.ingest.artifacts import EntityInfo, EventInfo, Mention, TimeMention
from kg_memory.ingest.context import IngestContext
from kg_memory.ingest.turns import human_date

NAME = "events"
REQUIRES: tuple[str, ...] = ("entities", "time")

#: Turns on each side of a gap whose mean embeddings are compared.
WINDOW = 2
#: Shortest and longest event (turns); shorter sessions are one event.
MIN_LEN = 3
MAX_LEN = 12
#: Smallest depth score that can make a boundary, and the bonus of a cue phrase.
MIN_DEPTH = 0.08
CUE_BONUS = 0.2
#: Cosine (centred embeddings) an earlier event needs to be the parent of a back-referencing one.
SUBEVENT_MIN_SIM = 0.4
#: Longest description (characters) before a second sentence is left out.
MAX_DESCRIPTION = 220

PLACE_TYPES = frozenset({"GPE", "LOC", "FAC"})

#: Topic-shift cues at the start of a turn.
TOPIC_SHIFT = re.compile(
    r"^\W*(?:by the way|btw|anyway|anyhow|anyways|speaking of|on another note|on a different note|"
    r"changing the subject|oh,? (?:and|also)|so,? (?:what|how) about|what about|how about|"
    r"also,|oh,? by the way|guess what|i wanted to (?:tell|ask|share)|you know what)\b",
    re.IGNORECASE,
)
#: Cues that a segment returns to something told in an earlier session.
BACK_REFERENCE = re.compile(
    r"\b(?:(?:i|we) (?:told|mentioned(?: to)?|talked to) you about|as i (?:said|mentioned)|"
    r"remember (?:the|when|that|my|our|how)|(?:the )?last time (?:we|i)|i mentioned)\b",
    re.IGNORECASE,
)
_PHATIC = re.compile(
    r"^\W*(?:wow|thanks|thank you|yeah|yep|yes|hey|hi|hello|cool|awesome|great|congrats|"
    r"absolutely|agreed|glad|sounds|that's (?:great|awesome|cool|amazing|so)|totally)\b",
    re.IGNORECASE,
)
_RESULT_START = re.compile(
    r"^\W*(?:so\b(?=\s*,|\s+(?:i|we|he|she|they|it|my|our|the|now)\b)|therefore|thus|hence|"
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


# ---------------------------------------------------------------------------
# segmentation


def gap_similarities(emb: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Cosine similarity across each gap between consecutive rows of ``emb``.

    Gap ``g`` lies between rows ``g`` and ``g + 1``; it compares the mean of
    up to ``window`` rows ending at ``g`` with the mean of up to ``window``
    rows starting at ``g + 1``.

    >>> e = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=np.float32)
    >>> gap_similarities(e).round(2).tolist()
    [0.71, 0.0, 0.71]
    """
    m = len(emb)
    if m < 2:
        return np.zeros(0, dtype=np.float64)
    csum = np.vstack([np.zeros((1, emb.shape[1])), np.cumsum(emb, axis=0, dtype=np.float64)])
    g = np.arange(m - 1)
    left = csum[g + 1] - csum[np.maximum(0, g + 1 - window)]
    right = csum[np.minimum(m, g + 1 + window)] - csum[g + 1]
    num = np.einsum("ij,ij->i", left, right)
    den = np.linalg.norm(left, axis=1) * np.linalg.norm(right, axis=1)
    return np.where(den > 0, num / np.maximum(den, 1e-12), 0.0)


def depth_scores(sims: np.ndarray) -> np.ndarray:
    """TextTiling depth: climb to the nearest peak on each side of every gap.

    >>> depth_scores(np.array([0.9, 0.5, 0.8, 0.7])).round(2).tolist()
    [0.0, 0.7, 0.0, 0.1]
    """
    s = sims.tolist()
    out = np.zeros(len(s), dtype=np.float64)
    for g, v in enumerate(s):
        lp = v
        k = g - 1
        while k >= 0 and s[k] >= lp:
            lp = s[k]
            k -= 1
        rp = v
        k = g + 1
        while k < len(s) and s[k] >= rp:
            rp = s[k]
            k += 1
        out[g] = (lp - v) + (rp - v)
    return out


def segment(
    emb: np.ndarray,
    cues: Sequence[bool] | None = None,
    *,
    window: int = WINDOW,
    min_len: int = MIN_LEN,
    max_len: int = MAX_LEN,
    min_depth: float = MIN_DEPTH,
    cue_bonus: float = CUE_BONUS,
) -> list[tuple[int, int]]:
    """Split ``len(emb)`` consecutive turns into ``[start, end)`` segments.

    ``cues[i]`` says that turn ``i`` opens with a topic-shift cue.

    >>> a, b = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
    >>> segment(np.array([a, a, a, a, b, b, b, b]))
    [(0, 4), (4, 8)]
    >>> segment(np.array([a] * 8), cues=[False] * 5 + [True] + [False] * 2)
    [(0, 5), (5, 8)]
    """
    m = len(emb)
    if m < 2 * min_len:
        return [(0, m)] if m else []
    sims = gap_similarities(emb, window)
    depth = depth_scores(sims)
    score = depth.copy()
    if cues is not None:
        for g in range(m - 1):
            if cues[g + 1]:
                score[g] += cue_bonus
    cut = max(min_depth, float(depth.mean() - 0.5 * depth.std()))
    bounds: list[int] = []  # a boundary b starts a new segment at turn b
    for g in sorted(range(m - 1), key=lambda g: (-score[g], g)):
        if score[g] < cut:
            break
        b = g + 1
        lo = max([x for x in bounds if x < b], default=0)
        hi = min([x for x in bounds if x > b], default=m)
        if b - lo >= min_len and hi - b >= min_len:
            bounds.append(b)
    edges = [0, *sorted(bounds), m]
    out: list[tuple[int, int]] = []
    for s, e in itertools.pairwise(edges):
        out.extend(_split_long(sims, s, e, min_len, max_len))
    return out


def _split_long(
    sims: np.ndarray, start: int, end: int, min_len: int, max_len: int
) -> list[tuple[int, int]]:
    if end - start <= max_len:
        return [(start, end)]
    # gap g separates turn g and g+1: allowed b = g+1 in [start+min_len, end-min_len]
    cands = range(start + min_len, end - min_len + 1)
    b = min(cands, key=lambda b: (sims[b - 1], b))
    return _split_long(sims, start, b, min_len, max_len) + _split_long(
        sims, b, end, min_len, max_len
    )


# ---------------------------------------------------------------------------
# helpers shared with the notes and hyperedges stages


def speaker_entities(ctx: IngestContext) -> dict[str, str]:
    """Speaker name -> Entity node id, from the entities stage (empty if unknown).

    Uses the stage's ``"speaker_ids"`` artifact when present; otherwise a speaker matches a PERSON entity of the same name or alias; failing that,
    the entity their first-person pronouns were resolved to.
    """
    entities: dict[str, EntityInfo] = ctx.artifacts.get("entities") or {}
    given = ctx.artifacts.get("speaker_ids")
    if isinstance(given, dict) and given:
        return {str(k): str(v) for k, v in given.items() if v}
    by_name: dict[str, str] = {}
    for eid in sorted(entities):
        info = entities[eid]
        if info.type != "PERSON":
            continue
        for name in (info.name, *sorted(info.aliases)):
            by_name.setdefault(name.lower(), eid)
    out: dict[str, str] = {}
    speakers = {t.raw.speaker for t in ctx.turns}
    for sp in sorted(speakers):
        if sp.lower() in by_name:
            out[sp] = by_name[sp.lower()]
    mentions: list[list[Mention]] = ctx.artifacts.get("mentions") or []
    if len(out) < len(speakers) and mentions:
        votes: dict[str, Counter[str]] = {}
        for rec, ms in zip(ctx.turns, mentions, strict=False):
            for m in ms:
                if m.pronoun and m.text.lower() in ("i", "me", "my", "mine", "myself"):
                    votes.setdefault(rec.raw.speaker, Counter())[m.entity_id] += 1
        for sp, c in votes.items():
            if sp not in out:
                out[sp] = min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return out


def turn_mentions(ctx: IngestContext) -> list[list[Mention]]:
    """``ctx.artifacts["mentions"]`` padded to one list per turn."""
    ms: list[list[Mention]] = ctx.artifacts.get("mentions") or []
    return [ms[i] if i < len(ms) else [] for i in range(len(ctx.turns))]


def turn_times(ctx: IngestContext) -> list[list[TimeMention]]:
    """``ctx.artifacts["times"]`` padded to one list per turn."""
    ts: list[list[TimeMention]] = ctx.artifacts.get("times") or []
    return [ts[i] if i < len(ts) else [] for i in range(len(ctx.turns))]


#: Pseudo-count that shrinks the mean removed by :func:`centred` for small sets.
CENTRE_PRIOR = 8


def centring_mean(emb: np.ndarray) -> np.ndarray:
    """The mean row of ``emb``, shrunk by ``n / (n + CENTRE_PRIOR)``.

    With few rows the mean is mostly the rows themselves (two rows centred on
    their exact mean always point in opposite directions), so less of it is
    removed.
    """
    n = len(emb)
    if n == 0:
        return np.zeros(emb.shape[1:], dtype=emb.dtype)
    return np.asarray(emb.mean(axis=0) * (n / (n + CENTRE_PRIOR)), dtype=emb.dtype)


def centred(emb: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """Unit rows after removing ``mean`` (default :func:`centring_mean` of the rows).

    Turn index texts share a date and speaker prefix and a chatty style, which
    puts every raw cosine around 0.55 (MiniLM on LoCoMo); centring removes that
    common component so that a fixed threshold means "related".

    >>> e = np.array([[1.0, 1.0], [1.0, 0.9], [1.0, 1.1]])
    >>> c = centred(e, e.mean(axis=0))  # raw cosine of rows 1 and 2: 0.99
    >>> round(float(c[1] @ c[2]), 2)
    -1.0
    """
    mu = centring_mean(emb) if mean is None else mean
    c = emb - mu
    norms = np.linalg.norm(c, axis=1, keepdims=True)
    return np.asarray(c / np.where(norms > 0, norms, 1.0), dtype=emb.dtype)


def _embeddings(ctx: IngestContext) -> np.ndarray:
    if ctx.turn_embeddings is not None and len(ctx.turn_embeddings) == len(ctx.turns):
        return np.asarray(ctx.turn_embeddings, dtype=np.float32)
    dim = getattr(ctx.embedder, "dim", 384)
    return np.zeros((len(ctx.turns), dim), dtype=np.float32)


# ---------------------------------------------------------------------------
# descriptions


def _sentences(doc: Any, text: str) -> list[tuple[int, int]]:
    """Char spans of the sentences of a turn (the whole text without a parse).

    Reads the sentence starts with one ``Doc.to_array`` call (no Token objects).

    >>> import spacy
    >>> nlp = spacy.blank("en"); _ = nlp.add_pipe("sentencizer")
    >>> _sentences(nlp("Hi there. How are you?"), "Hi there. How are you?")
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


def _describe(
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
        for s, e in _sentences(doc, text):
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


# ---------------------------------------------------------------------------
# causes


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
    texts: Sequence[str], docs: Sequence[Any], same_block: Sequence[int]
) -> list[CausalLink]:
    """Cause/effect clause pairs marked by discourse connectives.

    ``same_block[i]`` is the session of turn ``i``: a sentence-initial result
    marker only reaches back to the previous turn of the same session.

    >>> import spacy
    >>> nlp = spacy.blank("en"); nlp.add_pipe("sentencizer")  # doctest: +ELLIPSIS
    <...>
    >>> texts = ["It rained all day.", "So we stayed in and watched films."]
    >>> [(c.marker, c.cause_turn, c.effect_turn) for c in find_causal_links(
    ...     texts, [nlp(t) for t in texts], [1, 1])]
    [('so', 0, 1)]
    """
    out: list[CausalLink] = []
    prev_sent: tuple[int, tuple[int, int]] | None = None
    for i, text in enumerate(texts):
        if i > 0 and same_block[i] != same_block[i - 1]:
            prev_sent = None
        doc = docs[i] if i < len(docs) else None
        for s, e in _sentences(doc, text):
            sent = text[s:e]
            found = False
            m = _RESULT_START.match(sent)
            if m and prev_sent is not None and not TOPIC_SHIFT.match(sent):
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


# ---------------------------------------------------------------------------
# the stage


def run(ctx: IngestContext) -> None:
    """Segment every session into events and add Event nodes and their edges."""
    n = len(ctx.turns)
    if n == 0:
        ctx.artifacts["events"] = []
        ctx.artifacts["subevents"] = []
        return
    emb = _embeddings(ctx)
    entities: dict[str, EntityInfo] = ctx.artifacts.get("entities") or {}
    mentions = turn_mentions(ctx)
    times = turn_times(ctx)
    speakers = speaker_entities(ctx)

    # -- segments per session -------------------------------------------------
    segments: list[list[int]] = []
    start = 0
    while start < n:
        sid = ctx.turns[start].session_id
        end = start
        while end < n and ctx.turns[end].session_id == sid:
            end += 1
        cues = [bool(TOPIC_SHIFT.match(ctx.turns[i].raw.text)) for i in range(start, end)]
        for s, e in segment(emb[start:end], cues):
            segments.append(list(range(start + s, start + e)))
        start = end

    # -- event frames ----------------------------------------------------------
    events: list[EventInfo] = []
    event_of_turn = [0] * n
    event_vecs = np.zeros((len(segments), emb.shape[1]), dtype=np.float32)
    for k, idxs in enumerate(segments):
        first, last = ctx.turns[idxs[0]], ctx.turns[idxs[-1]]
        eid = ctx.make_id("event", first.raw.turn_id, last.raw.turn_id)
        vec = unit_mean(emb[idxs])
        event_vecs[k] = vec
        for i in idxs:
            event_of_turn[i] = k

        participants: list[str] = []
        for i in idxs:
            sp = speakers.get(ctx.turns[i].raw.speaker)
            if sp and sp not in participants:
                participants.append(sp)
        places: Counter[str] = Counter()
        place_first: dict[str, int] = {}
        for i in idxs:
            for m in mentions[i]:
                if m.pronoun or m.entity_id not in entities:
                    continue
                etype = entities[m.entity_id].type
                if etype == "PERSON" and m.entity_id not in participants:
                    participants.append(m.entity_id)
                elif etype in PLACE_TYPES:
                    places[m.entity_id] += 1
                    place_first.setdefault(m.entity_id, len(place_first))
        place = min(places, key=lambda p: (-places[p], place_first[p])) if places else None
        tm = next((t for i in idxs for t in times[i]), None)
        session_day = (first.date or "")[:10] or None
        begin = tm.begin if tm else session_day
        end_date = tm.end_date if tm else session_day

        description = _describe(ctx, idxs, emb, vec, mentions, times)
        head = f"[{human_date(first.date)}] " if first.date else ""
        span = (
            f"{tm.begin}..{tm.end_date}"
            if tm and tm.end_date != tm.begin
            else (tm.begin if tm else "")
        )
        when = f" ({tm.text}: {span})" if tm else ""
        names = [entities[p].name if p in entities else p for p in participants]
        turn_ids = [ctx.turns[i].raw.turn_id for i in idxs]
        ctx.add_node(
            eid,
            "Event",
            text=f"{head}{description}{when}",
            props={
                "description": description,
                "turn_ids": turn_ids,
                "participants": names,
                "place": entities[place].name if place and place in entities else None,
                "begin": begin,
                "end": end_date,
                "time_text": tm.text if tm else None,
                "session": first.session.index,
                "date": first.date,
                "kind": "segment",
            },
            embedding=vec,
        )
        ctx.evidence(eid, [ctx.turns[i].id for i in idxs])
        for p in participants:
            ctx.add_edge(eid, "PARTICIPANT", p)
        if place:
            ctx.add_edge(eid, "LOCATED_AT", place)
        if tm and tm.node_id:
            ctx.add_edge(eid, "DURING", tm.node_id)
        if events:
            same = ctx.turns[events[-1].turn_indexes[0]].session_id == first.session_id
            ctx.add_edge(events[-1].id, "NEXT", eid, {"same_session": same})
        events.append(EventInfo(eid, idxs, description, participants, place, begin, end_date))

    subevents = _causes(ctx, events, event_of_turn, emb, speakers)
    _back_references(ctx, events, event_vecs)
    ctx.artifacts["events"] = events
    ctx.artifacts["subevents"] = subevents


def _causes(
    ctx: IngestContext,
    events: list[EventInfo],
    event_of_turn: list[int],
    emb: np.ndarray,
    speakers: dict[str, str],
) -> list[EventInfo]:
    texts = [t.raw.text for t in ctx.turns]
    blocks = [t.session.index for t in ctx.turns]
    subevents: list[EventInfo] = []
    for link in find_causal_links(texts, ctx.docs or [], blocks):
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
        for role, ti, span, text in (
            ("cause", link.cause_turn, link.cause_span, cause_text),
            ("effect", link.effect_turn, link.effect_span, effect_text),
        ):
            rec = ctx.turns[ti]
            sid = ctx.make_id("subevent", rec.raw.turn_id, role, span[0], span[1])
            head = f"[{human_date(rec.date)}] " if rec.date else ""
            ctx.add_node(
                sid,
                "Event",
                text=f"{head}{rec.raw.speaker}: {text}",
                props={
                    "description": text,
                    "turn_ids": [rec.raw.turn_id],
                    "participants": [rec.raw.speaker],
                    "place": None,
                    "begin": ce.begin,
                    "end": ce.end,
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
            subevents.append(EventInfo(sid, [ti], text, [sp] if sp else [], None, ce.begin, ce.end))
        ctx.add_edge(ids[0], "CAUSES", ids[1], props)
    return subevents


def _back_references(ctx: IngestContext, events: list[EventInfo], vecs: np.ndarray) -> None:
    if len(events) < 2:
        return
    unit = centred(vecs)
    sims = unit @ unit.T
    sessions = [ctx.turns[ev.turn_indexes[0]].session.index for ev in events]
    for k, ev in enumerate(events):
        cue = next(
            (m for i in ev.turn_indexes if (m := BACK_REFERENCE.search(ctx.turns[i].raw.text))),
            None,
        )
        if cue is None:
            continue
        earlier = [j for j in range(k) if sessions[j] < sessions[k]]
        if not earlier:
            continue
        j = max(earlier, key=lambda j: (float(sims[k, j]), -j))
        if sims[k, j] >= SUBEVENT_MIN_SIM:
            ctx.add_edge(
                ev.id,
                "SUBEVENT_OF",
                events[j].id,
                {
                    "reason": "back-reference",
                    "cue": cue.group(0),
                    "similarity": round(float(sims[k, j]), 4),
                },
            )
