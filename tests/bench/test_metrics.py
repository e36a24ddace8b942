"""Bench helpers on toy data: metrics, flat baselines, dataset loading (no models)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kg_memory.bench.baselines import FlatBM25, dense_rank, rrf_rank
from kg_memory.bench.dataset import conversation_files, load_dataset
from kg_memory.bench.metrics import (
    GROUPS,
    Scored,
    first_distinct,
    harmonic_bound,
    hit_at_k,
    latency_summary,
    recall_at_k,
    summarize,
)
from kg_memory.embed import CachedEmbedder, HashEmbedder
from kg_memory.errors import InputError

MINI = Path(__file__).resolve().parents[2] / "ingest" / "samples" / "locomo-mini.json"


# -- metrics ---------------------------------------------------------------------
def test_first_distinct_flattens_in_rank_order_and_cuts_at_k() -> None:
    items = [["D1:1", "D1:2"], ["D1:2"], [], ["D3:1", "D1:1", "D4:4"]]
    assert first_distinct(items, 1) == ["D1:1"]
    assert first_distinct(items, 3) == ["D1:1", "D1:2", "D3:1"]
    assert first_distinct(items, 10) == ["D1:1", "D1:2", "D3:1", "D4:4"]
    assert first_distinct(items, 0) == []


def test_composite_evidence_spends_the_budget() -> None:
    # One item carrying 3 turns uses 3 of the k slots: gold at its 3rd turn is outside top-2.
    ranked = first_distinct([["a", "b", "gold"], ["c"]], 2)
    assert recall_at_k({"gold"}, ranked, 2) == 0.0


def test_recall_and_hit() -> None:
    gold = {"a", "b", "c", "d"}
    ranked = ["x", "a", "y", "b"]
    assert recall_at_k(gold, ranked, 1) == 0.0
    assert recall_at_k(gold, ranked, 2) == 0.25
    assert recall_at_k(gold, ranked, 20) == 0.5
    assert hit_at_k(gold, ranked, 1) == 0.0
    assert hit_at_k(gold, ranked, 2) == 1.0
    with pytest.raises(ValueError):
        recall_at_k(set(), ranked, 5)


def test_summarize_groups_categories() -> None:
    results = [
        Scored(1, frozenset({"a", "b"}), ("a", "x", "b")),  # multi-hop: r@1 .5, r@5 1
        Scored(2, frozenset({"c"}), ("x", "y")),  # temporal: miss
        Scored(4, frozenset({"d"}), ("d",)),  # single-hop: hit at 1
        Scored(5, frozenset({"e"}), ("x", "e")),  # adversarial: hit at 2
    ]
    s = summarize(results, ks=(1, 5))
    assert list(s)[: len(GROUPS)] == list(GROUPS)
    assert s["multi-hop"] == {"n": 1, "recall@1": 0.5, "hit@1": 1.0, "recall@5": 1.0, "hit@5": 1.0}
    assert s["open-domain"]["n"] == 0 and s["open-domain"]["recall@5"] is None
    assert s["cat1-4"]["n"] == 3
    assert s["cat1-4"]["recall@1"] == pytest.approx((0.5 + 0 + 1) / 3)
    assert s["cat1-4"]["recall@5"] == pytest.approx((1 + 0 + 1) / 3)
    assert s["all"]["n"] == 4
    assert s["all"]["hit@5"] == pytest.approx(3 / 4)
    assert s["adversarial"]["hit@1"] == 0.0


def test_latency_and_bound() -> None:
    lat = latency_summary([0.001 * i for i in range(1, 101)])
    assert lat["n"] == 100
    assert lat["p50_ms"] == pytest.approx(50.5)
    assert lat["p95_ms"] == pytest.approx(95.05)
    assert latency_summary([])["p50_ms"] is None
    assert harmonic_bound({"a": 100.0, "b": 100.0}) == pytest.approx(50.0)
    assert harmonic_bound({"a": 100.0, "b": None}) is None


# -- baselines ----------------------------------------------------------------------
def test_flat_bm25_ranks_by_terms_and_skips_non_matching() -> None:
    ids = ["t1", "t2", "t3", "t4"]
    texts = [
        "Caroline went to the LGBTQ support group",
        "Melanie painted a sunrise",
        "the support group was moving, said Caroline",
        "nothing here",
    ]
    # Filler documents: with 4 documents, rank_bm25 gives a term in exactly half of them idf 0.
    ids += [f"f{i}" for i in range(6)]
    texts += [f"filler text number {i}" for i in range(6)]
    bm = FlatBM25(ids, texts)
    ranked = bm.rank("When did Caroline go to the LGBTQ support group?", 10)
    assert ranked[0] == "t1"
    assert set(ranked) == {"t1", "t3"}
    assert bm.rank("painted sunrise", 10) == ["t2"]
    assert bm.rank("zebra", 10) == []
    assert FlatBM25([], []).rank("anything", 5) == []


def test_dense_rank_is_cosine() -> None:
    emb = HashEmbedder(dim=64)
    texts = ["red apple pie", "green car engine", "blue ocean waves"]
    m = emb.embed(texts)
    assert dense_rank(["a", "b", "c"], m, emb.embed(["green car"])[0], 1) == ["b"]
    assert len(dense_rank(["a", "b", "c"], m, emb.embed(["x"])[0], 10)) == 3


def test_rrf_rank_fuses() -> None:
    fused = rrf_rank({"bm25": ["a", "b", "c"], "dense": ["c", "a", "d"]}, 10)
    assert fused[0] == "a"  # ranks 1 and 2
    assert fused[1] == "c"  # ranks 3 and 1
    assert set(fused) == {"a", "b", "c", "d"}
    assert rrf_rank({"bm25": ["a", "b"]}, 1) == ["a"]


def test_precomputed_embedder_reuses_vectors() -> None:
    base = HashEmbedder(dim=32)
    fixed = np.ones(32, dtype=np.float32) / np.sqrt(32)
    pre = CachedEmbedder(base, {"known": fixed})
    out = pre.embed(["known", "new text", "known"])
    assert out.shape == (3, 32)
    assert np.allclose(out[0], fixed) and np.allclose(out[2], fixed)
    assert np.allclose(out[1], base.embed(["new text"])[0])
    assert pre.name == base.name and pre.dim == base.dim


# -- dataset -------------------------------------------------------------------------
def test_load_mini_dataset() -> None:
    data = load_dataset(MINI)
    c = data.counts
    assert c["conversations"] == 1
    assert c["questions"] == 3 == c["questions_with_gold"]
    (qs,) = data.questions.values()
    assert [q.category for q in qs] == [4, 1, 5]
    assert qs[1].gold == frozenset({"D1:4", "D1:6"})  # "D1:4; D1:6" split by the loader


def _toy_conv(sample_id: str, qa: list[dict[str, object]]) -> dict[str, object]:
    return {
        "sample_id": sample_id,
        "conversation": {
            "speaker_a": "Ana",
            "speaker_b": "Ben",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [
                {"speaker": "Ana", "dia_id": "D1:1", "text": "I adopted a cat."},
                {"speaker": "Ben", "dia_id": "D1:2", "text": "What is its name?"},
                {"speaker": "Ana", "dia_id": "D1:3", "text": "Miso."},
            ],
        },
        "qa": qa,
    }


def test_gold_evidence_malformed_and_dangling(tmp_path: Path) -> None:
    qa = [
        {"question": "What pet?", "answer": "cat", "evidence": ["D1:1"], "category": 4},
        {"question": "Name?", "answer": "Miso", "evidence": ["D", "D1:3"], "category": 1},
        {"question": "Gone?", "answer": "x", "evidence": ["D9:9"], "category": 2},
        {"question": "None?", "answer": "x", "evidence": ["D"], "category": 3},
    ]
    d = tmp_path / "data"
    d.mkdir()
    (d / "conv-10.json").write_text(json.dumps(_toy_conv("conv-10", qa)))
    (d / "conv-9.json").write_text(json.dumps(_toy_conv("conv-9", qa[:1])))
    assert [p.name for p in conversation_files(d)] == ["conv-9.json", "conv-10.json"]
    data = load_dataset(d)
    c = data.counts
    assert c["conversations"] == 2 and c["turns"] == 6
    assert c["questions"] == 5
    assert c["questions_with_gold"] == 3
    assert c["questions_without_gold"] == 2
    assert c["malformed_evidence_entries"] == 2
    assert c["evidence_ids_not_in_conversation"] == 1
    assert c["per_category"]["temporal"] == {"questions": 1, "with_gold": 0}
    assert [q.gold for q in data.questions["conv-10"]] == [
        frozenset({"D1:1"}),
        frozenset({"D1:3"}),
    ]
    assert load_dataset(d, limit=1).counts["conversations"] == 1


def test_locomo10_list_and_missing_dir(tmp_path: Path) -> None:
    qa = [{"question": "What pet?", "answer": "cat", "evidence": ["D1:1"], "category": 4}]
    (tmp_path / "locomo10.json").write_text(
        json.dumps([_toy_conv("a", qa), _toy_conv("b", qa), _toy_conv("c", qa)])
    )
    data = load_dataset(tmp_path, limit=2)
    assert [cv.conversation_id for cv in data.conversations] == ["a", "b"]
    with pytest.raises(InputError):
        load_dataset(tmp_path / "nope")
