"""The pure parts of ``kg-memory bench serve`` (the run itself takes minutes: see README)."""

from __future__ import annotations

import os
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


def test_process_cpu_counts_the_server_and_its_children() -> None:
    """CPU per question is read from /proc: this process, and a child that burns CPU."""
    import subprocess
    import sys
    import time

    from kg_memory.bench.serve import cpu_per_question, process_cpu

    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])

    def run() -> float:
        start = process_cpu(os.getpid())
        assert start is not None
        while True:  # until the child has burnt 0.2 s more (however loaded the machine)
            now = process_cpu(os.getpid())
            assert now is not None
            if now["workers"] - start["workers"] >= 0.2:
                return 2.0
            time.sleep(0.05)

    try:
        qps, cpu = cpu_per_question(os.getpid(), run, 2)
    finally:
        child.kill()
        child.wait()
    assert qps == 2.0
    assert cpu is not None and cpu["workers"] >= 100  # >= 0.2 s over 2 questions
    assert process_cpu(-1) is None
