"""kg_memory.explore on the demo memory: the graph, timelines, topics, a question's walk."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from kg_memory import Memory, explore
from kg_memory.ingest.registry import vector_labels

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "ingest" / "samples" / "demo.jsonl"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Memory, str]]:
    mem, conversation = explore.open_with(DEMO, tmp_path_factory.mktemp("explore") / "store")
    try:
        yield mem, conversation
    finally:
        mem.close()


def test_graph_holds_the_whole_memory(demo: tuple[Memory, str]) -> None:
    mem, conversation = demo
    assert conversation == "demo"
    g = explore.memory_graph(mem, conversation)
    stats = mem.stats()
    assert g.number_of_nodes() == stats.total_nodes
    assert g.number_of_edges() == stats.total_edges
    assert len(explore.of_label(g, "Turn")) == stats.nodes["Turn"] == 31
    assert explore.display_name(g, explore.find_entity(g, "maya")) == "Maya"
    with pytest.raises(KeyError, match="Nobody"):
        explore.find_entity(g, "Nobody")
    eg = explore.entity_graph(g)
    assert set(eg) == set(explore.of_label(g, "Entity"))
    biscuit = explore.find_entity(g, "Biscuit")
    assert eg.degree(biscuit) > 0 and all(w >= 1 for *_, w in eg.edges(data="weight"))


def test_only_vector_labels_carry_vectors(demo: tuple[Memory, str]) -> None:
    """The Neo4j vector indexes (StageSpec.vectors) cover every label ingest embeds."""
    mem, _ = demo
    with_vectors = {
        label
        for label in mem.stats().nodes
        if any(n.embedding is not None for n in mem.store.find_nodes(
            mem.namespace, label, with_embeddings=True))
    }  # fmt: skip
    assert with_vectors == set(vector_labels())


def test_timeline_is_in_time_order(demo: tuple[Memory, str]) -> None:
    mem, conversation = demo
    g = explore.memory_graph(mem, conversation)
    items = explore.timeline(g, explore.find_entity(g, "Maya"))
    assert {i.kind for i in items} == {"fact", "event"}
    keys = [(i.when, i.said_at) for i in items]
    assert keys == sorted(keys)
    assert all(isinstance(i.when, date) for i in items)
    assert date(2024, 3, 1) <= items[0].when and items[-1].when <= date(2024, 12, 31)
    assert any(i.dated for i in items) and any(not i.dated for i in items)


def test_topic_view_matches_the_stored_topics(demo: tuple[Memory, str]) -> None:
    mem, conversation = demo
    g = explore.memory_graph(mem, conversation)
    view = explore.topic_view(mem, g, counts=range(2, 6))
    assert len(view.turn_ids) == len(view.topic) == view.xy.shape[0] == 31
    assert view.xy.shape[1] == 2
    assert view.chosen in view.tried and {k for k, _ in view.bic} >= set(view.tried)
    stored = {t["index"] for t in view.topics}
    assert stored and set(view.topic) <= stored | {0} and len(stored) <= view.chosen
    assert [s["session"] for s in explore.summaries(g)] == [1, 2, 3]


def test_walked_subgraph_holds_the_evidence(demo: tuple[Memory, str]) -> None:
    mem, conversation = demo
    g = explore.memory_graph(mem, conversation)
    answer = mem.ask("What is the name of Maya's puppy?", k=5, conversation=conversation)
    sub = explore.walked_subgraph(g, answer)
    ranked = {n: d["rank"] for n, d in sub.nodes(data=True) if "rank" in d}
    assert sorted(ranked.values()) == list(range(1, len(answer.evidence) + 1))
    assert all("rank" not in d for _, d in g.nodes(data=True))  # g is left as it was
    turns = {sub.nodes[n]["props"]["turn_id"] for n in sub if sub.nodes[n]["label"] == "Turn"}
    assert {t for ev in answer.evidence for t in ev.turn_ids} <= turns
