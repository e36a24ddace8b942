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


@pytest.mark.slow
def test_turn_by_turn_equals_whole_with_every_stage(tmp_path: Path) -> None:
    store = ["--store", str(tmp_path / "store")]
    srv = start_server(
        store, [], server_env(tmp_path / "store", embedder="minilm"), tmp_path / "log"
    )
    try:
        with httpx.Client(base_url=srv.url, timeout=300) as c:
            for t in demo_turns():
                r = c.post("/v1/namespaces/steps/remember", json={"turns": [t]})
                assert r.status_code == 200, r.text
            c.post("/v1/namespaces/whole/remember", json={"turns": demo_turns()}).raise_for_status()
            by_turn = snapshot(c, "steps")
            assert by_turn[0]["nodes"]["Event"] > 0 and by_turn[0]["nodes"]["Note"] > 0
            found = [e["turn_ids"] for e in by_turn[1][0]]
            assert ["S1:1"] in found  # "... adopted a beagle puppy ... His name is Biscuit."
            # the same memory, built whole in the same namespace
            c.post("/v1/namespaces/steps/forget", json={"conversation": "demo"}).raise_for_status()
            c.post("/v1/namespaces/steps/remember", json={"turns": demo_turns()}).raise_for_status()
            assert snapshot(c, "steps") == by_turn
            whole = snapshot(c, "whole")
            assert whole[0] | {"namespace": "steps"} == by_turn[0]
    finally:
        stop_server(srv.proc)
