"""Forgetting (issue 16 item 5, finding 7) on both stores: nothing derived is left behind.

Three conversations share world entities (Portland, Petco, Lisbon, Greenleaf
Energy...): ``demo`` (the sample), ``beta`` (which carries the marker word
``Quokkaville``, in texts and as an entity) and ``gamma``. ``beta`` and ``gamma``
both state a fact between two shared entities (Microsoft bought / sold Petco),
so their ``RELATED_TO`` edge has two sources.

After every kind of forget (a conversation, a session, a turn) and after a
re-ingest of an edited turn, :func:`tests.graph_dump.orphans` finds nothing,
and the graph equals the one a fresh ingest of what is left gives.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kg_memory import Memory
from kg_memory.errors import InputError
from kg_memory.export import export
from kg_memory.forget import ForgetTarget
from kg_memory.queries import get_query, list_queries
from kg_memory.store.base import Store
from tests.graph_dump import graph_dump, orphans

HERE = Path(__file__).resolve().parent
DEMO = HERE.parents[1] / "ingest" / "samples" / "demo.jsonl"
BETA, GAMMA = HERE / "beta.jsonl", HERE / "gamma.jsonl"
MARKER = "Quokkaville"

pytestmark = pytest.mark.slow  # the full pipeline (spaCy)


def _memory(store: Store, namespace: str) -> Memory:
    return Memory(store, namespace=namespace, embedder="hash")


def _comparable(dump: dict[str, Any]) -> dict[str, Any]:
    """A dump without what names the input file (``source`` of a Conversation)."""
    for node in dump["nodes"].values():
        if node[0] == "Conversation":
            node[3].pop("source", None)
    return dump


def _entity(dump: dict[str, Any], name: str) -> str:
    [nid] = [
        k
        for k, n in dump["nodes"].items()
        if n[0] == "Entity" and n[1] is None and n[3]["name"] == name
    ]
    return nid


def _named_query_rows(mem: Memory) -> str:
    """Every named query's rows (params aimed at ``beta``), as one JSON text."""
    if not mem.store.supports_cypher:
        return ""
    values = {"conversation": "beta", "name": MARKER, "turn_id": "S1:1", "note": "S1:1"}
    values |= {"session": 1, "k": 1000}
    rows = []
    for q in list_queries():
        params = {p: values[p] for p in q.params if p != "namespace"}
        rows.append(mem.cypher(get_query(q.name).text, params))
    return json.dumps(rows, default=str, ensure_ascii=False)


def _seen(mem: Memory, tmp: Path) -> dict[str, bool]:
    """Where the marker can still be read: the graph, ask, export, named queries."""
    answer = mem.ask(f"{MARKER} zine festival poster cat", k=50, preset="hybrid")
    out = tmp / "export.jsonl"
    out.unlink(missing_ok=True)
    export(mem.store, mem.namespace, out, "jsonl")
    return {
        "graph": MARKER in json.dumps(graph_dump(mem.store, mem.namespace), ensure_ascii=False),
        "ask": any(MARKER in e.text or e.conversation == "beta" for e in answer.evidence),
        "export": MARKER in out.read_text(encoding="utf-8"),
        "named queries": MARKER in _named_query_rows(mem),
    }


def test_forget_a_conversation(store: Store, namespace: str, tmp_path: Path) -> None:
    mem = _memory(store, namespace)
    try:
        mem.ingest([DEMO])
        demo_only = graph_dump(store, namespace)
        mem.ingest([BETA, GAMMA])
        both = graph_dump(store, namespace)
        assert orphans(both) == []
        link = f"{_entity(both, 'Microsoft')}|RELATED_TO|{_entity(both, 'Petco')}"
        assert both["edges"][link]["predicates"] == ["buy", "sell"]
        seen = _seen(mem, tmp_path)
        assert seen == {k: k != "named queries" or store.supports_cypher for k in seen}

        report = mem.forget("beta")
        assert report.turns_removed == 8 and report.deleted_nodes
        after = graph_dump(store, namespace)
        assert orphans(after) == []
        assert _seen(mem, tmp_path) == dict.fromkeys(seen, False)
        assert after["edges"][link]["predicates"] == ["sell"]  # gamma still says so
        petco = after["nodes"][_entity(after, "Petco")][3]
        assert petco["conversations"] == ["demo", "gamma"]
        assert mem.conversations() == ["demo", "gamma"]

        mem.forget("gamma")
        assert orphans(graph_dump(store, namespace)) == []
        assert graph_dump(store, namespace) == demo_only
    finally:
        store.delete_namespace(namespace)


def _without(tmp: Path, keep: Any) -> Path:
    """The demo file with explicit turn ids, only the turns ``keep(turn)`` holds."""
    turns, position = [], {}
    for line in DEMO.read_text(encoding="utf-8").splitlines():
        t = json.loads(line)
        position[t["session"]] = position.get(t["session"], 0) + 1
        t["turn_id"] = f"S{t['session']}:{position[t['session']]}"
        turns.append(t)
    out = tmp / "rest.jsonl"
    out.write_text("".join(json.dumps(t) + "\n" for t in turns if keep(t)), encoding="utf-8")
    return out


def test_a_target_names_a_session_or_a_turn_not_both() -> None:
    assert ForgetTarget("demo").whole and not ForgetTarget("demo", session=2).whole
    with pytest.raises(InputError, match="not both") as caught:
        ForgetTarget("demo", session=2, turn_id="S2:1")
    assert caught.value.field == "turn_id"


@pytest.mark.parametrize(
    ("what", "keep"),
    [
        ({"session": 2}, lambda t: t["session"] != 2),
        ({"turn_id": "S1:8"}, lambda t: t["turn_id"] != "S1:8"),
    ],
    ids=["session", "turn"],
)
def test_forget_a_session_or_a_turn_equals_a_fresh_ingest(
    store: Store, namespace: str, tmp_path: Path, what: dict[str, Any], keep: Any
) -> None:
    mem = _memory(store, namespace)
    rest = _without(tmp_path, keep)
    kept = {json.loads(line)["text"] for line in rest.read_text(encoding="utf-8").splitlines()}
    every = [json.loads(line)["text"] for line in DEMO.read_text(encoding="utf-8").splitlines()]
    gone = [t for t in every if t not in kept]
    try:
        mem.ingest([DEMO, GAMMA])
        report = mem.forget(ForgetTarget("demo", **what))
        assert report.turns_removed == len(gone) and report.turns_left == 31 - len(gone)
        forgotten = graph_dump(store, namespace)
        assert orphans(forgotten) == []
        text = json.dumps(forgotten, ensure_ascii=False)
        assert not [t for t in gone if json.dumps(t, ensure_ascii=False)[1:-1] in text]

        store.delete_namespace(namespace)
        mem.ingest([rest, GAMMA])
        assert _comparable(forgotten) == _comparable(graph_dump(store, namespace))
    finally:
        store.delete_namespace(namespace)


def test_reingest_of_an_edited_turn_drops_its_fact(
    store: Store, namespace: str, tmp_path: Path
) -> None:
    mem = _memory(store, namespace)
    edited = tmp_path / "gamma.jsonl"
    edited.write_text(
        GAMMA.read_text(encoding="utf-8").replace(
            "Microsoft sold Petco in March, and Petco", "in March Petco"
        ),
        encoding="utf-8",
    )
    try:
        mem.ingest([DEMO, GAMMA])
        before = graph_dump(store, namespace)
        link = f"{_entity(before, 'Microsoft')}|RELATED_TO|{_entity(before, 'Petco')}"
        assert before["edges"][link]["predicates"] == ["sell"]
        mem.ingest([edited])
        after = graph_dump(store, namespace)
        assert orphans(after) == []
        assert link not in after["edges"]
        assert not [n for n in after["nodes"].values() if n[0] == "Fact" and "sell" in n[2]]

        store.delete_namespace(namespace)
        mem.ingest([DEMO, edited])
        assert _comparable(after) == _comparable(graph_dump(store, namespace))
    finally:
        store.delete_namespace(namespace)
