"""The LoCoMo evidence-retrieval benchmark: kg-memory beside flat BM25, dense and RRF.

What is measured
----------------
Every question with gold evidence is asked of each system, scoped to its own
conversation, and scored on *turn-level evidence*: the gold ``dia_id`` s
against the first ``k`` distinct source turn ids of the answer
(:mod:`kg_memory.bench.metrics`), for k = 1, 5, 10, 20, per LoCoMo category.

* **kg-memory** -- each conversation ingested into a fresh embedded store with
  the requested stages, then :meth:`kg_memory.Memory.ask` (the public code
  path, ``k = 20``), timed per question after one untimed warm-up question per
  store.
* **BM25 / dense / RRF** -- flat baselines over the same turns, one document
  per turn with the same text kg-memory indexes
  (:func:`kg_memory.ingest.turns.index_text`); the dense baseline reuses the
  turn embeddings of the throughput measurement (:mod:`kg_memory.bench.baselines`).
* **kg-memory@neo4j** (with ``neo4j_uri``) -- the same ingest and questions on
  Neo4j, in a fresh namespace per conversation (deleted afterwards), with the
  turn vectors the embedded run computed (the very same floats), so its write
  stage is timed without embedding and its retrieval can be compared id for id.

Each system first ingests and asks an untimed look-alike of the first
conversation's first session (texts prefixed ``(warm-up)``), so that a server's
query planning and JIT compilation are not timed as the first conversation's.

Gold evidence: an evidence entry's ids are repaired by the LoCoMo loader
(:func:`kg_memory.formats.locomo.repair_evidence`; unparsable entries are
counted as malformed). A question's gold set is its parsed ids that exist
among its conversation's turns; questions with an empty gold set are counted
and skipped.

Throughput: the MiniLM embedder is loaded once (torch threads = the cores
available to the process) and its raw rate over all turn texts is measured in
the same run as spaCy's raw ``nlp.pipe`` rate over the turns' own texts (what
the parse stage reads); the "bound" ``1 / (1/embed + 1/spacy)`` is what a
pipeline doing nothing but embedding and parsing would reach on one core set.

Where each part lives
---------------------
:mod:`~kg_memory.bench.dataset` (conversations, questions, gold),
:mod:`~kg_memory.bench.machine` (cores, versions, load),
:mod:`~kg_memory.bench.throughput` (raw rates),
:mod:`~kg_memory.bench.systems` (kg-memory runs and baselines),
:mod:`~kg_memory.bench.metrics` (scores), :mod:`~kg_memory.bench.render`
(tables, markdown, per-question lines); this module runs them in order and
writes ``locomo.json``, ``locomo.md`` and ``locomo-questions.jsonl``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from kg_memory.bench.dataset import (
    BenchQuestion,
    Dataset,
    conversation_files,
    describe_counts,
    load_dataset,
    turn_documents,
)
from kg_memory.bench.machine import available_cores, loadavg, machine_info, versions
from kg_memory.bench.metrics import GROUPS, KS, Scored, latency_summary, summarize
from kg_memory.bench.options import BenchOptions
from kg_memory.bench.ranker import LATENCY as RANKED_LATENCY
from kg_memory.bench.ranker import SYSTEM as RANKED
from kg_memory.bench.ranker import Collector, evaluate
from kg_memory.bench.render import print_report, question_lines, render_markdown, verdict_line
from kg_memory.bench.systems import (
    BASELINES,
    SYSTEMS,
    SystemRun,
    bench_namespace,
    embedded_stores,
    neo4j_stores,
    run_baselines,
    run_memory,
)
from kg_memory.bench.throughput import RawRates, ingest_throughput, measure_raw, neo4j_throughput
from kg_memory.embed import CachedEmbedder, Embedder, MiniLMEmbedder
from kg_memory.errors import ConfigError, KGMemoryError
from kg_memory.ingest.pipeline import STAGE_ORDER, resolve_stages
from kg_memory.progress_bar import progress_bar


def check_stages(stages: str) -> tuple[str, ...]:
    """The stages ``stages`` names, every one imported now (not after the embedding)."""
    try:
        stage_list = resolve_stages(stages)
        # "all" resolves without importing: import every stage now, not after the embedding.
        resolve_stages(",".join(stage_list) or "turns")
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"a stage module is not available ({exc.name}); choose --stages from what exists"
            f" (turns, {', '.join(STAGE_ORDER)})"
        ) from exc
    return stage_list


def load_minilm(threads: int) -> Embedder:
    """all-MiniLM-L6-v2 on ``threads`` torch threads."""
    import torch

    torch.set_num_threads(threads)
    return MiniLMEmbedder(threads=threads)


def run_systems(
    data: Dataset,
    embedder: Embedder,
    raw: RawRates,
    stages: str,
    k: int,
    neo4j_uri: str | None,
    console: Console,
    collector: Collector | None = None,
) -> dict[str, SystemRun]:
    """kg-memory (embedded), the baselines, and kg-memory on Neo4j when a URI is given.

    The embedded run records the turn vectors its ingest computes (questions are
    not recorded: every system encodes them for real), so that Neo4j ingests the
    very same vectors: a batch's make-up moves MiniLM's last float bits.
    """
    runs: dict[str, SystemRun] = {}
    with progress_bar(console, label_width=28) as bar:  # the systems' runs
        recording = CachedEmbedder(embedder, only=raw.index_texts)
        runs["kg-memory"] = run_memory(
            "kg-memory", data, embedded_stores(), recording, stages, k, bar, collector
        )
        runs.update(run_baselines(data, raw.turn_vectors, raw.question_vectors, k, bar))
        if neo4j_uri:
            table = raw.vector_table()
            table.update(recording.table)
            pre = CachedEmbedder(embedder, table)
            name = "kg-memory@neo4j"
            try:
                runs[name] = run_memory(name, data, neo4j_stores(neo4j_uri), pre, stages, k, bar)
            except (KGMemoryError, ImportError, OSError) as exc:
                runs[name] = SystemRun(name, error=f"{type(exc).__name__}: {exc}")
                console.print(f"[red]{name} failed:[/red] {exc}", highlight=False)
    return runs


def score_ranker(
    collector: Collector, runs: dict[str, SystemRun], console: Console
) -> dict[str, Any]:
    """Train and score the ranker leave-one-conversation-out on the collected matrices.

    Adds its ranking and the ``ranked`` preset's ask latency to ``runs``; returns
    the ablations and pool recall for the report's ``ranker`` section.
    """
    console.print("ranker: leave-one-conversation-out training ...", highlight=False)
    res = evaluate(collector.mats)
    runs[RANKED] = SystemRun(RANKED, ranked=res.pop("ranked"))
    runs[RANKED_LATENCY] = SystemRun(RANKED_LATENCY, ask_seconds=collector.seconds)
    return res


def score_systems(
    questions: list[BenchQuestion], runs: dict[str, SystemRun], ks: Sequence[int]
) -> dict[str, Any]:
    """recall@k and hit@k per group for every system that ran, in :data:`SYSTEMS` order."""
    metrics: dict[str, Any] = {}
    for name in SYSTEMS:
        run = runs.get(name)
        if run is None or run.error:
            continue
        metrics[name] = summarize((Scored(q.category, q.gold, run.top(q)) for q in questions), ks)
    return metrics


def summary_section(metrics: dict[str, Any]) -> dict[str, Any]:
    """kg-memory's recall@10 over categories 1-4 against the best baseline's, and the verdict."""
    best_name, best = max(
        ((n, metrics[n]["cat1-4"]["recall@10"]) for n in BASELINES if n in metrics),
        key=lambda x: x[1] if x[1] is not None else -1.0,
    )
    ours = metrics["kg-memory"]["cat1-4"]["recall@10"]
    verdict = "OK" if ours is not None and best is not None and ours >= best else "BELOW"
    return {
        "kg_memory_recall@10_cat1-4": ours,
        "best_baseline": best_name,
        "best_baseline_recall@10_cat1-4": best,
        "verdict": verdict,
    }


def config_section(
    stages: str,
    stage_list: Sequence[str],
    limit: int | None,
    ks: Sequence[int],
    embedder: Embedder,
    neo4j_uri: str | None,
) -> dict[str, Any]:
    """The report's ``config`` section: what was run, and how it was measured."""
    return {
        "stages": ["turns", *stage_list],
        "stages_requested": stages,
        "limit": limit,
        "ks": list(ks),
        "ask_k": max(ks),
        "namespace": bench_namespace("<conversation>"),
        "embedder": embedder.name,
        "rrf_k": 60,
        "bm25": "rank_bm25.BM25Okapi(k1=1.5, b=0.75, epsilon=0.25), kg_memory.text.tokenize",
        "documents": "one per turn: kg_memory.ingest.turns.index_text",
        "budget": "first k distinct source turn ids of the ranked evidence",
        "gold": "parsed evidence ids that exist among the conversation's turns",
        "neo4j_uri": neo4j_uri,
        "latency": "kg-memory: Memory.ask wall time incl. query encoding, after one untimed "
        "warm-up question per store; baselines: ranking only (query vector precomputed)",
    }


def speed_sections(raw: RawRates, runs: dict[str, SystemRun]) -> dict[str, Any]:
    """The report's ``latency`` and ``throughput`` sections."""
    latency = {
        name: latency_summary(r.ask_seconds)
        for name, r in runs.items()
        if not r.error and r.ask_seconds
    }
    latency["query encoding"] = latency_summary(raw.encode_seconds)
    throughput = ingest_throughput(raw, runs["kg-memory"])
    if "kg-memory@neo4j" in runs:
        throughput.update(neo4j_throughput(runs["kg-memory"], runs["kg-memory@neo4j"]))
    return {"latency": latency, "throughput": throughput}


def systems_section(runs: dict[str, SystemRun]) -> dict[str, Any]:
    """Size and per-conversation figures of the kg-memory runs."""
    return {
        name: {
            "error": r.error,
            "turns": r.turns,
            "nodes": r.nodes,
            "edges": r.edges,
            "per_conversation": r.per_conversation,
        }
        for name, r in runs.items()
        if name.startswith("kg-memory")
    }


def write_outputs(
    out: Path, report: dict[str, Any], data: Dataset, runs: dict[str, SystemRun]
) -> None:
    """``locomo.json``, ``locomo.md`` and ``locomo-questions.jsonl`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "locomo.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8"
    )
    (out / "locomo.md").write_text(render_markdown(report), "utf-8")
    with (out / "locomo-questions.jsonl").open("w", encoding="utf-8") as fh:
        for line in question_lines(data.all_questions(), runs):
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")


def run_locomo_bench(
    opts: BenchOptions,
    *,
    embedder: Embedder | None = None,
    threads: int | None = None,
    ks: Sequence[int] = KS,
    ranker: bool = True,
) -> dict[str, Any]:
    """Run the benchmark; print tables on ``opts.console``; write ``locomo.json`` and
    ``locomo.md``.

    Parameters
    ----------
    opts:
        ``data_dir`` is a directory of ``conv-*.json`` (or ``locomo10.json``), or one
        LoCoMo file; ``out_dir`` gets ``locomo.json``, ``locomo.md`` and
        ``locomo-questions.jsonl``; kg-memory ingests with ``stages`` (``all``,
        ``turns`` or a comma list) and also runs on Neo4j at ``neo4j_uri``.
    embedder:
        Defaults to all-MiniLM-L6-v2 (tests pass a hash embedder).
    threads:
        torch threads for MiniLM (default: every core available to the process).
    ranker:
        Also score the learned ranker leave-one-conversation-out, with its
        ablations and the ``ranked`` preset's latency (needs 2+ conversations).

    Returns the JSON report as a dict.
    """
    wall0 = time.perf_counter()
    console = opts.console
    ks = tuple(sorted(set(ks)))
    load_start = loadavg()
    stage_list = check_stages(opts.stages)
    data = load_dataset(Path(opts.data_dir), opts.limit)
    console.print(describe_counts(data.counts), highlight=False)
    console.print(
        f"kg-memory stages: turns{''.join(', ' + s for s in stage_list)}", highlight=False
    )
    cores = available_cores()
    embedder = embedder or load_minilm(threads or cores)
    raw = measure_raw(data, embedder, console)
    collector = Collector(max(ks)) if ranker and len(data.conversations) > 1 else None
    runs = run_systems(
        data, embedder, raw, opts.stages, max(ks), opts.neo4j_uri, console, collector
    )
    ranker_report = score_ranker(collector, runs, console) if collector is not None else None
    metrics = score_systems(data.all_questions(), runs, ks)
    speed = speed_sections(raw, runs)
    wall = time.perf_counter() - wall0
    report: dict[str, Any] = {
        "benchmark": "locomo-evidence-retrieval",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": str(opts.data_dir),
        "config": config_section(opts.stages, stage_list, opts.limit, ks, embedder, opts.neo4j_uri),
        "machine": machine_info(cores, load_start),
        "versions": versions(),
        "counts": data.counts,
        "metrics": metrics,
        "latency": speed["latency"],
        "throughput": speed["throughput"],
        "systems": systems_section(runs),
        "summary": summary_section(metrics),
        "wall_seconds": round(wall, 2),
    }
    if ranker_report is not None:
        report["ranker"] = ranker_report
    out = Path(opts.out_dir)
    write_outputs(out, report, data, runs)
    console.print(f"wrote {out / 'locomo.json'}, {out / 'locomo.md'}", highlight=False)
    print_report(report, console)  # ends with the verdict line
    return report


__all__ = [
    "GROUPS",
    "SYSTEMS",
    "BenchQuestion",
    "Dataset",
    "SystemRun",
    "available_cores",
    "bench_namespace",
    "conversation_files",
    "load_dataset",
    "print_report",
    "render_markdown",
    "run_locomo_bench",
    "turn_documents",
    "verdict_line",
]
