"""``kg-memory bench scale``: ingest LoCoMo plus distractors to N turns, ask without a filter.

One run, on one store:

1. **Ingest** LoCoMo's conversations, then the distractors
   (:mod:`kg_memory.bench.scale.haystack`), one conversation per
   :meth:`Memory.ingest_conversations` call (one transaction each), all in one
   namespace. Recorded: turns/s overall and per window of N/20 turns (the
   rate at the memory's size then), seconds per stage.
2. **Ask** every LoCoMo question of categories 1-4 with no conversation
   filter (``SearchRequest(question, k, None)``), the preset's wall time each
   (query encoding included) after one untimed warm-up question; scored on
   the first ``k`` distinct ``<conversation>/<turn id>`` keys of its evidence.
3. **Size**: the store's bytes on disk (the embedded store's directory; the
   local Neo4j server's ``data`` directory), this process's peak RSS, and the
   Neo4j server's (``VmHWM``) when it is the local test server.

Each run is added to ``DIR/scale.json`` (a run of the same store and N
replaces the earlier one), and ``DIR/scale.md`` is written from all of them.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from kg_memory.bench.locomo import check_stages, load_minilm
from kg_memory.bench.machine import available_cores, loadavg, machine_info, versions
from kg_memory.bench.metrics import KS, Scored, first_distinct, latency_summary, summarize
from kg_memory.bench.options import BenchOptions
from kg_memory.bench.scale.generator import POOL_CONVERSATIONS, SEED
from kg_memory.bench.scale.haystack import Haystack, TextCache, key, load_haystack
from kg_memory.bench.scale.measure import (
    IngestClock,
    disk_bytes,
    neo4j_home,
    neo4j_server_pid,
    process_peak_rss_bytes,
    self_peak_rss_bytes,
)
from kg_memory.bench.scale.report import merge_runs, print_run, render_markdown
from kg_memory.config import EmbeddedConfig, Neo4jConfig
from kg_memory.embed import Embedder
from kg_memory.errors import ConfigError
from kg_memory.memory import Memory
from kg_memory.progress_bar import progress_bar
from kg_memory.retrieval.request import SearchRequest
from kg_memory.store import backend_class
from kg_memory.store.base import Store

NAMESPACE = "scale"
#: The preset asked: graph fusion, which has no model learned on LoCoMo (the shipped
#: ranker's model was trained on these very conversations).
PRESET = "graph"
ASK_K = max(KS)


def open_store(
    neo4j_uri: str | None, namespace: str, cleanup: bool, stack: ExitStack
) -> tuple[Store, Path]:
    """The store (closed by ``stack``) and the directory whose size is its disk size."""
    if neo4j_uri:
        cfg = Neo4jConfig.from_env(neo4j_uri)
        if cfg is None:  # pragma: no cover - a URI is given
            raise ConfigError("no Neo4j URI")
        store = backend_class("neo4j")(cfg)
        stack.callback(store.close)
        store.delete_namespace(namespace)
        if cleanup:
            stack.callback(store.delete_namespace, namespace)
        return store, neo4j_home() / "data"
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kgm-scale-")))
    store = backend_class("embedded")(EmbeddedConfig(tmp / "store"))
    stack.callback(store.close)
    return store, tmp / "store"


def ingest_all(
    mem: Memory,
    hay: Haystack,
    cache: TextCache,
    stages: str,
    show: Callable[[int], None],
    log: Callable[[str], None],
) -> tuple[IngestClock, dict[str, int]]:
    """Ingest the haystack conversation by conversation; the clock and node/edge counts."""
    clock = IngestClock(window=max(hay.n_turns // 20, 1))
    sizes = {"conversations": 0, "nodes": 0, "edges": 0}
    logged = 0
    for conv in hay.conversations():
        cache.allow(conv)
        t0 = time.perf_counter()
        report = mem.ingest_conversations([conv], stages=stages)
        clock.add(report.turns, time.perf_counter() - t0, report.stage_seconds)
        sizes["conversations"] += 1
        sizes["nodes"] += report.nodes
        sizes["edges"] += report.edges
        show(report.turns)
        if len(clock.windows) > logged:  # one line per window: readable in a log file too
            w = clock.windows[-1]
            log(f"ingest: {w['size_turns']:,} turns stored, {w['turns_per_s']} turns/s")
            logged = len(clock.windows)
    return clock, sizes


def ask_all(
    mem: Memory, hay: Haystack, show: Callable[[], None]
) -> tuple[list[float], list[Scored]]:
    """Ask every question with no conversation filter; latencies and scored answers."""
    if hay.questions:
        mem.search(SearchRequest(hay.questions[0].question, ASK_K, None), preset=PRESET)
    lat: list[float] = []
    scored: list[Scored] = []
    for q in hay.questions:
        t0 = time.perf_counter()
        ans = mem.search(SearchRequest(q.question, ASK_K, None), preset=PRESET)
        lat.append(time.perf_counter() - t0)
        keys = ([key(e.conversation, t) for t in e.turn_ids] for e in ans.evidence)
        scored.append(Scored(q.category, hay.gold(q), tuple(first_distinct(keys, ASK_K))))
        show()
    return lat, scored


def measure(
    hay: Haystack,
    embedder: Embedder,
    cache_path: Path | None,
    neo4j_uri: str | None,
    stages: str,
    namespace: str,
    cleanup: bool,
    console: Console,
) -> dict[str, Any]:
    """Ingest and ask on one store; the run's figures."""
    cache = TextCache(embedder, cache_path)
    with ExitStack() as stack, progress_bar(console, label_width=10) as bar:
        store, data_dir = open_store(neo4j_uri, namespace, cleanup, stack)
        mem = Memory(store, namespace=namespace, embedder=cache)
        ingest_task = bar.add_task("ingest", total=hay.n_turns)

        def advance(n: int) -> None:
            bar.advance(ingest_task, n)

        clock, sizes = ingest_all(mem, hay, cache, stages, advance, bar.console.log)
        cache.save()
        ask_task = bar.add_task("ask", total=len(hay.questions))
        lat, scored = ask_all(mem, hay, lambda: bar.advance(ask_task))
        store_bytes = disk_bytes(data_dir)
    server_pid = neo4j_server_pid(neo4j_home()) if neo4j_uri else None
    return {
        "ingest": clock.summary(),
        "ask": latency_summary(lat),
        "metrics": summarize(scored, KS),
        "sizes": sizes,
        "store_bytes": store_bytes,
        "peak_rss_bytes": self_peak_rss_bytes(),
        "server_peak_rss_bytes": process_peak_rss_bytes(server_pid) if server_pid else None,
        "text_cache": {"loaded": cache.loaded_at_start, "size": len(cache.table)},
    }


def run_scale_bench(
    opts: BenchOptions,
    *,
    turns: int,
    seed: int = SEED,
    cache: Path | None = Path("build/scale-cache/turns.npz"),
    embedder: Embedder | None = None,
    namespace: str = NAMESPACE,
    cleanup: bool = False,
) -> dict[str, Any]:
    """Run one size on one store; add it to ``opts.out_dir/scale.json`` and write ``scale.md``.

    ``turns`` below LoCoMo's own count runs LoCoMo alone. ``cache`` is the turn
    embedding cache (None: none); ``embedder`` defaults to all-MiniLM-L6-v2. On Neo4j,
    ``namespace`` is deleted first, and after the run when ``cleanup``.
    """
    wall0 = time.perf_counter()
    console, neo4j_uri = opts.console, opts.neo4j_uri
    load_start = loadavg()
    check_stages(opts.stages)
    hay = load_haystack(Path(opts.data_dir), turns, opts.limit, seed)
    hay.n_turns = max(turns, hay.locomo_turns)
    console.print(
        f"scale: {len(hay.locomo)} LoCoMo conversations ({hay.locomo_turns} turns) + "
        f"{hay.distractor_turns} distractor turns = {hay.n_turns}; "
        f"{len(hay.questions)} questions (categories 1-4); store "
        f"{'neo4j ' + neo4j_uri if neo4j_uri else 'embedded'}",
        highlight=False,
    )
    cores = available_cores()
    embedder = embedder or load_minilm(cores)
    figures = measure(hay, embedder, cache, neo4j_uri, opts.stages, namespace, cleanup, console)
    run: dict[str, Any] = {
        "store": "neo4j" if neo4j_uri else "embedded",
        "turns": hay.n_turns,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {
            "data": str(opts.data_dir),
            "limit": opts.limit,
            "locomo_turns": hay.locomo_turns,
            "distractor_turns": hay.distractor_turns,
            "questions": len(hay.questions),
            "seed": seed,
            "pool_conversations": POOL_CONVERSATIONS,
            "stages": opts.stages,
            "preset": PRESET,
            "ask_k": ASK_K,
            "embedder": embedder.name,
            "neo4j_uri": neo4j_uri,
        },
        **figures,
        "machine": machine_info(cores, load_start),
        "versions": versions(),
        "wall_seconds": round(time.perf_counter() - wall0, 1),
    }
    out = Path(opts.out_dir)
    report = merge_runs(out / "scale.json", run)
    (out / "scale.md").write_text(render_markdown(report), "utf-8")
    console.print(f"wrote {out / 'scale.json'}, {out / 'scale.md'}", highlight=False)
    print_run(run, report, console)
    return run
