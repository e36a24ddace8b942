"""A server with the real models (all-MiniLM-L6-v2, spaCy) and every ingest stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.helpers import demo_turns, server_env, start_server, stop_server

QUESTIONS = (
    "What is the name of Maya's puppy and where did she adopt him?",
    "Why does Tom go climbing?",
    "What class did Maya start?",
)


def snapshot(c: httpx.Client, ns: str) -> tuple[dict[str, Any], list[Any]]:
    base = f"/v1/namespaces/{ns}"
    stats = c.get(f"{base}/stats").json()
    answers = [c.post(f"{base}/recall", json={"question": q, "k": 10}).json() for q in QUESTIONS]
    return stats, [a["evidence"] for a in answers]


def demo_with_ids() -> list[dict[str, Any]]:
    """The demo turns with the ids a JSONL file gives them (``S<session>:<n>``), explicit:
    re-sending a turn without an id would append it again."""
    seen: dict[Any, int] = {}
    out = []
    for t in demo_turns():
        seen[t["session"]] = seen.get(t["session"], 0) + 1
        out.append(dict(t, turn_id=f"S{t['session']}:{seen[t['session']]}"))
    return out


@pytest.mark.slow
def test_turn_by_turn_answers_as_well_as_whole_with_every_stage(tmp_path: Path) -> None:
    """Turns remembered one per request (incremental add) answer as the whole ingest does."""
    store = ["--store", str(tmp_path / "store")]
    srv = start_server(
        store, ["--create"], server_env(tmp_path / "store", embedder="minilm"), tmp_path / "log"
    )
    try:
        with httpx.Client(base_url=srv.url, timeout=300) as c:
            for t in demo_with_ids():
                r = c.post("/v1/namespaces/steps/remember", json={"turns": [t]})
                assert r.status_code == 200, r.text
            c.post("/v1/namespaces/whole/remember", json={"turns": demo_turns()}).raise_for_status()
            by_turn, whole = snapshot(c, "steps"), snapshot(c, "whole")
            nodes = by_turn[0]["nodes"]
            assert nodes["Event"] > 0 and nodes["Note"] > 0 and nodes["Summary"] == 3
            for label in ("Turn", "Session", "Note", "Fact", "Summary", "TimeInterval"):
                assert nodes[label] == whole[0]["nodes"][label], label
            assert ["S1:1"] in [e["turn_ids"] for e in by_turn[1][0]]
            for steps, full in zip(by_turn[1], whole[1], strict=True):
                # the whole ingest's best turn is among the incremental memory's best three
                assert full[0]["turn_ids"] in [e["turn_ids"] for e in steps[:3]]
            # re-adding every turn changes nothing (idempotent per turn id)
            again = c.post("/v1/namespaces/steps/remember", json={"turns": demo_with_ids()}).json()
            assert again["added"] == 0 and snapshot(c, "steps") == by_turn
    finally:
        stop_server(srv.proc)
