"""The parts of the LoCoMo bench on the tiny sample and toy runs (no models, no stores)."""

from __future__ import annotations

from pathlib import Path

from kg_memory.bench.dataset import load_dataset, turn_documents, warm_up_sample
from kg_memory.bench.locomo import score_systems, summary_section
from kg_memory.bench.render import md_table, question_lines
from kg_memory.bench.systems import SYSTEMS, SystemRun

MINI = Path(__file__).resolve().parents[2] / "ingest" / "samples" / "locomo-mini.json"


def _runs(questions, tops):  # type: ignore[no-untyped-def]
    runs = {name: SystemRun(name) for name in ("RRF", "kg-memory", "BM25", "dense")}
    for name, top in tops.items():
        for q in questions:
            runs[name].ranked[(q.conversation, q.index)] = top
    return runs


def test_warm_up_sample_looks_like_the_first_session_with_other_texts() -> None:
    conv = load_dataset(MINI).conversations[0]
    sample = warm_up_sample(conv)
    assert sample.conversation_id == f"warm-up-{conv.conversation_id}"
    assert len(sample.sessions) == 1
    first = conv.sessions[0]
    assert [t.turn_id for t in sample.sessions[0].turns] == [t.turn_id for t in first.turns]
    assert all(t.text.startswith("(warm-up) ") for t in sample.sessions[0].turns)
    ids, docs, own = turn_documents(sample)
    assert len(ids) == len(docs) == len(own) == len(first.turns)


def test_scores_in_display_order_and_the_verdict() -> None:
    data = load_dataset(MINI)
    qs = data.all_questions()
    gold = tuple(sorted(qs[0].gold))
    runs = _runs(qs, {"kg-memory": gold, "BM25": (), "dense": (), "RRF": gold})
    runs["dense"].error = "failed"
    metrics = score_systems(qs, runs, (1, 10))
    assert list(metrics) == [n for n in SYSTEMS if n in ("kg-memory", "BM25", "RRF")]
    summary = summary_section(metrics)
    assert summary["best_baseline"] == "RRF"
    assert summary["verdict"] == "OK"  # a tie with the best baseline is not below it


def test_question_lines_leave_out_failed_systems() -> None:
    data = load_dataset(MINI)
    qs = data.all_questions()
    runs = _runs(qs, {"kg-memory": ("D1:1",), "BM25": ("D1:2",), "dense": (), "RRF": ()})
    runs["dense"].error = "failed"
    lines = list(question_lines(qs, runs))
    assert len(lines) == data.n_questions
    assert list(lines[0]) == ["conversation", "qa_index", "category", "question", "gold", "top"]
    assert lines[0]["top"] == {"RRF": [], "kg-memory": ["D1:1"], "BM25": ["D1:2"]}
    assert lines[0]["gold"] == sorted(qs[0].gold)


def test_md_table() -> None:
    assert md_table(["a"], [["1"], ["2"]]).splitlines() == ["| a |", "|---|", "| 1 |", "| 2 |"]
