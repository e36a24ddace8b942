"""Ingest through the Python API: idempotency, atomicity, bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kg_memory import Memory
from kg_memory.errors import InputError

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "ingest" / "samples" / "demo.jsonl"
MINI = REPO / "ingest" / "samples" / "locomo-mini.json"
BAD = REPO / "ingest" / "samples" / "bad"


@pytest.fixture
def mem(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Memory.open(tmp_path / "store", embedder="hash") as m:
        yield m


def test_reingest_changes_nothing(mem: Memory) -> None:
    first = mem.ingest([DEMO, MINI], stages="turns")
    before = mem.stats().as_dict()
    assert first.conversations == 2 and before["total_nodes"] > 0
    second = mem.ingest([DEMO, MINI], stages="turns")
    assert second.skipped == 2 and second.conversations == 0
    assert mem.stats().as_dict() == before
    forced = mem.ingest([DEMO, MINI], stages="turns", force=True)
    assert forced.conversations == 2
    assert mem.stats().as_dict() == before


def test_changed_conversation_is_replaced(mem: Memory, tmp_path: Path) -> None:
    mem.ingest([DEMO], stages="turns")
    lines = DEMO.read_text(encoding="utf-8").splitlines()
    shorter = tmp_path / "demo.jsonl"
    shorter.write_text("\n".join(lines[:-3]) + "\n", encoding="utf-8")
    mem.ingest([shorter], stages="turns")
    assert mem.stats().nodes["Turn"] == len(lines) - 3


@pytest.mark.parametrize(
    "name",
    [
        "malformed.jsonl",
        "missing_field.jsonl",
        "wrong_type.jsonl",
        "empty_text.jsonl",
        "not_utf8.jsonl",
        "malformed.json",
    ],
)
def test_bad_input_leaves_store_unchanged(mem: Memory, name: str) -> None:
    mem.ingest([MINI], stages="turns")
    before = mem.stats().as_dict()
    with pytest.raises(InputError) as info:
        mem.ingest([BAD / name], stages="turns")
    assert name in str(info.value)
    assert mem.stats().as_dict() == before


def test_huge_turn_rejected_and_nothing_stored(mem: Memory, tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    shutil.copy(DEMO, big)
    with big.open("a", encoding="utf-8") as fh:
        fh.write(
            '{"conversation": "demo", "session": 9, "session_time": "2024-06-01T10:00:00", '
            f'"speaker": "Maya", "text": "{"x" * 1_000_000}"}}\n'
        )
    with pytest.raises(InputError) as info:
        mem.ingest([big], stages="turns")
    msg = str(info.value)
    assert "big.jsonl" in msg and "line 32" in msg and "text" in msg
    assert mem.stats().total_nodes == 0


def test_failing_second_file_keeps_first(mem: Memory) -> None:
    with pytest.raises(InputError):
        mem.ingest([MINI, BAD / "missing_field.jsonl"], stages="turns")
    assert mem.conversations() == ["locomo-mini"]


def test_ask_returns_provenance(mem: Memory) -> None:
    mem.ingest([DEMO], stages="turns")
    ans = mem.ask("What is the name of the beagle puppy?", k=5)
    assert len(ans.evidence) == 5
    top = ans.evidence[0]
    assert top.turn_ids and top.session_date and top.speaker
    assert top.found_by
    assert ans.trace


def test_namespaces_are_isolated(tmp_path: Path) -> None:
    with Memory.open(tmp_path / "s", namespace="alice", embedder="hash") as a:
        a.ingest([DEMO], stages="turns")
    with Memory.open(tmp_path / "s", namespace="bob", embedder="hash") as b:
        assert b.stats().total_nodes == 0
        assert b.ask("beagle puppy", k=5).evidence == []
