"""Recall@10 of a LoCoMo conversation remembered turn by turn against remembered whole.

Through one running server (:mod:`kg_memory.bench.serve`): the conversation is
remembered whole in one namespace (one request: a whole ingest) and one turn
per request in another (the first turn is a whole ingest of one turn, every
later one an incremental add, :mod:`kg_memory.ingest.incremental`). Each
question with gold evidence of categories 1-4 is then recalled in both (the
server's default preset, ``k`` items); recall@10 counts the gold turns among
the first 10 distinct turn ids, as ``make bench`` does.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import httpx

from kg_memory.bench.dataset import gold_questions
from kg_memory.bench.metrics import first_distinct, latency_summary, recall_at_k
from kg_memory.formats.model import RawConversation

WHOLE, STEPS = "recall-whole", "recall-steps"


def _recall(c: httpx.Client, ns: str, question: str, k: int) -> list[str]:
    r = c.post(f"/v1/namespaces/{ns}/recall", json={"question": question, "k": k})
    r.raise_for_status()
    return first_distinct((e["turn_ids"] for e in r.json()["evidence"]), 10)


def measure_adds(
    c: httpx.Client, turns: Sequence[dict[str, Any]], namespace: str = "bench"
) -> tuple[list[float], list[float]]:
    """Wall seconds of one ``remember`` request per turn (each must add its turn), and
    those of the adds among them that consolidated their conversation (a new session)."""
    out, consolidating = [], []
    for t in turns:
        t0 = time.perf_counter()
        r = c.post(f"/v1/namespaces/{namespace}/remember", json={"turns": [t]})
        out.append(time.perf_counter() - t0)
        r.raise_for_status()
        if r.json()["added"] != 1:
            raise SystemExit(f"turn {t['turn_id']} was not added: {r.text}")
        if r.json().get("consolidated"):
            consolidating.append(out[-1])
    return out, consolidating


def turn_by_turn_recall(
    url: str, conv: RawConversation, turns: Sequence[dict[str, Any]], k: int = 20
) -> dict[str, Any]:
    """Remember ``turns`` (``conv``'s) whole and one per request; recall@10 of each."""
    with httpx.Client(base_url=url, timeout=3600) as c:
        t0 = time.perf_counter()
        c.post(f"/v1/namespaces/{WHOLE}/remember", json={"turns": list(turns)}).raise_for_status()
        whole_s = time.perf_counter() - t0
        adds, consolidating = measure_adds(c, turns, STEPS)
        counts: dict[str, Any] = {
            "questions": 0,
            "malformed_evidence_entries": 0,
            "questions_with_malformed_evidence": 0,
            "evidence_ids_not_in_conversation": 0,
            "per_category": {},
            "questions_without_gold": 0,
            "questions_with_gold": 0,
        }
        qs = [q for q in gold_questions(conv, counts) if 1 <= q.category <= 4]
        whole = [recall_at_k(q.gold, _recall(c, WHOLE, q.question, k), 10) for q in qs]
        steps = [recall_at_k(q.gold, _recall(c, STEPS, q.question, k), 10) for q in qs]
    r_whole, r_steps = sum(whole) / len(qs), sum(steps) / len(qs)
    return {
        "conversation": conv.conversation_id,
        "turns": len(turns),
        "questions": len(qs),
        "recall10_whole": round(r_whole, 4),
        "recall10_turn_by_turn": round(r_steps, 4),
        "difference": round(r_steps - r_whole, 4),
        "whole_seconds": round(whole_s, 2),
        "turn_by_turn_seconds": round(sum(adds), 2),
        "add_one_turn": latency_summary(adds),
        "consolidating_adds": latency_summary(consolidating),
    }
