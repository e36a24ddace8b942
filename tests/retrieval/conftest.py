"""A small hand-built memory for the retrieval steps (embedded store, hash embedder).

One conversation ``c1`` of six turns in one session, chained by ``NEXT_TURN``;
an event and a note on turn 1, a note on turn 5 that turn 1's note links to,
and a session summary resting on turns 1-3.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from kg_memory.config import EmbeddedConfig
from kg_memory.embed import HashEmbedder
from kg_memory.model import Edge, Node
from kg_memory.retrieval.ranking import Ranking
from kg_memory.store import open_store
from kg_memory.store.base import Store

NS = "ns"
CONV = "c1"
TURNS = {
    "turn:1": "Ann: I adopted a cat named Milo.",
    "turn:2": "Bob: That is lovely news.",
    "turn:3": "Ann: We went hiking in the Alps last summer.",
    "turn:4": "Bob: Sounds great, which trail?",
    "turn:5": "Ann: My sister lives in Berlin.",
    "turn:6": "Bob: I am learning to paint.",
}
EMBEDDER = HashEmbedder()


def _node(node_id: str, label: str, text: str, turn_ids: list[str], vector: bool) -> Node:
    return Node(
        node_id,
        label,
        NS,
        CONV,
        text,
        {"turn_ids": turn_ids},
        EMBEDDER.embed([text])[0] if vector else None,
    )


def build(store: Store) -> None:
    """Write the hand-built memory into ``store``."""
    nodes = [
        _node(tid, "Turn", text, [f"D1:{tid[-1]}"], vector=True) for tid, text in TURNS.items()
    ]
    nodes += [
        _node("event:adopt", "Event", "Ann adopted a cat", ["D1:1"], vector=True),
        _node("note:cat", "Note", "Ann has a cat called Milo", ["D1:1"], vector=False),
        _node("note:sister", "Note", "Ann's sister lives in Berlin", ["D1:5"], vector=False),
        _node("summary:s1", "Summary", "Ann talked about her cat and hiking", [], vector=True),
    ]
    ids = list(TURNS)
    edges = [Edge(a, "NEXT_TURN", b, NS) for a, b in pairwise(ids)]
    edges += [
        Edge("event:adopt", "EVIDENCED_BY", "turn:1", NS),
        Edge("note:cat", "EVIDENCED_BY", "turn:1", NS),
        Edge("note:sister", "EVIDENCED_BY", "turn:5", NS),
        Edge("note:cat", "LINKS_TO", "note:sister", NS),
        *(Edge("summary:s1", "EVIDENCED_BY", t, NS) for t in ("turn:1", "turn:2", "turn:3")),
    ]
    with store.transaction():
        store.upsert_nodes(nodes)
        store.upsert_edges(edges)


@pytest.fixture
def memory(tmp_path: Path) -> Iterator[Store]:
    """The hand-built memory in a fresh embedded store."""
    store = open_store(EmbeddedConfig(tmp_path / "retrieval-store"))
    build(store)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def ranking(memory: Store) -> Ranking:
    """An empty ranking over the hand-built memory, scoped to its conversation."""
    return Ranking(memory, NS, CONV)
