"""The learned ranker: question analysis, candidate features, training, model load, preset, trace."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from kg_memory import Memory
from kg_memory.bench.ranker import (
    ABLATIONS,
    UNWEIGHTED,
    evaluate,
    graph_only,
    pool_recall,
    without_generators,
)
from kg_memory.bench.ranker_matrix import ConvMatrix, Question, conversation_matrix
from kg_memory.bench.ranker_train import fit, loco, ranked_turns, write_model
from kg_memory.errors import ModelError
from kg_memory.retrieval.presets import DEFAULT_PRESET, PRESETS
from kg_memory.retrieval.rank.candidates import gather
from kg_memory.retrieval.rank.entities import link
from kg_memory.retrieval.rank.features import FEATURES, GROUPS, featurize
from kg_memory.retrieval.rank.model import Ranker, load_ranker
from kg_memory.retrieval.rank.question import analyse, time_range
from kg_memory.retrieval.rank.search import RankedConfig, ranked_search
from kg_memory.retrieval.request import SearchRequest

DEMO = Path(__file__).resolve().parents[2] / "ingest" / "samples" / "demo.jsonl"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Memory]:
    """The demo conversation, ingested with turns and time expressions (hash embedder)."""
    mem = Memory.open(store_dir=tmp_path_factory.mktemp("demo") / "s", embedder="hash")
    mem.ingest([DEMO], stages="time")
    yield mem
    mem.close()


def test_question_analysis() -> None:
    info = analyse("What instruments does Melanie play now?")
    assert (info.qtype, info.focus, info.names, info.current) == (
        "what",
        "instruments",
        ("melanie",),
        True,
    )
    assert analyse("When did Caroline and Mel go camping?").qtype == "when"
    assert analyse("When did Caroline and Mel go camping?").coordinated
    assert analyse("How many pets does Jo have?").qtype == "how_many"
    assert analyse("Would Jo enjoy a concert?").qtype == "yesno"
    assert time_range("What did Jo do in June 2023?", date(2023, 9, 1)) == (
        date(2023, 6, 1),
        date(2023, 6, 30),
    )
    assert time_range("What did Jo do?", date(2023, 9, 1)) is None


def test_features_on_a_small_store(demo: Memory) -> None:
    info = analyse("What is the name of Maya's puppy?")
    pool = gather(demo.store, demo.embedder, demo.namespace, info, size=40)
    X = featurize(pool)
    assert X.shape == (len(pool.ids), len(FEATURES)) and X.dtype == np.float32
    col = {f: X[:, FEATURES.index(f)] for f in FEATURES}
    speakers = [pool.nodes[i].props["speaker"] for i in pool.ids]
    # the speaker named in the question, and no other, is flagged
    assert np.array_equal(col["speaker_named"], [1.0 if s == "Maya" else 0.0 for s in speakers])
    assert np.all((col["idf_overlap"] >= 0) & (col["idf_overlap"] <= 1 + 1e-6))
    assert np.all(col["idf_overlap_ctx"] >= col["idf_overlap"] - 1e-6)
    assert np.all(col["q_what"] == 1.0) and np.all(col["q_when"] == 0.0)
    # turns carrying a resolved time expression ("last Saturday") are counted
    texts = [pool.nodes[i].text or "" for i in pool.ids]
    first = next(r for r, t in enumerate(texts) if "last Saturday" in t)
    assert col["turn_times"][first] >= 1
    # graph candidates have a graph rank; the puppy turn is among them
    assert np.all(~np.isnan(col["graph_rank"]))
    assert any("Biscuit" in t for t in texts)


def test_time_features_of_a_dated_question(demo: Memory) -> None:
    pool = gather(
        demo.store, demo.embedder, demo.namespace, analyse("What did Maya do in March 2024?")
    )
    X = featurize(pool)
    assert np.all(X[:, FEATURES.index("q_has_range")] == 1.0)
    inside = X[:, FEATURES.index("session_in_range")]
    dates = [pool.nodes[i].props["date_time"][:7] for i in pool.ids]
    assert np.array_equal(inside, [1.0 if d == "2024-03" else 0.0 for d in dates])


def _synthetic(n_conv: int = 3, seed: int = 0) -> list[ConvMatrix]:
    """Conversations whose gold rows have a high ``idf_overlap`` (the rest is noise)."""
    rng = np.random.default_rng(seed)
    out = []
    for c in range(n_conv):
        group = np.full(12, 20, dtype=np.int64)
        rows = int(group.sum())
        X = rng.random((rows, len(FEATURES))).astype(np.float32)
        y = np.zeros(rows, dtype=np.float32)
        X[:, FEATURES.index("graph_rank")] = np.tile(np.arange(1, 21), 12)
        for q in range(12):
            gold = q * 20 + int(rng.integers(0, 20))
            y[gold] = 1.0
            X[gold, FEATURES.index("idf_overlap")] = 2.0
        turns = np.array([f"D{c}:{i}" for i in range(rows)])
        out.append(
            ConvMatrix(
                f"c{c}",
                X,
                y,
                group,
                turns,
                np.arange(12),
                np.full(12, 1 + c % 4),
                np.ones(12, dtype=np.int64),
            )
        )
    return out


def test_training_is_deterministic_and_learns() -> None:
    mats = _synthetic()
    a = fit(mats, rounds=20).booster.model_to_string()
    b = fit(mats, rounds=20).booster.model_to_string()
    assert a == b
    ranked = loco(mats, rounds=20)
    for m in mats:  # the gold row (high idf_overlap) comes first for every question
        gold = m.turn[m.y > 0]
        assert [r[0] for r in ranked[m.conversation]] == list(gold)


def test_bench_evaluation_pool_recall_and_ablations() -> None:
    mats = _synthetic()
    res = evaluate(mats)
    assert res["metrics"]["cat1-4"]["recall@1"] == 1.0
    assert set(res["ablations"]) == {*ABLATIONS, UNWEIGHTED}
    pr = pool_recall(mats)
    assert pr["cat1-4"]["pool"] == 1.0 and pr["cat1-4"]["graph@10"] < 1.0
    m = mats[0].X.copy()
    m[:5, FEATURES.index("graph_rank")] = np.nan  # rows only a generator found
    m[:, FEATURES.index("rank_focus")] = np.nan
    m[:, FEATURES.index("rank_subject")] = np.nan
    m[:2, FEATURES.index("rank_subject")] = 1.0  # two of them by the subject aggregation
    whole = ConvMatrix(
        "x",
        m,
        *[getattr(mats[0], f) for f in ("y", "group", "turn", "qindex", "category", "n_gold")],
    )
    sub = graph_only(whole)
    assert len(sub.y) == len(mats[0].y) - 5 and sub.group.sum() == len(sub.y)
    assert len(without_generators(whole, ("aggregation",)).y) == len(mats[0].y) - 3


def test_model_load_fallback_and_preset(demo: Memory, tmp_path: Path) -> None:
    assert DEFAULT_PRESET == "ranked" and "graph" in PRESETS
    missing = tmp_path / "none.txt"
    assert load_ranker(missing) is None
    cfg = RankedConfig(model=missing)
    ans = ranked_search(demo.scope, SearchRequest("Where is Biscuit from?", 3), cfg)
    assert ans.trace[0] == "ranked: no model file; graph fusion" and len(ans.evidence) == 3

    # a model trained on the demo's own questions, written and read back
    turns = demo.store.find_nodes(demo.namespace, "Turn")
    adopted = next(t for t in turns if "adopted a beagle" in (t.text or ""))
    crate = next(t for t in turns if "crate" in (t.text or ""))
    qs = [
        Question(0, "What is the name of Maya's puppy?", 4, frozenset(adopted.props["turn_ids"])),
        Question(1, "Where did Maya adopt the puppy?", 4, frozenset(adopted.props["turn_ids"])),
        Question(2, "What did Maya buy for the puppy?", 4, frozenset(crate.props["turn_ids"])),
    ]
    m = conversation_matrix(demo.store, demo.embedder, demo.namespace, "demo", qs)
    assert len(m.group) == 3 and m.y.sum() >= 2
    path = tmp_path / "model.txt"
    write_model(fit([m], rounds=5), path)
    ranker = load_ranker(path)
    assert ranker is not None and ranker.features == FEATURES
    assert len(ranked_turns(m, ranker.score(m.X))) == 3
    question = "Where did Maya adopt Biscuit?"
    cfg = RankedConfig(model=path)
    ans = ranked_search(demo.scope, SearchRequest(question, 4, explain=True), cfg)
    assert len(ans.evidence) == 4
    # the preset's pool is the training pool: the graph's top 150 (here every demo turn)
    assert f"pool: {len(turns)} candidate turns" in ans.trace
    assert any(line.startswith("ranker:") for line in ans.trace)
    why = [line for line in ans.trace if " score " in line]
    assert len(why) == 4 and all(line.count(",") >= 2 for line in why)  # 3 features each
    # without explain: the same evidence, each turn's score, no SHAP values
    plain = ranked_search(demo.scope, SearchRequest(question, 4), cfg)
    assert [e.node_id for e in plain.evidence] == [e.node_id for e in ans.evidence]
    scored = [line for line in plain.trace if " score " in line]
    assert [line.split(": ")[0] for line in why] == scored


def test_a_model_with_unknown_features_is_refused(tmp_path: Path) -> None:
    import lightgbm as lgb

    ds = lgb.Dataset(
        np.random.default_rng(0).random((40, 2)), np.arange(40) % 2, feature_name=["a", "b"]
    )
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1}, ds, 2)
    with pytest.raises(ModelError, match="unknown features"):
        Ranker(booster)
    bad = tmp_path / "bad.txt"
    bad.write_text("not a model")
    with pytest.raises(ModelError):
        Ranker.from_file(bad)


def test_groups_cover_every_feature_once() -> None:
    flat = [f for cols in GROUPS.values() for f in cols]
    assert len(flat) == len(set(flat)) == len(FEATURES)


@pytest.fixture(scope="module")
def demo_entities(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Memory]:
    """The demo conversation with entity nodes and time expressions (hash embedder)."""
    mem = Memory.open(store_dir=tmp_path_factory.mktemp("demo-ent") / "s", embedder="hash")
    mem.ingest([DEMO], stages="entities,time")
    yield mem
    mem.close()


def test_decomposition_of_coordinated_subjects() -> None:
    info = analyse("What movies have both Jo and Nate seen?")
    assert info.subquestions == (
        ("jo", "What movies have Jo seen?"),
        ("nate", "What movies have Nate seen?"),
    )
    assert analyse("What did Jo tell Nate?").subquestions == ()
    assert [n for n, _ in analyse("What are Jo's and Ana's hobbies?").subquestions] == ["jo", "ana"]


def test_subject_and_entity_links_come_from_entity_nodes(demo_entities: Memory) -> None:
    mem = demo_entities
    turns = mem.store.find_nodes(mem.namespace, "Turn")
    info = analyse("What pottery class did Maya start?")
    links = link(mem.store, mem.namespace, info)
    spoken = {n.id for n in turns if n.props["speaker"] == "Maya"}
    assert spoken <= links.subject_turns["maya"]  # every turn Maya speaks, and those naming her
    assert links.mentions_subject <= links.subject_turns["maya"]
    text = {n.id: (n.text or "").lower() for n in turns}
    assert links.turn_entities and all(
        "pottery" in text[t] or "class" in text[t] for t in links.turn_entities
    )
    pool = gather(mem.store, mem.embedder, mem.namespace, info, size=10)
    X = featurize(pool)
    col = {f: X[:, FEATURES.index(f)] for f in FEATURES}
    own = np.array([i in links.subject_turns["maya"] for i in pool.ids])
    assert np.array_equal(col["subject_turn"] == 1.0, own)
    assert np.all(np.isnan(col["subject_rank"][~own])) and np.all(col["subject_rank"][own] >= 1)
    assert np.all(np.isnan(col["newer_subject"][~own]))
    mentioned = np.array([i in links.turn_entities for i in pool.ids])
    assert np.all(col["entity_overlap"][mentioned] > 0)
    assert np.all(col["entity_overlap"][~mentioned] == 0)


def test_coordinated_question_merges_each_subjects_turns(demo_entities: Memory) -> None:
    mem = demo_entities
    info = analyse("What do Maya and Tom both do on weekends?")
    pool = gather(mem.store, mem.embedder, mem.namespace, info, size=5)
    speakers = {
        pool.nodes[i].props["speaker"] for i in pool.ids if "subject.dense" in pool.found_by[i]
    }
    assert speakers == {"Maya", "Tom"}
    assert pool.cos_sub and set(pool.cos_sub) <= set(pool.subject_rank)
    assert any(line.startswith("subjects ['maya', 'tom']") for line in pool.trace)


def test_content_query_drops_the_names_and_a_name_is_no_category() -> None:
    info = analyse("What activities does Melanie partake in?")
    assert (info.content, info.focus) == ("activities partake", "activities")
    assert analyse("Who is Melanie?").content is None
    # "What does Melanie do ..." asks no category: the name is not taken for one
    assert analyse("What does Melanie do with her family on hikes?").focus is None
    assert analyse("What does Melanie do with her family on hikes?").content == "family hikes"


def test_content_features_and_subject_turns_ranked_by_topic(demo_entities: Memory) -> None:
    mem = demo_entities
    info = analyse("What pottery class did Maya start?")
    pool = gather(mem.store, mem.embedder, mem.namespace, info, size=10)
    X = featurize(pool)
    col = {f: X[:, FEATURES.index(f)] for f in FEATURES}
    assert pool.cos_c and not np.isnan(col["cos_c"]).any()
    assert np.allclose(col["cos_c"], [pool.cos_c[i] for i in pool.ids])
    best = int(np.argmax(col["cos_c"]))
    assert col["cos_c_rank"][best] == 1.0 and col["cos_c_gap"][best] == 0.0
    # the subject's turns are ranked by the content query (plus the category word), not
    # by the question, whose name every one of them matches
    own = pool.links.subject_turns["maya"]
    score = {t: pool.cos_c[t] + pool.cos_f.get(t, 0.0) for t in own if t in pool.cos_c}
    first = next(t for t, r in pool.subject_rank.items() if r == 1)
    assert score[first] == max(score.values())
    # a question that is only a name has no content query: the columns are missing
    X = featurize(gather(mem.store, mem.embedder, mem.namespace, analyse("Who is Maya?"), size=5))
    for name in GROUPS["content"]:
        assert np.isnan(X[:, FEATURES.index(name)]).all()
