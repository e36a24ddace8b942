"""Events stage: segmentation, event frames, NEXT, causes, sub-events, determinism.

Contexts are built by hand (turns, HashEmbedder embeddings, real spaCy docs,
hand-made entities/time artifacts), so these tests do not depend on the
entities and time stages' heuristics.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from kg_memory.embed import HashEmbedder
from kg_memory.ids import stable_id
from kg_memory.ingest import events
from kg_memory.ingest import turns as turns_stage
from kg_memory.ingest.artifacts import Artifacts, EntityInfo, Mention, TimeMention
from kg_memory.ingest.context import IngestContext
from kg_memory.ingest.events import segmentation
from kg_memory.nlp import load_nlp
from kg_memory.testing import make_sessions as make_conv


def make_ctx(
    sessions: list[list[tuple[str, str]]], store: Any = None, namespace: str = "ns", cid: str = "c1"
) -> IngestContext:
    """A context with turns, HashEmbedder embeddings, spaCy docs and fake artifacts.

    Entities: the two speakers (PERSON) and any of ``Boston``/``Sweden`` (GPE),
    ``Jon`` (PERSON) and ``LGBTQ`` (ORG) that a turn mentions. Time: the word
    ``yesterday`` (the day before the session). Facts: none (tests add them).
    """
    conv = make_conv(sessions, cid)
    embedder = HashEmbedder()
    ctx = IngestContext(
        namespace=namespace,
        conversation=conv,
        conversation_node_id=stable_id("conversation", namespace, conv.conversation_id),
        store=store,
        embedder=embedder,
    )
    turns_stage.build(ctx)
    ctx.turn_embeddings = embedder.embed([t.index_text for t in ctx.turns])
    turns_stage.attach_embeddings(ctx)
    nlp = load_nlp()
    ctx.docs = [nlp(t.raw.text) for t in ctx.turns]

    entities: dict[str, EntityInfo] = {}

    def entity(name: str, etype: str) -> str:
        eid = stable_id("entity", namespace, name.lower())
        if eid not in entities:
            entities[eid] = EntityInfo(eid, name, etype)
            ctx.add_node(
                eid, "Entity", text=name, props={"name": name, "type": etype}, conversation=None
            )
        return eid

    speaker_ids = {s: entity(s, "PERSON") for s in conv.speakers}
    mentions: list[list[Mention]] = []
    times: list[list[TimeMention]] = []
    named = {"Boston": "GPE", "Sweden": "GPE", "Jon": "PERSON", "LGBTQ": "ORG"}
    for i, rec in enumerate(ctx.turns):
        text = rec.raw.text
        ms: list[Mention] = []
        for name, etype in named.items():
            at = text.find(name)
            if at >= 0:
                eid = entity(name, etype)
                entities[eid].turn_indexes.add(i)
                ms.append(Mention(eid, name, at, at + len(name), etype))
        at = text.find("I ")
        if at >= 0:
            ms.append(
                Mention(speaker_ids[rec.raw.speaker], "I", at, at + 1, "PERSON", pronoun=True)
            )
        mentions.append(ms)
        tms: list[TimeMention] = []
        at = text.find("yesterday")
        if at >= 0:
            day = (rec.date or "")[:8] + f"{int((rec.date or '')[8:10]) - 1:02d}"
            nid = stable_id("time", namespace, day)
            ctx.add_node(
                nid, "TimeInterval", text=day, props={"begin": day, "end": day}, conversation=None
            )
            tms.append(TimeMention("yesterday", at, at + 9, day, day, "day", nid))
        times.append(tms)
    ctx.artifacts = Artifacts(
        entities=entities, mentions=mentions, times=times, speaker_ids=speaker_ids, facts=[]
    )
    return ctx


def snapshot(ctx: IngestContext) -> tuple[dict[str, tuple[Any, ...]], dict[Any, Any]]:
    """Nodes (label, text, props, embedding bytes) and edges (props), for equality."""
    nodes = {
        nid: (
            n.label,
            n.text,
            repr(sorted(n.props.items())),
            None if n.embedding is None else n.embedding.tobytes(),
        )
        for nid, n in ctx.nodes.items()
    }
    edges = {k: repr(sorted(e.props.items())) for k, e in ctx.edges.items()}
    return nodes, edges


S1 = [
    ("Caroline", "Hi Melanie! Good to see you."),
    ("Melanie", "Hey Caroline! How are you doing?"),
    ("Caroline", "I went to the LGBTQ support group in Boston yesterday and it was powerful."),
    ("Melanie", "What happened at the LGBTQ support group in Boston?"),
    ("Caroline", "People at the support group in Boston shared their transgender stories."),
    ("Melanie", "By the way, Jon and I ran a charity race for mental health."),
    ("Caroline", "A charity race for mental health! I love that you ran it with Jon."),
    ("Melanie", "The charity race raised money for mental health because it matters to me."),
]
S2 = [
    ("Melanie", "Hey Caroline, remember the charity race I told you about?"),
    ("Caroline", "Yes, the charity race for mental health with Jon!"),
    ("Melanie", "The charity race for mental health raised more money with Jon."),
]


def _event_nodes(ctx: IngestContext, kind: str = "segment") -> list[Any]:
    return [n for n in ctx.nodes.values() if n.label == "Event" and n.props["kind"] == kind]


@pytest.fixture(scope="module")
def ctx() -> IngestContext:
    c = make_ctx([S1, S2])
    events.run(c)
    return c


def test_segment_respects_min_and_max_length() -> None:
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(40, 16)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    segs = events.segment(emb)
    assert segs[0][0] == 0 and segs[-1][1] == 40
    assert all(a[1] == b[0] for a, b in itertools.pairwise(segs))
    assert all(events.MIN_LEN <= e - s <= events.MAX_LEN for s, e in segs)
    assert events.segment(emb[:4]) == [(0, 4)]  # too short to split
    assert events.segment(emb[:0]) == []


def test_topic_shift_cue_makes_a_boundary(ctx: IngestContext) -> None:
    segs = [ev.turn_indexes for ev in ctx.artifacts.events]
    assert segs[0] == [0, 1, 2, 3, 4]  # "By the way" opens turn 5
    assert segs[1] == [5, 6, 7]
    assert segs[2] == [8, 9, 10]  # sessions never share an event


def test_event_frame(ctx: IngestContext) -> None:
    ev = ctx.artifacts.events[0]
    node = ctx.nodes[ev.id]
    assert node.props["turn_ids"] == ["D1:1", "D1:2", "D1:3", "D1:4", "D1:5"]
    assert node.props["participants"] == ["Caroline", "Melanie"]
    assert node.props["place"] == "Boston"
    assert node.props["begin"] == node.props["end"] == "2023-05-07"  # "yesterday"
    assert node.props["session"] == 1
    assert node.text.startswith("[8 May 2023] ")
    assert "LGBTQ support group in Boston yesterday" in node.props["description"]
    assert "(yesterday: 2023-05-07)" in node.text
    ents = ctx.artifacts.entities
    boston = next(e for e, i in ents.items() if i.name == "Boston")
    assert (ev.id, "LOCATED_AT", boston) in ctx.edges
    for sp in ctx.artifacts.speaker_ids.values():
        assert (ev.id, "PARTICIPANT", sp) in ctx.edges
    tm = ctx.artifacts.times[2][0]
    assert (ev.id, "DURING", tm.node_id) in ctx.edges
    # embedding: normalised mean of its turns' embeddings
    assert node.embedding is not None
    mean = ctx.turn_embeddings[ev.turn_indexes].mean(axis=0)
    assert np.allclose(node.embedding, mean / np.linalg.norm(mean), atol=1e-6)
    # a mentioned person is a participant; no time mention -> session date
    race = ctx.nodes[ctx.artifacts.events[1].id]
    assert "Jon" in race.props["participants"]
    assert race.props["begin"] == "2023-05-08"


def test_next_chain_across_sessions(ctx: IngestContext) -> None:
    evs = ctx.artifacts.events
    for a, b in itertools.pairwise(evs):
        assert (a.id, "NEXT", b.id) in ctx.edges
    assert ctx.edges[(evs[1].id, "NEXT", evs[2].id)].props["same_session"] is False
    assert sum(e.type == "NEXT" for e in ctx.edges.values()) == len(evs) - 1


def test_because_inside_one_event_makes_clause_subevents(ctx: IngestContext) -> None:
    race = ctx.artifacts.events[1]
    subs = _event_nodes(ctx, "clause")
    cause = next(n for n in subs if n.props["role"] == "cause")
    effect = next(n for n in subs if n.props["role"] == "effect")
    assert cause.props["description"] == "it matters to me"
    assert effect.props["description"] == "The charity race raised money for mental health"
    edge = ctx.edges[(cause.id, "CAUSES", effect.id)]
    assert edge.props["marker"] == "because" and edge.props["turn_ids"] == ["D1:8"]
    for n in (cause, effect):
        assert (n.id, "SUBEVENT_OF", race.id) in ctx.edges
        assert (n.id, "EVIDENCED_BY", ctx.turns[7].id) in ctx.edges


def test_cause_across_events(monkeypatch: pytest.MonkeyPatch) -> None:
    turns = [
        ("Caroline", "It rained all week in Boston and the roads were flooded."),
        ("Melanie", "Oh no, that sounds awful."),
        ("Caroline", "Yes, the whole city was wet."),
        ("Caroline", "So we cancelled the camping trip with the kids."),
        ("Melanie", "Camping can wait until summer."),
        ("Caroline", "The kids were sad about the camping trip."),
    ]
    c = make_ctx([turns])
    monkeypatch.setattr(events, "segment", lambda emb, cues=None: [(0, 3), (3, 6)])
    events.run(c)
    a, b = c.artifacts.events
    edge = c.edges[(a.id, "CAUSES", b.id)]
    assert edge.props["marker"] == "so"
    assert edge.props["cause"] == "Yes, the whole city was wet"
    assert edge.props["effect"] == "we cancelled the camping trip with the kids"
    assert _event_nodes(c, "clause") == []


def test_back_reference_is_a_subevent_of_an_earlier_session_event(ctx: IngestContext) -> None:
    race, later = ctx.artifacts.events[1], ctx.artifacts.events[2]
    edge = ctx.edges[(later.id, "SUBEVENT_OF", race.id)]
    assert edge.props["reason"] == "back-reference"
    assert edge.props["cue"].lower().startswith("remember the")


def test_causal_markers() -> None:
    nlp = load_nlp()
    texts = [
        "Since we last talked, I moved to Boston.",  # temporal since: no cause
        "I painted it because it was calming.",
        "It was raining, so I stayed home with the kids.",
        "So, what about your trip?",  # topic shift, not a result
    ]
    links = events.find_causal_links(texts, [nlp(t) for t in texts], [1, 1, 1, 1])
    got = [
        (
            lk.marker,
            texts[lk.cause_turn][slice(*lk.cause_span)],
            texts[lk.effect_turn][slice(*lk.effect_span)],
        )
        for lk in links
    ]
    assert got == [
        ("because", "it was calming", "I painted it"),
        ("so", "It was raining", "I stayed home with the kids"),
    ]


def test_provenance_and_determinism() -> None:
    a = make_ctx([S1, S2])
    b = make_ctx([S1, S2])
    events.run(a)
    events.run(b)
    assert snapshot(a) == snapshot(b)
    events.run(a)  # re-running on the same context changes nothing
    assert snapshot(a) == snapshot(b)
    for n in a.nodes.values():
        if n.label == "Event":
            tids = {a.turn_by_source_id()[t].id for t in n.props["turn_ids"]}
            assert tids and all((n.id, "EVIDENCED_BY", t) in a.edges for t in tids)


def test_without_artifacts_or_docs() -> None:
    c = make_ctx([S1])
    c.artifacts = Artifacts()
    c.docs = None
    events.run(c)
    evs = c.artifacts.events
    assert evs and all(c.nodes[e.id].props["participants"] == [] for e in evs)
    assert all(c.nodes[e.id].props["begin"] == "2023-05-08" for e in evs)


def test_next_follows_resolved_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """An event told later about an earlier time comes first in the NEXT chain."""
    turns = [
        ("Caroline", "I started a pottery class today."),
        ("Melanie", "Nice, how was it?"),
        ("Caroline", "Great fun, the teacher was kind."),
        ("Caroline", "I ran a marathon in Boston yesterday."),
        ("Melanie", "Wow, that must have been hard."),
        ("Caroline", "It was, but I trained a lot."),
    ]
    c = make_ctx([turns])
    monkeypatch.setattr(events, "segment", lambda emb, cues=None: [(0, 3), (3, 6)])
    events.run(c)
    pottery, marathon = c.artifacts.events
    edge = c.edges[(marathon.id, "NEXT", pottery.id)]
    assert edge.props["by"] == "time"
    assert (pottery.id, "NEXT", marathon.id) not in c.edges


def test_next_stays_on_each_speakers_time_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Events about different people are not ordered against each other."""
    turns = [
        ("Caroline", "I started a pottery class and I love it."),
        ("Melanie", "Nice, how was it?"),
        ("Caroline", "Great fun, I met the teacher."),
        ("Melanie", "I painted a lake and I framed it."),
        ("Caroline", "Lovely colours."),
        ("Melanie", "I gave it to my mum."),
        ("Caroline", "I signed up for the next pottery term."),
        ("Melanie", "Good for you."),
        ("Caroline", "I bought clay too."),
    ]
    c = make_ctx([turns])
    monkeypatch.setattr(
        segmentation, "segment", lambda emb, cues=None, **_: [(0, 3), (3, 6), (6, 9)]
    )
    events.run(c)
    first, painting, second = c.artifacts.events
    assert c.nodes[first.id].props["subjects"] == ["Caroline"]
    assert c.nodes[painting.id].props["subjects"] == ["Melanie"]
    nexts = {(e.src, e.dst): e.props for e in c.edges.values() if e.type == "NEXT"}
    assert nexts == {
        (first.id, second.id): {"same_session": True, "by": "conversation", "subject": "Caroline"}
    }


def test_next_leaves_overlapping_and_undated_past_unordered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An untimed event told in session 2 may have happened any day since session 1: a
    time expression inside that stretch does not order it; an undated look back ("when
    I was a kid") is ordered against nothing."""
    s1 = [("Caroline", "I ran in Boston."), ("Melanie", "Wow."), ("Caroline", "I was tired.")]
    s2 = [
        ("Caroline", "I ran again yesterday in Boston."),
        ("Melanie", "Cool."),
        ("Caroline", "I felt great."),
        ("Caroline", "I joined a club, I love it."),
        ("Melanie", "Nice."),
        ("Caroline", "I meet them weekly."),
        ("Caroline", "When I was a kid I swam a lot."),
        ("Melanie", "Fun."),
        ("Caroline", "I miss it."),
    ]
    c = make_ctx([s1, s2])
    monkeypatch.setattr(
        segmentation,
        "segment",
        lambda emb, cues=None, **_: [(0, 3)] if len(emb) == 3 else [(0, 3), (3, 6), (6, 9)],
    )
    events.run(c)
    run1, run2, club, kid = c.artifacts.events
    nexts = {(e.src, e.dst) for e in c.edges.values() if e.type == "NEXT"}
    assert c.nodes[kid.id].props["past_cue"] == "when i was a"
    assert c.nodes[run2.id].props["time_text"] == "yesterday"
    assert nexts == {(run1.id, club.id)}  # both undated: the order told
    # the club (any day since session 1) and yesterday's run: no order; the kid: none


def test_back_reference_needs_a_shared_noun(ctx: IngestContext) -> None:
    """The cue's sentence must name something of the earlier event ("charity race")."""
    race, later = ctx.artifacts.events[1], ctx.artifacts.events[2]
    assert {"charity", "race"} <= set(ctx.edges[(later.id, "SUBEVENT_OF", race.id)].props["shared"])
    s2 = [
        ("Melanie", "Hey Caroline, as I mentioned, things are busy."),
        ("Caroline", "Busy is good!"),
        ("Melanie", "The charity race for mental health raised more money with Jon."),
    ]
    c = make_ctx([S1, s2])
    events.run(c)
    assert not any(
        e.type == "SUBEVENT_OF" and e.props.get("reason") == "back-reference"
        for e in c.edges.values()
    )
