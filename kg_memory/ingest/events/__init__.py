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
   ``NEXT`` on each speaker's time line, only where the order is decidable
   (:mod:`~kg_memory.ingest.events.order`: an event is on the line of each
   speaker who speaks of themselves in it; spans from its time expressions,
   else the stretch since the previous session; overlapping spans stay
   unordered; props ``same_session``, ``by``, ``subject``).
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
   attached to the most similar event of an *earlier* session that shares a
   content noun with the cue's sentence (cosine of the event embeddings, at
   least ``SUBEVENT_MIN_SIM``); a cue naming nothing links nothing.

Leaves ``ctx.artifacts.events`` (top-level events, in the order told, as
:class:`~kg_memory.ingest.artifacts.EventInfo`) and ``ctx.artifacts.subevents``
(clause sub-events).
"""

from __future__ import annotations

from kg_memory.ingest.events.causes import CausalLink, find_causal_links
from kg_memory.ingest.events.segmentation import (
    CUE_BONUS,
    MAX_LEN,
    MIN_DEPTH,
    MIN_LEN,
    TOPIC_SHIFT,
    WINDOW,
    depth_scores,
    gap_similarities,
    segment,
)
from kg_memory.ingest.events.steps import BACK_REFERENCE, SUBEVENT_MIN_SIM, config, run

__all__ = [
    "BACK_REFERENCE",
    "CUE_BONUS",
    "MAX_LEN",
    "MIN_DEPTH",
    "MIN_LEN",
    "SUBEVENT_MIN_SIM",
    "TOPIC_SHIFT",
    "WINDOW",
    "CausalLink",
    "config",
    "depth_scores",
    "find_causal_links",
    "gap_similarities",
    "run",
    "segment",
]
