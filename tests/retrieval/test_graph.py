"""The graph search orchestrator: its steps run in the documented order."""

from __future__ import annotations

import dataclasses
import re

import pytest

from kg_memory.retrieval import graph
from kg_memory.retrieval.graph import GraphConfig, graph_search
from kg_memory.retrieval.hybrid import hybrid_search
from kg_memory.retrieval.request import SearchRequest, SearchScope
from kg_memory.store.base import Store

from .conftest import EMBEDDER

QUESTION = "Does Ann have a cat?"
#: every step has something to do on the hand-built memory
ALL_STEPS = GraphConfig(layers=("Event", "Note", "Summary"), link_routed=False)


def _scope(store: Store) -> SearchScope:
    return SearchScope(store, EMBEDDER, "ns")


def _documented_trace_order() -> list[str]:
    """The trace prefixes in the order the module docstring lists them."""
    doc = graph.__doc__ or ""
    listed = doc[doc.index("Every step appends a line to the trace") :]
    return [p.split()[0] for p in re.findall(r"``([a-z]+(?: N)?:)``", listed)]


def test_trace_follows_the_documented_order(memory: Store) -> None:
    ans = graph_search(_scope(memory), SearchRequest(QUESTION, 2, "c1"), ALL_STEPS)
    prefixes = list(dict.fromkeys(line.split()[0] for line in ans.trace))
    assert prefixes == ["turns:", "router:", "adjacency:", "links:", "reflect"]
    assert _documented_trace_order() == ["turns:", "router:", "adjacency:", "links:", "reflect"]


def test_steps_are_called_in_the_documented_order(
    memory: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    steps = [
        "retrieve_turns",
        "route_layers",
        "fuse",
        "dialogue_adjacency",
        "linked_notes",
        "reflect",
    ]
    for name in steps:
        real = getattr(graph, name)

        def spy(*args, _real=real, _name=name, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(graph, name, spy)
    graph_search(_scope(memory), SearchRequest(QUESTION, 2, "c1"), ALL_STEPS)
    assert calls == steps
    doc = graph.__doc__ or ""
    assert sorted(steps, key=lambda s: doc.index(f".{s}`")) == steps


def test_evidence_carries_turns_and_provenance(memory: Store) -> None:
    ans = graph_search(_scope(memory), SearchRequest(QUESTION, 3, "c1"), ALL_STEPS)
    assert ans.evidence[0].node_id == "turn:1" and ans.evidence[0].turn_ids == ["D1:1"]
    assert {"event.bm25", "note.bm25"} <= ans.evidence[0].found_by.keys()
    assert all(e.kind == "Turn" for e in ans.evidence)
    assert [e.score for e in ans.evidence] == sorted((e.score for e in ans.evidence), reverse=True)


def test_without_layers_and_steps_it_is_the_hybrid(memory: Store) -> None:
    flat = dataclasses.replace(
        GraphConfig(), layers=(), rounds=0, reply_bonus=0, prompt_bonus=0, link_bonus=0
    )
    for question in (QUESTION, "Where does the sister live?", "hiking trail"):
        g = graph_search(_scope(memory), SearchRequest(question, 4, "c1"), flat)
        h = hybrid_search(_scope(memory), SearchRequest(question, 4, "c1"))
        assert [(e.node_id, e.score) for e in g.evidence] == [
            (e.node_id, e.score) for e in h.evidence
        ]
        assert g.trace[0].startswith("turns:") and len(g.trace) == 1
