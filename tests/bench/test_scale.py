"""``kg-memory bench scale``: the distractor generator, and runs at a tiny N on both stores."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from kg_memory.bench.dataset import load_conversations
from kg_memory.bench.options import BenchOptions
from kg_memory.bench.scale import vocab
from kg_memory.bench.scale.generator import (
    POOL_CONVERSATIONS,
    distractor,
    distractors,
    pool_conversation,
)
from kg_memory.bench.scale.haystack import TextCache, turn_texts
from kg_memory.bench.scale.run import run_scale_bench
from kg_memory.embed import HashEmbedder

MINI = Path(__file__).resolve().parents[2] / "ingest" / "samples" / "locomo-mini.json"


def test_distractors_are_deterministic_and_exactly_n_turns() -> None:
    assert distractor(3) == distractor(3)
    assert distractor(3).sessions == pool_conversation(3).sessions
    assert distractor(3) != distractor(4)
    assert distractor(POOL_CONVERSATIONS + 3).sessions == distractor(3).sessions
    assert distractor(3, seed=1) != distractor(3)
    convs = list(distractors(1234))
    assert sum(c.n_turns for c in convs) == 1234
    assert len({c.conversation_id for c in convs}) == len(convs)
    first = convs[0]
    assert len(first.speakers) == 2 and len(first.sessions) >= 8
    dates = [s.date_time for s in first.sessions]
    assert dates == sorted(dates)  # ISO dates, later sessions later


def test_distractors_share_no_person_or_text_with_locomo(locomo_dir: Path) -> None:
    convs = load_conversations(locomo_dir)
    speakers = {sp for c in convs for sp in c.speakers}
    assert not speakers & set(vocab.FIRST_NAMES)
    gold_texts = {t.text for c in convs for s in c.sessions for t in s.turns}
    for j in range(0, POOL_CONVERSATIONS, 7):
        pool = pool_conversation(j)
        assert not {t.text for s in pool.sessions for t in s.turns} & gold_texts, j


def test_text_cache_keeps_turns_not_questions(tmp_path: Path) -> None:
    conv = distractor(0)
    path = tmp_path / "cache.npz"
    cache = TextCache(HashEmbedder(dim=8), path)
    cache.allow(conv)
    texts = list(turn_texts(conv))
    cache.embed([*texts[:5], "a question"])
    assert set(cache.table) == set(texts[:5])
    cache.save()
    again = TextCache(HashEmbedder(dim=8), path)
    assert again.loaded_at_start == 5
    assert (again.embed(texts[:5]) == cache.embed(texts[:5])).all()
    assert TextCache(HashEmbedder(dim=16), path).loaded_at_start == 0  # another dim


def _run(out: Path, **kw: object) -> dict:  # type: ignore[type-arg]
    if not MINI.is_file():
        pytest.fail(f"sample not found: {MINI}")
    buf = io.StringIO()
    opts = BenchOptions(
        MINI,
        out,
        stages=kw.pop("stages", "turns"),  # type: ignore[arg-type]
        neo4j_uri=kw.pop("neo4j_uri", None),  # type: ignore[arg-type]
        console=Console(file=buf, width=160),
    )
    run = run_scale_bench(
        opts,
        turns=500,
        cache=out / "cache.npz",
        embedder=HashEmbedder(),
        **kw,  # type: ignore[arg-type]
    )
    assert "kg-memory bench scale" in buf.getvalue()
    return run


def _check(run: dict, out: Path, store: str) -> None:  # type: ignore[type-arg]
    assert run["store"] == store and run["turns"] == 500
    assert run["config"]["distractor_turns"] == 500 - run["config"]["locomo_turns"] > 0
    assert run["ingest"]["turns"] == 500
    assert run["ingest"]["windows"][-1]["size_turns"] == 500
    assert run["ask"]["n"] == run["config"]["questions"] > 0
    assert 0.0 <= run["metrics"]["cat1-4"]["recall@10"] <= 1.0
    assert run["store_bytes"] > 0 and run["peak_rss_bytes"] > 0
    saved = json.loads((out / "scale.json").read_text())
    assert [(r["store"], r["turns"]) for r in saved["runs"]].count((store, 500)) == 1
    assert "| " + store + " | 500 |" in (out / "scale.md").read_text()


def test_scale_bench_embedded_tiny(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = _run(out)
    _check(run, out, "embedded")
    cached = run["text_cache"]["size"]  # distinct turn texts (a few repeat)
    assert run["text_cache"]["loaded"] == 0 and 400 < cached <= 500
    again = _run(out)  # the same size again replaces the run, and reuses the cache
    assert again["text_cache"]["loaded"] == again["text_cache"]["size"] == cached
    assert len(json.loads((out / "scale.json").read_text())["runs"]) == 1


@pytest.mark.slow
@pytest.mark.neo4j
def test_scale_bench_neo4j_tiny(tmp_path: Path, neo4j_config, namespace: str) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    run = _run(out, neo4j_uri=neo4j_config.uri, namespace=namespace, cleanup=True, stages="all")
    _check(run, out, "neo4j")
