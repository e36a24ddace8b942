"""End-to-end smoke run of the LoCoMo bench on the tiny sample (hash embedder, real spaCy)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from kg_memory.bench.locomo import run_locomo_bench
from kg_memory.bench.metrics import GROUPS, KS
from kg_memory.bench.options import BenchOptions
from kg_memory.embed import HashEmbedder

MINI = Path(__file__).resolve().parents[2] / "ingest" / "samples" / "locomo-mini.json"


@pytest.mark.slow
def test_bench_on_mini_sample(tmp_path: Path) -> None:
    if not MINI.is_file():
        pytest.skip(f"sample not found: {MINI}")
    buf = io.StringIO()
    out = tmp_path / "out"
    opts = BenchOptions(MINI, out, stages="turns", console=Console(file=buf, width=120))
    report = run_locomo_bench(opts, embedder=HashEmbedder())
    for name in ("locomo.json", "locomo.md", "locomo-questions.jsonl"):
        assert (out / name).is_file(), name
    saved = json.loads((out / "locomo.json").read_text())
    assert saved["summary"] == report["summary"]
    for key in (
        "date",
        "config",
        "machine",
        "versions",
        "counts",
        "metrics",
        "latency",
        "throughput",
        "summary",
        "wall_seconds",
    ):
        assert key in saved, key
    assert saved["config"]["stages"] == ["turns"]
    assert saved["counts"]["questions_with_gold"] == 3
    assert set(saved["metrics"]) == {"kg-memory", "BM25", "dense", "RRF"}
    for system in saved["metrics"].values():
        assert list(system) == list(GROUPS)
        assert system["all"]["n"] == 3
        for k in KS:
            assert 0.0 <= system["all"][f"recall@{k}"] <= 1.0
            assert 0.0 <= system["all"][f"hit@{k}"] <= 1.0
    for key in ("embed_turns_per_s", "spacy_turns_per_s", "bound_turns_per_s", "stage_share"):
        assert saved["throughput"][key] is not None, key
    assert saved["latency"]["kg-memory"]["n"] == 3
    assert saved["summary"]["verdict"] in {"OK", "BELOW"}
    lines = (out / "locomo-questions.jsonl").read_text().splitlines()
    assert len(lines) == 3
    assert set(json.loads(lines[0])["top"]) == {"kg-memory", "BM25", "dense", "RRF"}
    md = (out / "locomo.md").read_text()
    assert "| kg-memory |" in md and "recall@10" in md
    text = buf.getvalue()
    assert text.rstrip().splitlines()[-1].startswith("kg-memory recall@10 (cat 1-4):")


@pytest.mark.neo4j
@pytest.mark.slow
def test_write_bench_on_mini_sample(tmp_path: Path, neo4j_config) -> None:  # type: ignore[no-untyped-def]
    from kg_memory.bench.writes import PROBE_LABEL, run_write_bench
    from kg_memory.store import open_store

    out = tmp_path / "writes"
    report = run_write_bench(
        MINI, neo4j_config.uri, out_dir=out, passes=2, console=Console(file=io.StringIO())
    )
    systems = [(r["system"], r["pass"]) for r in report["rows"]]
    assert systems == [
        ("store", 1),
        ("store", 2),
        ("two writers", 1),
        ("probe: structure only", 1),
        ("probe: structure only", 2),
        ("probe: + properties", 1),
        ("probe: + properties", 2),
    ]
    assert all(r["turns_per_s"] > 0 for r in report["rows"])
    # The local Community server reports its CPU time through JMX; the client's is always known.
    assert all(r["server_cpu_s"] is not None and r["server_cpu_s"] >= 0 for r in report["rows"])
    assert all(r["client_cpu_s"] >= 0 for r in report["rows"])
    assert json.loads((out / "writes.json").read_text())["turns"] == report["turns"] > 0
    md = (out / "writes.md").read_text()
    assert "best store pass" in md and "CPU bound of that pass" in md
    # The CPU bound: the rate if the best pass's CPU seconds were spread over every core.
    best = max(
        (r for r in report["rows"] if r["system"] == "store"), key=lambda r: r["turns_per_s"]
    )
    assert report["best_store_turns_per_s"] == best["turns_per_s"]
    assert report["cpu_bound_turns_per_s"] == pytest.approx(
        report["turns"] * report["cores"] / (best["server_cpu_s"] + best["client_cpu_s"]), rel=0.01
    )
    assert report["target_turns_per_s"] == 2000
    # Nothing is left behind: neither the bench namespaces nor the probe's scratch label.
    store = open_store(neo4j_config)
    try:
        assert not [ns for ns in store.namespaces() if ns.startswith("bench-writes-")]
        assert store.cypher(f"MATCH (n:{PROBE_LABEL}) RETURN count(n) AS n") == [{"n": 0}]
    finally:
        store.close()


@pytest.mark.slow
def test_layer_ablation_on_mini_sample(tmp_path: Path) -> None:
    from kg_memory.bench.layers import run, variants
    from kg_memory.embed import HashEmbedder

    if not MINI.exists():
        pytest.skip(f"sample not found: {MINI}")
    report = run(MINI, 20, tmp_path / "out", embedder=HashEmbedder())
    assert list(report["rows"]) == list(variants())
    for row in report["rows"].values():
        assert 0.0 <= row["R@1"] <= row["R@5"] <= row["R@10"] <= row["R@20"] <= 1.0
    md = (tmp_path / "out" / "layers.md").read_text()
    assert "| + summaries, weight 1/2 |" in md
