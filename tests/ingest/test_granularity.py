"""Granularity stage (MemGAS): session summaries and GMM topic clusters over turn embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kg_memory.config import EmbeddedConfig
from kg_memory.embed import HashEmbedder
from kg_memory.formats.model import RawConversation, RawSession, RawTurn
from kg_memory.ingest import granularity
from kg_memory.ingest.context import IngestContext
from kg_memory.ingest.pipeline import IngestReport, Pipeline
from kg_memory.store import open_store
from kg_memory.testing import make_context

DOGS = [
    "I adopted a dog from the shelter last week.",
    "The dog loves the park and long walks.",
    "We walk the dog every morning before work.",
    "The puppy chewed my shoes, silly dog.",
]
MUSIC = [
    "I joined a choir and we sing on Sundays.",
    "My guitar lessons are going well, I play every night.",
    "The choir concert is next month, I am singing a solo.",
    "I bought a new guitar with nylon strings.",
]


def make_conv() -> RawConversation:
    sessions = []
    for s, lines in enumerate((DOGS + MUSIC, MUSIC + DOGS), 1):
        date = f"2023-05-0{s}T10:00:00"
        raw = tuple(
            RawTurn(f"D{s}:{i + 1}", ("Caroline", "Melanie")[i % 2], t, i)
            for i, t in enumerate(lines)
        )
        sessions.append(RawSession(s, date, date, raw))
    return RawConversation("c1", ("Caroline", "Melanie"), tuple(sessions))


def built() -> IngestContext:
    ctx = make_context(make_conv(), store=None)
    ctx.turn_embeddings = ctx.embedder.embed([t.index_text for t in ctx.turns])
    granularity.run(ctx)
    return ctx


def test_one_summary_per_session_quoting_central_turns() -> None:
    ctx = built()
    summaries = [n for n in ctx.nodes.values() if n.label == "Summary"]
    assert len(summaries) == 2
    for s in summaries:
        sid = [e.dst for e in ctx.edges.values() if e.src == s.id and e.type == "SUMMARIZES"]
        assert len(sid) == 1 and ctx.nodes[sid[0]].label == "Session"
        ev = [e.dst for e in ctx.edges.values() if e.src == s.id and e.type == "EVIDENCED_BY"]
        session_turns = [t.id for t in ctx.turns if t.session_id == sid[0]]
        assert sorted(ev) == sorted(session_turns)  # the centroid of all of them
        assert s.props["turn_ids"] == [ctx.nodes[t].props["turn_id"] for t in session_turns]
        quoted = s.props["quoted"]
        assert len(quoted) == granularity.SUMMARY_TURNS and set(quoted) <= set(s.props["turn_ids"])
        assert all(q in (s.text or "") for q in ("Caroline: ", "Melanie: "))
        assert s.text is not None and s.text.startswith(f"Session {s.props['session']} (")
        assert s.embedding is not None and np.isclose(np.linalg.norm(s.embedding), 1.0)


def test_every_turn_is_in_a_topic_and_topics_have_provenance() -> None:
    ctx = built()
    topics = {n.id: n for n in ctx.nodes.values() if n.label == "Topic"}
    assert len(topics) >= 2
    member_of: dict[str, list[str]] = {}
    for e in ctx.edges.values():
        if e.type == "IN_TOPIC" and e.src.startswith("turn:"):
            assert e.dst in topics and 0.0 < e.props["p"] <= 1.0
            member_of.setdefault(e.src, []).append(e.dst)
    assert set(member_of) == {t.id for t in ctx.turns}
    assert all(1 <= len(v) <= 2 for v in member_of.values())
    for tid, t in topics.items():
        ev = {e.dst for e in ctx.edges.values() if e.src == tid and e.type == "EVIDENCED_BY"}
        assert 1 <= len(ev) <= granularity.TOPIC_EVIDENCE
        assert ev <= {s for s, ts in member_of.items() if tid in ts}
        assert t.props["size"] == sum(tid in v for v in member_of.values())
        assert t.text is not None and t.text.startswith(f"Topic {t.props['index']}: ")


def test_stage_is_deterministic() -> None:
    a, b = built(), built()
    assert a.nodes.keys() == b.nodes.keys() and a.edges.keys() == b.edges.keys()
    assert all(a.nodes[i].text == b.nodes[i].text for i in a.nodes)


def test_keywords_are_distinctive() -> None:
    kw = granularity.keywords([DOGS, MUSIC], 2)
    assert kw[0][0] == "dog"
    assert {"guitar", "choir"} & set(kw[1])


def test_reingest_with_the_stage_changes_nothing(tmp_path: Path) -> None:
    store = open_store(EmbeddedConfig(tmp_path / "m"))
    pipe = Pipeline(store, HashEmbedder(), "ns", stages=["granularity"])
    first, again = IngestReport(), IngestReport()
    pipe.ingest_conversations([make_conv()], first)
    before = store.counts("ns").as_dict()
    pipe.ingest_conversations([make_conv()], again)
    assert store.counts("ns").as_dict() == before
    assert before["nodes"]["Summary"] == 2 and before["nodes"]["Topic"] >= 2
    assert first.conversations == 1 and again.skipped == 1
    store.close()


def test_summary_layer_lifts_only_turn_candidates(tmp_path: Path) -> None:
    from kg_memory import Memory
    from kg_memory.retrieval.graph import GraphConfig, graph_search
    from kg_memory.retrieval.request import SearchRequest

    store = open_store(EmbeddedConfig(tmp_path / "m"))
    mem = Memory(store, namespace="ns", embedder="hash")
    mem.ingest_conversations([make_conv()], stages=["granularity"])
    cfg = GraphConfig(layers=("Summary", "Topic"), rounds=0, reply_bonus=0, prompt_bonus=0)
    ans = graph_search(mem.scope, SearchRequest("the dog park", 5), cfg)
    assert any(line.startswith("router: summary.") for line in ans.trace), ans.trace
    lifted = [e for e in ans.evidence if {"summary.dense", "topic.dense"} & e.found_by.keys()]
    assert lifted and all({"bm25", "dense"} & e.found_by.keys() for e in lifted)
    assert all(e.kind == "Turn" and e.turn_ids for e in ans.evidence)
    mem.close()
