"""``kg-memory bench``: the benchmark commands (:mod:`kg_memory.bench`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kg_memory.bench.options import BenchOptions
from kg_memory.cli_common import LimitOpt, LocomoDirArg, Neo4jOpt, clean_errors, err

bench_app = typer.Typer(help="Benchmarks.", no_args_is_help=True)


@bench_app.command("locomo")
@clean_errors
def bench_locomo(
    data_dir: LocomoDirArg,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Where to write JSON and markdown.")
    ] = Path("results"),
    stages: Annotated[str, typer.Option(help="Ingest stages for kg-memory.")] = "all",
    limit: LimitOpt = None,
    neo4j: Neo4jOpt = None,
    ranker: Annotated[
        bool,
        typer.Option(help="Also score the learned ranker leave-one-conversation-out, ablations."),
    ] = True,
) -> None:
    """Evidence recall@k / hit@k on LoCoMo, beside flat BM25, dense and RRF baselines.

    Example: kg-memory bench locomo ../shared/data/locomo
    """
    from kg_memory.bench.locomo import run_locomo_bench

    run_locomo_bench(BenchOptions(data_dir, out_dir, stages, limit, neo4j, err), ranker=ranker)


@bench_app.command("writes")
@clean_errors
def bench_writes(
    data_dir: LocomoDirArg,
    neo4j: Annotated[str, typer.Option("--neo4j", help="bolt:// URI of the Neo4j server.")],
    out_dir: Annotated[
        Path, typer.Option("--out", help="Where to write writes.json and writes.md.")
    ] = Path("results/writes"),
    passes: Annotated[int, typer.Option(min=1, help="Timed passes of the store write.")] = 6,
    limit: LimitOpt = None,
) -> None:
    """Neo4j store-write throughput over repeated passes, beside the server's raw floors.

    Example: kg-memory bench writes ../shared/data/locomo --neo4j bolt://127.0.0.1:17687
    """
    from kg_memory.bench.writes import run_write_bench

    run_write_bench(data_dir, neo4j, out_dir=out_dir, passes=passes, limit=limit, console=err)


@bench_app.command("serve")
@clean_errors
def bench_serve(
    data_dir: Annotated[Path, typer.Argument(help="Directory of LoCoMo conv-*.json files.")] = Path(
        "../shared/data/locomo"
    ),
    out_dir: Annotated[
        Path, typer.Option("--out", help="Where to write serve.json and serve.md.")
    ] = Path("results/serve"),
    adds: Annotated[int, typer.Option(min=1, help="Single-turn adds to time.")] = 30,
    questions: Annotated[int, typer.Option(min=2, help="Questions to time.")] = 40,
    clients: Annotated[int, typer.Option(min=2, help="Concurrent HTTP clients.")] = 8,
) -> None:
    """Server speed on the embedded store: add one turn, ask over HTTP, throughput, CLI walls.

    Example: kg-memory bench serve ../shared/data/locomo
    """
    from kg_memory.bench.serve import run_serve_bench

    run_serve_bench(
        data_dir, out_dir=out_dir, adds=adds, questions=questions, clients=clients, console=err
    )


@bench_app.command("scale")
@clean_errors
def bench_scale(
    turns: Annotated[
        int, typer.Option("--turns", min=1, help="Turns in the namespace: LoCoMo + distractors.")
    ],
    data_dir: Annotated[Path, typer.Argument(help="Directory of LoCoMo conv-*.json files.")] = Path(
        "../shared/data/locomo"
    ),
    out_dir: Annotated[
        Path, typer.Option("--out", help="Where scale.json (every run) and scale.md go.")
    ] = Path("results/scale"),
    neo4j: Neo4jOpt = None,
    stages: Annotated[str, typer.Option(help="Ingest stages.")] = "all",
    limit: LimitOpt = None,
    seed: Annotated[int, typer.Option(help="Seed of the distractor generator.")] = 18,
    cache: Annotated[
        Path | None,
        typer.Option(help="Turn-embedding cache (.npz, keyed by text); reused across runs."),
    ] = Path("build/scale-cache/turns.npz"),
) -> None:
    """LoCoMo plus generated distractors to N turns in one namespace; questions asked with
    no conversation filter: ingest turns/s by stage, ask p50/p95, recall@10, disk, peak RSS.

    Example: kg-memory bench scale --turns 10000 --neo4j bolt://127.0.0.1:17687
    """
    from kg_memory.bench.scale.run import run_scale_bench

    opts = BenchOptions(data_dir, out_dir, stages, limit, neo4j, err)
    run_scale_bench(opts, turns=turns, seed=seed, cache=cache)
