"""The pure parts of ``kg-memory bench serve`` (the run itself takes minutes: see README)."""

from __future__ import annotations

from pathlib import Path

from kg_memory.append import validate_turns
from kg_memory.bench.serve import BASE_TURNS, jsonl_turns, pick_conversation, target_rows


def test_locomo_conversation_as_remember_turns(locomo_dir: Path) -> None:
    conv = pick_conversation(locomo_dir, BASE_TURNS + 6)
    assert conv.n_turns > BASE_TURNS + 6
    turns = jsonl_turns(conv)
    checked = validate_turns(turns)
    assert [t.turn_id for t in checked] == [t.turn_id for s in conv.sessions for t in s.turns]


def test_target_rows_say_what_is_met() -> None:
    lat = {"n": 6, "p50_ms": 90.0, "p95_ms": 400.0, "mean_ms": 100.0}
    report = {
        "setup": {"clients": 8},
        "add_one_turn": lat,
        "ask_http_over_in_process": 1.1,
        "throughput_ratio": 1.2,
        "cli_stats_seconds": 0.5,
        "cli_ask_seconds": 3.0,
        "turn_by_turn": {
            "conversation": "conv-26",
            "recall10_whole": 0.86,
            "recall10_turn_by_turn": 0.85,
            "difference": -0.01,
        },
    }
    met = {row[0]: row[3] for row in target_rows(report)}
    assert list(met.values()) == ["yes", "NO", "yes", "NO", "yes", "NO", "yes"]
    report["turn_by_turn"]["difference"] = -0.03
    assert target_rows(report)[-1][1:] == ["-0.030", "within 0.02", "NO"]
