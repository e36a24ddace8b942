"""The ``events`` stage's run: segments, event frames, causes, back-references."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kg_memory.embed import unit_mean
from kg_memory.ingest import shared
from kg_memory.ingest.artifacts import EntityInfo, EventInfo, Mention, TimeMention
from kg_memory.ingest.context import IngestContext
from kg_memory.ingest.entities.lexicon import LIGHT_NOUNS
from kg_memory.ingest.events import describe as description
from kg_memory.ingest.events import order, segmentation
from kg_memory.ingest.events.causes import add_causes
from kg_memory.ingest.shared import (
    centred,
    speaker_entities,
    turn_matrix,
    turn_mentions,
    turn_times,
)
from kg_memory.ingest.turns import human_date

#: Cosine (centred embeddings) an earlier event needs to be the parent of a back-referencing one.
SUBEVENT_MIN_SIM = 0.4

PLACE_TYPES = frozenset({"GPE", "LOC", "FAC"})

#: Cues that a segment returns to something told in an earlier session.
BACK_REFERENCE = re.compile(
    r"\b(?:(?:i|we) (?:told|mentioned(?: to)?|talked to) you about|as i (?:said|mentioned)|"
    r"remember (?:the|when|that|my|our|how)|(?:the )?last time (?:we|i)|i mentioned)\b",
    re.IGNORECASE,
)


def config() -> dict[str, object]:
    """The thresholds of the stage (read when called: they are part of the ingest fingerprint)."""
    return {
        "window": segmentation.WINDOW,
        "min_len": segmentation.MIN_LEN,
        "max_len": segmentation.MAX_LEN,
        "min_depth": segmentation.MIN_DEPTH,
        "cue_bonus": segmentation.CUE_BONUS,
        "max_description": description.MAX_DESCRIPTION,
        "subevent_min_sim": SUBEVENT_MIN_SIM,
        "centre_prior": shared.CENTRE_PRIOR,
        "subject_share": order.SUBJECT_SHARE,
    }


@dataclass
class _Inputs:
    """What every event frame reads: turn vectors and the earlier stages' artifacts."""

    emb: np.ndarray
    entities: dict[str, EntityInfo]
    mentions: list[list[Mention]]
    times: list[list[TimeMention]]
    speakers: dict[str, str]


def run(ctx: IngestContext) -> None:
    """Segment every session into events and add Event nodes and their edges."""
    if not ctx.turns:
        ctx.artifacts.events = []
        ctx.artifacts.subevents = []
        return
    inp = _Inputs(
        turn_matrix(ctx),
        ctx.artifacts.entities or {},
        turn_mentions(ctx),
        turn_times(ctx),
        speaker_entities(ctx),
    )
    segments = _segments(ctx, inp.emb)
    events: list[EventInfo] = []
    event_of_turn = [0] * len(ctx.turns)
    event_vecs = np.zeros((len(segments), inp.emb.shape[1]), dtype=np.float32)
    for k, idxs in enumerate(segments):
        vec = unit_mean(inp.emb[idxs])
        event_vecs[k] = vec
        for i in idxs:
            event_of_turn[i] = k
        events.append(_add_event(ctx, inp, idxs, vec))
    _next_edges(ctx, events)
    subevents = add_causes(ctx, events, event_of_turn, inp.emb, inp.speakers)
    _back_references(ctx, events, event_vecs)
    ctx.artifacts.events = events
    ctx.artifacts.subevents = subevents


def _segments(ctx: IngestContext, emb: np.ndarray) -> list[list[int]]:
    """Turn indexes of each segment, session by session (:func:`segmentation.segment`)."""
    n = len(ctx.turns)
    segments: list[list[int]] = []
    start = 0
    while start < n:
        sid = ctx.turns[start].session_id
        end = start
        while end < n and ctx.turns[end].session_id == sid:
            end += 1
        cues = [
            bool(segmentation.TOPIC_SHIFT.match(ctx.turns[i].raw.text)) for i in range(start, end)
        ]
        for s, e in segmentation.segment(
            emb[start:end],
            cues,
            window=segmentation.WINDOW,
            min_len=segmentation.MIN_LEN,
            max_len=segmentation.MAX_LEN,
            min_depth=segmentation.MIN_DEPTH,
            cue_bonus=segmentation.CUE_BONUS,
        ):
            segments.append(list(range(start + s, start + e)))
        start = end
    return segments


def _participants_and_place(
    ctx: IngestContext, inp: _Inputs, idxs: list[int]
) -> tuple[list[str], str | None]:
    """The speakers and mentioned PERSONs, and the most mentioned place (first on ties)."""
    participants: list[str] = []
    for i in idxs:
        sp = inp.speakers.get(ctx.turns[i].raw.speaker)
        if sp and sp not in participants:
            participants.append(sp)
    places: Counter[str] = Counter()
    place_first: dict[str, int] = {}
    for i in idxs:
        for m in inp.mentions[i]:
            if m.pronoun or m.entity_id not in inp.entities:
                continue
            etype = inp.entities[m.entity_id].type
            if etype == "PERSON" and m.entity_id not in participants:
                participants.append(m.entity_id)
            elif etype in PLACE_TYPES:
                places[m.entity_id] += 1
                place_first.setdefault(m.entity_id, len(place_first))
    place = min(places, key=lambda p: (-places[p], place_first[p])) if places else None
    return participants, place


def _add_event(ctx: IngestContext, inp: _Inputs, idxs: list[int], vec: np.ndarray) -> EventInfo:
    """The Event node of one segment, its edges, and its :class:`EventInfo`."""
    first, last = ctx.turns[idxs[0]], ctx.turns[idxs[-1]]
    eid = ctx.make_id("event", first.raw.turn_id, last.raw.turn_id)
    participants, place = _participants_and_place(ctx, inp, idxs)
    tm = next((t for i in idxs for t in inp.times[i]), None)
    begin, end_date = order.span(
        [t for i in idxs for t in inp.times[i]], (first.date or "")[:10] or None
    )
    about = order.subjects(
        [(inp.speakers.get(ctx.turns[i].raw.speaker), inp.mentions[i]) for i in idxs],
        list(inp.speakers.values()),
    )
    names = {v: k for k, v in inp.speakers.items()}
    text = description.describe(ctx, idxs, inp.emb, vec, inp.mentions, inp.times)
    head = f"[{human_date(first.date)}] " if first.date else ""
    span = (
        f"{tm.begin}..{tm.end_date}" if tm and tm.end_date != tm.begin else (tm.begin if tm else "")
    )
    when = f" ({tm.text}: {span})" if tm else ""
    ents = inp.entities
    ctx.add_node(
        eid,
        "Event",
        text=f"{head}{text}{when}",
        props={
            "description": text,
            "turn_ids": [ctx.turns[i].raw.turn_id for i in idxs],
            "participants": [ents[p].name if p in ents else p for p in participants],
            "subjects": [names[s] for s in about],
            "place": ents[place].name if place and place in ents else None,
            "begin": begin,
            "end": end_date,
            "time_text": tm.text if tm else None,
            "past_cue": order.past_cue([ctx.turns[i].raw.text for i in idxs]),
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
    return EventInfo(eid, idxs, text, participants, place, begin, end_date, list(about))


def _next_edges(ctx: IngestContext, events: list[EventInfo]) -> None:
    """``NEXT`` along each speaker's time line (:mod:`~kg_memory.ingest.events.order`)."""
    names = {v: k for k, v in speaker_entities(ctx).items()}
    days = [(s.date_time or "")[:10] or None for s in ctx.conversation.sessions]
    placed = []
    for k, ev in enumerate(events):
        first = ctx.turns[ev.turn_indexes[0]]
        told = (first.session.index, first.raw.position)
        placed.append(place(ctx.nodes[ev.id].props, k, told, ev.subjects, days))
    for a, b, person in order.next_pairs([p for p in placed if p is not None]):
        ctx.add_edge(
            events[a.index].id,
            "NEXT",
            events[b.index].id,
            {
                "same_session": a.told[0] == b.told[0],
                "by": "time" if a.timed or b.timed else "conversation",
                "subject": names[person],
            },
        )


def place(
    props: Mapping[str, Any],
    index: int,
    told: tuple[int, int],
    subjects: Sequence[str],
    days: Sequence[str | None],
) -> order.Placed | None:
    """An Event node's place on the time lines, from its props (``None``: no date).

    ``told`` is (session, position) of its first turn, ``days`` every session's day.
    """
    begin, end = props.get("begin"), props.get("end")
    if not begin or not end:
        return None
    timed = props.get("time_text") is not None
    if props.get("past_cue"):
        begin, timed = order.DISTANT_PAST, True
    elif not timed:
        begin = order.untimed_begin(str(end)[:10], days) or begin
    return order.Placed(index, str(begin)[:10], str(end)[:10], timed, told, tuple(subjects))


def _back_references(ctx: IngestContext, events: list[EventInfo], vecs: np.ndarray) -> None:
    """``SUBEVENT_OF`` from an event with a back-reference cue to the earlier event it names.

    The target must share a content noun with the cue's sentence ("remember the
    *camping trip*": an earlier-session event whose turns say "camping" or "trip")
    and be the most similar such event, at least ``SUBEVENT_MIN_SIM``; a cue whose
    sentence names nothing ("as I said") links nothing.
    """
    if len(events) < 2 or ctx.docs is None:
        return
    unit = centred(vecs)
    sims = unit @ unit.T
    sessions = [ctx.turns[ev.turn_indexes[0]].session.index for ev in events]
    nouns = [_nouns(ctx.docs[ev.turn_indexes[0] : ev.turn_indexes[-1] + 1]) for ev in events]
    for k, ev in enumerate(events):
        cue, words = _cue(ctx, ev)
        if cue is None or not words:
            continue
        earlier = [j for j in range(k) if sessions[j] < sessions[k] and words & nouns[j]]
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
                    "cue": cue,
                    "similarity": round(float(sims[k, j]), 4),
                    "shared": sorted(words & nouns[j]),
                },
            )


def _nouns(docs: list[Any]) -> set[str]:
    """Content-noun lemmas of some parses (light nouns such as "time" left out)."""
    return {
        t.lemma_.lower()
        for d in docs
        for t in d
        if t.pos_ in ("NOUN", "PROPN") and t.is_alpha and t.lemma_.lower() not in LIGHT_NOUNS
    }


def _cue(ctx: IngestContext, ev: EventInfo) -> tuple[str | None, set[str]]:
    """The first back-reference cue of an event and the content nouns of its sentence."""
    docs = ctx.docs or []
    for i in ev.turn_indexes:
        m = BACK_REFERENCE.search(ctx.turns[i].raw.text)
        if m is None:
            continue
        span = docs[i].char_span(m.start(), m.end(), alignment_mode="expand")
        sent = [span.sent] if span is not None else [docs[i]]
        return m.group(0), _nouns(sent)
    return None, set()
