"""Incremental add (kg_memory.ingest.incremental) on every store, with every stage."""

from __future__ import annotations

from collections import Counter
from typing import Any

from kg_memory import Memory
from kg_memory.store.base import Store
from tests.server.helpers import demo_turns


def _edges(mem: Memory, ids: list[str], edge_type: str) -> list[Any]:
    return mem.store.neighbours(mem.namespace, ids, edge_types=[edge_type], direction="out")


def _check_time_lines(mem: Memory, store: Store, namespace: str) -> None:
    """Events linked across adds on each speaker's time line, by the whole-ingest rule:
    both events are about the edge's subject, and the second is decidably after the first
    (told later when neither has a time expression, else its span begins after)."""
    events = {n.id: n for n in store.find_nodes(namespace, "Event") if n.props["kind"] == "segment"}
    nexts = _edges(mem, list(events), "NEXT")
    assert nexts
    turn_ids = [t.props["turn_id"] for t in store.find_nodes(namespace, "Turn")]
    told = {t: i for i, t in enumerate(sorted(turn_ids, key=lambda t: int(t[1:])))}
    for e in nexts:
        a, b = events[e.src].props, events[e.dst].props
        assert e.props["subject"] in a["subjects"] and e.props["subject"] in b["subjects"]
        if a["time_text"] is None and b["time_text"] is None:
            assert told[a["turn_ids"][0]] < told[b["turn_ids"][0]]
        else:
            assert a["end"] < b["begin"] or b["time_text"] is None
            assert e.props["by"] == "time"


def test_turn_by_turn_links_to_what_is_stored(store: Store, namespace: str) -> None:
    mem = Memory(store, namespace=namespace, embedder="hash")
    turns = [dict(t, turn_id=f"t{i}") for i, t in enumerate(demo_turns())]
    for t in turns:  # every add incremental (a new session does not consolidate here)
        report = mem.remember([t], consolidate=False)
        assert len(report.added) == 1
    counts = mem.stats().as_dict()
    turn_nodes = store.find_nodes(namespace, "Turn")
    tids = [n.id for n in turn_nodes]
    assert len(turn_nodes) == len(turns)
    # one chain of turns, sessions chained, each session's summary over all its turns
    assert len(_edges(mem, tids, "NEXT_TURN")) == len(turns) - 1
    sessions = Counter(t["session"] for t in turns)
    assert counts["edges"]["NEXT_SESSION"] == len(sessions) - 1
    summaries = {n.props["session"]: n for n in store.find_nodes(namespace, "Summary")}
    assert {s: n.props["n_turns"] for s, n in summaries.items()} == dict(sessions)
    stored = {n.props["index"]: n.props["n_turns"] for n in store.find_nodes(namespace, "Session")}
    assert stored == dict(sessions)
    # a speaker is one entity, mentioned by every turn they spoke (lists united, none lost)
    entities = store.find_nodes(namespace, "Entity", conversation="demo")
    maya = [e for e in entities if e.props["name"] == "Maya" and e.props["type"] == "PERSON"]
    assert len(maya) == 1
    spoken = sum(t["speaker"] == "Maya" for t in turns)
    assert len(maya[0].props["turn_ids"]) >= spoken
    # events chained across adds (notes' links need a semantic embedder: see tests/server)
    _check_time_lines(mem, store, namespace)
    conv = store.find_nodes(namespace, "Conversation")[0].props
    assert conv["n_turns"] == len(turns) and conv["incremental_turns"] == len(turns) - 1
    # re-adding changes nothing; ingesting the same turns whole is skipped (same fingerprint)
    again = mem.remember(turns)
    assert (len(again.added), len(again.unchanged)) == (0, len(turns))
    assert mem.stats().as_dict() == counts


def test_a_new_session_consolidates_the_conversation(store: Store, namespace: str) -> None:
    """The first add of a new session re-processes the conversation whole: what is stored
    then equals a whole ingest of the same turns, and the next add is incremental again."""
    turns = [dict(t, turn_id=f"t{i}") for i, t in enumerate(demo_turns())]
    opens = next(i for i, t in enumerate(turns) if t["session"] == turns[-1]["session"])
    mem = Memory(store, namespace=namespace, embedder="hash")
    reports = [mem.remember([t]) for t in turns[: opens + 1]]
    assert reports[-1].consolidated == ["demo"]
    assert sum(bool(r.consolidated) for r in reports) == len({t["session"] for t in turns}) - 1

    def incremental_turns() -> int:
        return int(store.find_nodes(namespace, "Conversation")[0].props.get("incremental_turns", 0))

    assert incremental_turns() == 0
    whole = Memory(store, namespace=f"{namespace}w", embedder="hash")
    whole.remember(turns[: opens + 1])
    assert mem.stats().as_dict() == whole.stats().as_dict()
    assert mem.remember([turns[opens + 1]]).consolidated == []
    assert incremental_turns() == 1


def _turns(conversation: str, texts: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "conversation": conversation,
            "session": 1,
            "session_time": "2024-05-02T10:00:00",
            "speaker": ("Ana", "Ben")[i % 2],
            "text": text,
            "turn_id": f"{conversation}-{i}",
        }
        for i, text in enumerate(texts)
    ]


def _shared_mentions(store: Store, namespace: str) -> dict[str, Any]:
    """Per turn id, the names of the shared entities it mentions; per shared entity, its
    conversations (namespace-free: ids differ between namespaces, names do not)."""
    shared = {e.id: e for e in store.find_nodes(namespace, "Entity") if e.conversation is None}
    turns = {t.id: t.props["turn_id"] for t in store.find_nodes(namespace, "Turn")}
    per_turn: dict[str, list[str]] = {}
    for e in store.neighbours(namespace, sorted(shared), edge_types=["MENTIONS"], direction="in"):
        per_turn.setdefault(turns[e.src], []).append(shared[e.dst].props["name"])
    entities = {e.props["name"]: sorted(e.props["conversations"]) for e in shared.values()}
    return {"turns": {k: sorted(v) for k, v in per_turn.items()}, "entities": entities}


def test_shared_entity_spelt_differently_resolves_turn_by_turn(
    store: Store, namespace: str
) -> None:
    """A shared entity another conversation spells differently ("Barcelonna", fuzzy ratio
    95 to the stored "Barcelona", no word in common) is the stored one when the turn is
    added alone, as when its conversation is ingested whole."""
    first = _turns("trip-a", ["I flew to Barcelona in May.", "Was the food good?"])
    later = _turns(
        "trip-b",
        ["Hi Ben, how was your week?", "Busy. My trip to Barcelonna was great.", "Nice!"],
    )
    results = []
    for how in ("whole", "turn-by-turn"):
        mem = Memory(store, namespace=f"{namespace}-{how}", embedder="hash")
        mem.remember(first)
        for batch in [later] if how == "whole" else [[t] for t in later]:
            mem.remember(batch)
        results.append(_shared_mentions(store, mem.namespace))
    whole, turn_by_turn = results
    assert whole["entities"]["Barcelona"] == ["trip-a", "trip-b"]  # the case is real
    assert whole["turns"]["trip-b-1"] == ["Barcelona"]
    assert turn_by_turn == whole
