"""The per-question output read back (kg_memory.bench.questions) gives locomo.json's figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kg_memory.bench.questions import load_questions, misses, recall_by_category
from kg_memory.errors import InputError

RESULTS = Path(__file__).resolve().parents[2] / "results"


def test_committed_questions_reproduce_the_report() -> None:
    rows = load_questions(RESULTS / "locomo-questions.jsonl")
    report = json.loads((RESULTS / "locomo.json").read_text(encoding="utf-8"))
    recall = recall_by_category(rows, ks=(1, 5, 10, 20))
    assert set(recall) == set(report["metrics"])
    for system, groups in report["metrics"].items():
        for group in ("multi-hop", "temporal", "open-domain", "single-hop", "cat1-4"):
            for k in (1, 10, 20):
                key = f"recall@{k}"
                assert recall[system][group][key] == pytest.approx(groups[group][key], abs=1e-9)


def test_misses_name_the_rank() -> None:
    rows = load_questions(RESULTS / "locomo-questions.jsonl")
    missed = misses(rows, "BM25", k=10)
    assert missed and all(m.rank is None or 10 < m.rank <= 20 for m in missed)
    gold = sum(len(r["gold"]) for r in rows)
    hits = sum(len(set(r["gold"]) & set(r["top"]["BM25"][:10])) for r in rows)
    assert len(missed) == gold - hits


def test_a_bad_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"category": 1, "gold": [], "top": {}}\n{"category": 1}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"q\.jsonl:2: .*'gold', 'top'"):
        load_questions(path)
    path.write_text("not json\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"q\.jsonl:1:"):
        load_questions(path)
