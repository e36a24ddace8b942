"""Hyperedges stage: reified n-ary units with MEMBER edges (event frames, entity-session facts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kg_memory.config import EmbeddedConfig
from kg_memory.embed import HashEmbedder
from kg_memory.formats.model import RawConversation, RawSession, RawTurn
from kg_memory.ids import stable_id
from kg_memory.ingest import hyperedges
from kg_memory.ingest import turns as turns_stage
from kg_memory.ingest.artifacts import Artifacts, EntityInfo, EventInfo, FactInfo
from kg_memory.ingest.context import IngestContext
from kg_memory.ingest.pipeline import IngestReport, Pipeline
from kg_memory.store import open_store

DATE = "2023-05-08T13:56:00"
TURNS = [
    ("Caroline", "I went to the LGBTQ support group in Boston yesterday."),
    ("Melanie", "That is great. I adopted a dog last week."),
    ("Caroline", "I also joined a choir and I bought a new guitar."),
    ("Melanie", "I love the dog and I walk the dog every day."),
]


def make_conv(turns: list[tuple[str, str]] = TURNS) -> RawConversation:
    raw = tuple(RawTurn(f"D1:{i + 1}", s, t, i) for i, (s, t) in enumerate(turns))
    return RawConversation("c1", ("Caroline", "Melanie"), (RawSession(1, DATE, DATE, raw),))


def hand_ctx() -> IngestContext:
    """Turns plus hand-made entities, one event and three facts (no other stage)."""
    conv = make_conv()
    emb = HashEmbedder()
    ctx = IngestContext("ns", conv, stable_id("conversation", "ns", "c1"), None, emb)  # type: ignore[arg-type]
    turns_stage.build(ctx)
    ctx.turn_embeddings = emb.embed([t.index_text for t in ctx.turns])
    ents = {}
    for name, etype in (("Caroline", "PERSON"), ("Melanie", "PERSON"), ("Boston", "GPE")):
        eid = stable_id("entity", "ns", name)
        ents[eid] = EntityInfo(eid, name, etype)
        ctx.add_node(eid, "Entity", text=name, props={"name": name}, conversation=None)
    car, mel, bos = list(ents)
    tid = stable_id("time", "ns", "2023-05-07")
    ctx.add_node(tid, "TimeInterval", text="2023-05-07", conversation=None)
    ev = EventInfo(
        ctx.make_id("event", "D1:1"),
        [0, 1, 2],
        "Caroline: I went to the group.",
        [car, mel],
        bos,
        "2023-05-07",
        "2023-05-07",
    )
    ctx.add_node(ev.id, "Event", text="[8 May 2023] Caroline: I went to the group.")
    ctx.add_edge(ev.id, "DURING", tid)
    facts = []
    for ti, subj, pred, obj in (
        (0, car, "go_to", "support group"),
        (2, car, "join", "choir"),
        (1, mel, "adopt", "dog"),
    ):
        fid = ctx.make_id("fact", ti, pred)
        ctx.add_node(fid, "Fact", text=f"{pred} {obj}")
        facts.append(FactInfo(fid, subj, pred, obj, None, False, ti))
    ctx.artifacts = Artifacts(entities=ents, events=[ev], facts=facts)
    return ctx


def members(ctx: IngestContext, hid: str) -> dict[str, str]:
    return {
        e.dst: e.props["role"] for e in ctx.edges.values() if e.src == hid and e.type == "MEMBER"
    }


def test_event_frame_binds_event_participants_place_time_and_turns() -> None:
    ctx = hand_ctx()
    hyperedges.run(ctx)
    ev = ctx.artifacts.events[0]
    hid = ctx.make_id("hyperedge", "event_frame", ev.id)
    node = ctx.nodes[hid]
    m = members(ctx, hid)
    roles = sorted(m.values())
    assert roles == [
        "event",
        "evidence",
        "evidence",
        "evidence",
        "participant",
        "participant",
        "place",
        "time",
    ]
    assert m[ev.id] == "event" and m[ev.place_id] == "place"
    assert node.props["kind"] == "event_frame"
    assert node.props["member_count"] == len(m) == 8
    assert node.props["turn_ids"] == ["D1:1", "D1:2", "D1:3"]
    assert (
        node.text
        == "Event with Caroline, Melanie at Boston: [8 May 2023] Caroline: I went to the group."
    )
    assert node.embedding is not None
    for t in ctx.turns[:3]:
        assert (hid, "EVIDENCED_BY", t.id) in ctx.edges


def test_entity_session_facts_needs_two_facts() -> None:
    ctx = hand_ctx()
    hyperedges.run(ctx)
    car, mel, _ = list(ctx.artifacts.entities)
    hid = ctx.make_id("hyperedge", "entity_session_facts", car, 1)
    node = ctx.nodes[hid]
    assert node.text == "Caroline in session 1 (8 May 2023): go_to support group; join choir"
    m = members(ctx, hid)
    assert sorted(m.values()) == ["entity", "evidence", "evidence", "fact", "fact"]
    assert node.props["member_count"] == 5 and node.props["n_facts"] == 2
    # Melanie has a single fact: no hyperedge
    assert ctx.make_id("hyperedge", "entity_session_facts", mel, 1) not in ctx.nodes


def test_fewer_than_three_members_is_no_hyperedge() -> None:
    ctx = hand_ctx()
    assert not hyperedges.add_hyperedge(ctx, "hyperedge:x", [("a", "x")], [0], kind="k", text="t")
    assert "hyperedge:x" not in ctx.nodes
    assert hyperedges.add_hyperedge(
        ctx, "hyperedge:y", [("a", "x"), ("a", "y")], [0, 1], kind="k", text="t"
    )
    assert ctx.nodes["hyperedge:y"].props["member_count"] == 3  # a member counts once


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = open_store(EmbeddedConfig(tmp_path / "s"))
    yield s
    s.close()


def test_full_pipeline_provenance_membership_and_determinism(store: Any) -> None:
    """Every stage on a small conversation: provenance, >=3 members, identical re-runs, writable."""
    pipe = Pipeline(store, HashEmbedder(), "ns", stages=None)
    conv = make_conv()
    a = pipe.process(conv, IngestReport())
    b = pipe.process(conv, IngestReport())

    def snap(ctx: IngestContext) -> tuple[Any, Any]:
        nodes = {k: (n.label, n.text, repr(sorted(n.props.items()))) for k, n in ctx.nodes.items()}
        return nodes, {k: repr(sorted(e.props.items())) for k, e in ctx.edges.items()}

    assert snap(a) == snap(b)
    labels = {n.label for n in a.nodes.values()}
    assert {"Event", "Note", "Hyperedge"} <= labels
    turn_ids = {t.id for t in a.turns}
    for n in a.nodes.values():
        if n.label in ("Event", "Note", "Hyperedge", "NoteRevision"):
            ev = {e.dst for e in a.edges.values() if e.src == n.id and e.type == "EVIDENCED_BY"}
            assert ev and ev <= turn_ids, n
        if n.label == "Hyperedge":
            m = members(a, n.id)
            assert len(m) >= 3 and n.props["member_count"] == len(m)
            assert {t for t in m if t in turn_ids} == ev
    # all edge ends exist: the store accepts the whole conversation, twice
    for _ in range(2):
        report = IngestReport()
        pipe.ingest_conversations([conv], report, force=True)
        assert report.conversations == 1
    stored = {n.id for n in store.find_nodes("ns", "Hyperedge")}
    assert stored == {n.id for n in a.nodes.values() if n.label == "Hyperedge"}
