"""Each step of the graph search on a hand-built memory (see conftest.py)."""

from __future__ import annotations

import dataclasses

import pytest

from kg_memory.model import Hit
from kg_memory.retrieval.config import GraphConfig
from kg_memory.retrieval.fusion import rrf
from kg_memory.retrieval.ranking import Ranking
from kg_memory.retrieval.router import layer_searches, project_onto_turns, route_layers
from kg_memory.retrieval.steps import (
    close_gap,
    dialogue_adjacency,
    evidence_gap,
    fuse,
    linked_notes,
    reflect,
    retrieve_turns,
    turn_searches,
)
from kg_memory.store.base import Store

from .conftest import EMBEDDER

#: Only the step under test does anything.
QUIET = GraphConfig(rounds=0, reply_bonus=0, prompt_bonus=0, link_bonus=0)


def _turns(ranking: Ranking, question: str, n: int = 10) -> None:
    qv = EMBEDDER.embed([question])[0]
    retrieve_turns(ranking, ranking.search(turn_searches(question, qv, n)))


def _scored(ranking: Ranking, scores: dict[str, float]) -> None:
    """A ranking as if fusion had given these scores."""
    for i, s in scores.items():
        ranking.score[i] = s
        ranking.found_by[i] = {"bm25": 1}


# -- step 1 --------------------------------------------------------------------------
def test_retrieve_turns_ranks_turns_by_bm25_and_dense(ranking: Ranking) -> None:
    _turns(ranking, "Berlin sister")
    assert list(ranking.rankings) == ["bm25", "dense"]
    assert ranking.weights == {"bm25": 1.0, "dense": 1.0}
    assert ranking.rankings["bm25"][0].id == "turn:5"
    assert [h.id for h in ranking.rankings["bm25"]] == ["turn:5"]  # BM25: shared terms only
    assert {h.id for h in ranking.rankings["dense"]} == {f"turn:{i}" for i in range(1, 7)}
    assert ranking.trace == ["turns: bm25 1, dense 6"]


def test_turn_searches_respect_the_conversation(memory: Store) -> None:
    other = Ranking(memory, "ns", "another-conversation")
    _turns(other, "Berlin sister")
    assert other.rankings == {"bm25": [], "dense": []}


# -- step 2 --------------------------------------------------------------------------
def test_route_layers_projects_layer_hits_onto_their_turns(ranking: Ranking) -> None:
    question = "Did Ann adopt a cat?"
    cfg = dataclasses.replace(QUIET, layers=("Event", "Note", "Summary"))
    qv = EMBEDDER.embed([question])[0]
    results = ranking.search(
        {**turn_searches(question, qv, 10), **layer_searches(question, qv, cfg)}
    )
    retrieve_turns(ranking, results)
    route_layers(ranking, results, cfg)
    assert [h.id for h in ranking.rankings["event.bm25"]] == ["turn:1"]
    assert [h.id for h in ranking.rankings["note.bm25"]] == ["turn:1", "turn:5"]  # both say "Ann"
    # the coarse summary passes its rank to its turns that are turn candidates, best first
    summary = [h.id for h in ranking.rankings["summary.bm25"]]
    assert set(summary) <= {"turn:1", "turn:2", "turn:3"} and summary[0] == "turn:1"
    assert all(0.0 <= w <= 1.0 for w in ranking.weights.values())
    assert ranking.trace[-1].startswith("router: event.bm25 w=")
    half = ranking.weights["summary.bm25"]
    full = Ranking(ranking.store, ranking.namespace, ranking.conversation)
    retrieve_turns(full, results)
    route_layers(full, results, dataclasses.replace(cfg, coarse_weight=1.0))
    assert half == pytest.approx(0.5 * full.weights["summary.bm25"])
    assert full.weights["event.bm25"] == ranking.weights["event.bm25"]


def test_route_layers_without_layer_hits_adds_nothing(ranking: Ranking) -> None:
    _turns(ranking, "paint")
    route_layers(ranking, {}, QUIET)
    assert list(ranking.rankings) == ["bm25", "dense"] and len(ranking.trace) == 1


def test_project_onto_turns_caps_coarse_hits() -> None:
    turns_of = {"summary:s": ["turn:c", "turn:a", "turn:b"]}
    rank = {"turn:a": 0.3, "turn:b": 0.2, "turn:c": 0.1}
    hits = [Hit("summary:s", 1.0)]
    assert [h.id for h in project_onto_turns(hits, turns_of, rank, 2)] == ["turn:a", "turn:b"]
    assert [h.id for h in project_onto_turns(hits, turns_of)] == ["turn:a", "turn:b", "turn:c"]


def test_fuse_scores_by_weighted_rrf(ranking: Ranking) -> None:
    ranking.rankings = {"bm25": [Hit("turn:1", 3.0)], "dense": [Hit("turn:2", 0.9)]}
    ranking.weights = {"bm25": 1.0, "dense": 0.5}
    fuse(ranking, 60)
    assert ranking.score == {"turn:1": 1 / 61, "turn:2": 0.5 / 61}
    assert ranking.found_by == {"turn:1": {"bm25": 1}, "turn:2": {"dense": 1}}
    assert ranking.ranked() == [i for i, _, _ in rrf(ranking.rankings, weights=ranking.weights)]


# -- step 3 --------------------------------------------------------------------------
def test_dialogue_adjacency_passes_shares_along_next_turn(ranking: Ranking) -> None:
    _scored(ranking, {"turn:3": 1.0, "turn:6": 0.01})
    dialogue_adjacency(ranking, 1, 0.3, 0.1)  # only the top 3 k = 3 turns pass a share
    assert ranking.score["turn:4"] == pytest.approx(0.3)  # the reply
    assert ranking.score["turn:2"] == pytest.approx(0.1)  # the prompt
    assert ranking.score["turn:5"] == pytest.approx(0.1 * 0.01)  # turn:6 replies to it
    assert ranking.found_by["turn:4"] == {"adjacent": 1}
    assert ranking.trace == ["adjacency: 2 top turns -> 3 turns"]


def test_dialogue_adjacency_off(ranking: Ranking) -> None:
    _scored(ranking, {"turn:3": 1.0})
    dialogue_adjacency(ranking, 1, 0.0, 0.0)
    assert ranking.score == {"turn:3": 1.0} and ranking.trace == []


# -- step 4 --------------------------------------------------------------------------
def test_linked_notes_reach_the_linked_turn(ranking: Ranking) -> None:
    _turns(ranking, "cat")
    ranking.trace.clear()
    _scored(ranking, {"turn:1": 1.0, "turn:2": 0.5})
    cfg = dataclasses.replace(QUIET, link_bonus=0.2, link_routed=False, link_from=1)
    linked_notes(ranking, cfg)
    assert ranking.score["turn:5"] == pytest.approx(0.2)  # share of turn:1's score
    assert ranking.found_by["turn:5"] == {"linked-note": 1}
    assert ranking.trace[0].startswith("links: 1 top notes -> 1 linked notes (turn spread ")
    assert ranking.trace[0].endswith(", share 0.20)")  # link_routed off: the spread is not used


def test_linked_notes_only_from_the_top_turns(ranking: Ranking) -> None:
    _turns(ranking, "cat")
    ranking.trace.clear()
    _scored(ranking, {"turn:2": 1.0, "turn:1": 0.5})  # turn:1's note is not followed
    linked_notes(ranking, dataclasses.replace(QUIET, link_bonus=0.2, link_from=1))
    assert "turn:5" not in ranking.score and ranking.trace == []


# -- step 5 --------------------------------------------------------------------------
def test_reflection_closes_the_gap(ranking: Ranking) -> None:
    _scored(ranking, {"turn:1": 1.0, "turn:2": 0.5})
    assert evidence_gap(ranking, ["cat", "berlin"], 2) == ["berlin"]
    reflect(ranking, "cat Berlin", 2, rounds=2, gap_k=5)
    assert ranking.ranked()[:2] == ["turn:1", "turn:5"]
    assert ranking.score["turn:5"] == pytest.approx(0.5 * 1.1)  # just above the k-th turn
    assert ranking.found_by["turn:5"] == {"gap:berlin": 1}
    assert ranking.trace == [
        "reflect 1: gap ['berlin'] -> 1 turns proposed",
        "reflect 2: every aspect covered",
    ]


def test_reflection_stops_when_nothing_is_found(ranking: Ranking) -> None:
    _scored(ranking, {"turn:1": 1.0})
    assert close_gap(ranking, ["zebra"], ["zebra"], 1, 5) == 0
    reflect(ranking, "zebra", 1, rounds=3, gap_k=5)
    assert ranking.trace == ["reflect 1: gap ['zebra'] -> 0 turns proposed"]
    assert ranking.score == {"turn:1": 1.0}
