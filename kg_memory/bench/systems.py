"""The systems under test: kg-memory on a store, and the flat baselines.

* **kg-memory** (:func:`run_memory`) -- each conversation ingested into a fresh
  store (or namespace) with the requested stages, then
  :meth:`kg_memory.Memory.ask`, the public code path, timed per question
  after one untimed warm-up question per store. Before the first
  conversation, an untimed look-alike of its first session is ingested and
  asked (:func:`warm_up`), so that a server's query planning and JIT
  compilation are not timed as the first conversation's.
* **BM25 / dense / RRF** (:func:`run_baselines`) -- flat rankings over the same
  turns, one document per turn (:mod:`kg_memory.bench.baselines`).

Each system's answers are kept as the first ``k`` distinct source turn ids per
question (:func:`kg_memory.bench.metrics.first_distinct`).
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import Progress, TaskID

from kg_memory.bench.baselines import FlatBM25, dense_rank, rrf_rank
from kg_memory.bench.dataset import BenchQuestion, Dataset, turn_documents, warm_up_sample
from kg_memory.bench.metrics import first_distinct, latency_summary
from kg_memory.bench.ranker import SYSTEM as RANKED
from kg_memory.config import EmbeddedConfig, Neo4jConfig
from kg_memory.embed import Embedder
from kg_memory.errors import ConfigError
from kg_memory.formats.model import RawConversation
from kg_memory.ingest.pipeline import IngestReport
from kg_memory.memory import Memory
from kg_memory.retrieval.request import SearchRequest
from kg_memory.store import backend_class

#: Systems in display order.
SYSTEMS: tuple[str, ...] = (RANKED, "kg-memory", "kg-memory@neo4j", "BM25", "dense", "RRF")
#: The preset of the "kg-memory" rows: the graph fusion. The learned ranker is scored
#: leave-one-conversation-out from the same run (:mod:`kg_memory.bench.ranker`).
PRESET = "graph"
#: Called after each conversation's questions with its memory (the ranker's collector).
OnConversation = Callable[[str, Memory, list[BenchQuestion]], None]
BASELINES: tuple[str, ...] = ("BM25", "dense", "RRF")
NAMESPACE = "bench"

#: Opens a store for one conversation: ``(store, namespace, cleanup)``.
StoreFactory = Callable[[str], tuple[Any, str, Callable[[], None]]]


@dataclass
class SystemRun:
    """One system's answers and timings."""

    name: str
    ranked: dict[tuple[str, int], tuple[str, ...]] = field(default_factory=dict)
    ask_seconds: list[float] = field(default_factory=list)
    ingest_seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    turns: int = 0
    nodes: int = 0
    edges: int = 0
    per_conversation: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def top(self, q: BenchQuestion) -> tuple[str, ...]:
        """The turn ids this system ranked for ``q``."""
        return self.ranked[(q.conversation, q.index)]

    def add_ingest(self, report: IngestReport) -> None:
        """Add one ingest's time, stage times and sizes to the totals."""
        self.ingest_seconds += report.seconds
        for st, sec in report.stage_seconds.items():
            self.stage_seconds[st] = self.stage_seconds.get(st, 0.0) + sec
        self.turns += report.turns
        self.nodes += report.nodes
        self.edges += report.edges


def bench_namespace(cid: str) -> str:
    """The namespace of one conversation in a bench run, the same on every store and run.

    Node ids derive from the namespace, and ties in every ranking break by id:
    the stores can only be compared id for id, and two runs reproduce each
    other, when the namespaces are equal.

    >>> bench_namespace("conv 26")
    'bench-conv_26'
    """
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{NAMESPACE}-{cid}")[:64]


def embedded_stores() -> StoreFactory:
    """A fresh embedded store in a temporary directory per conversation."""

    def open_store(cid: str) -> tuple[Any, str, Callable[[], None]]:
        tmp = tempfile.TemporaryDirectory(prefix=f"kgm-bench-{cid}-")
        store = backend_class("embedded")(EmbeddedConfig(Path(tmp.name) / "store"))

        def cleanup() -> None:
            store.close()
            tmp.cleanup()

        return store, bench_namespace(cid), cleanup

    return open_store


def neo4j_stores(uri: str) -> StoreFactory:
    """Stores on the server at ``uri``; a bench owns the ``bench-*`` namespaces there
    (a leftover of a killed run is deleted first; two benches on one server would clash)."""
    cfg = Neo4jConfig.from_env(uri)
    if cfg is None:  # pragma: no cover - uri is given
        raise ConfigError("no Neo4j URI")

    def open_store(cid: str) -> tuple[Any, str, Callable[[], None]]:
        store = backend_class("neo4j")(cfg)
        ns = bench_namespace(cid)
        store.delete_namespace(ns)

        def cleanup() -> None:
            try:
                store.delete_namespace(ns)
            finally:
                store.close()

        return store, ns, cleanup

    return open_store


def warm_up(
    conv: RawConversation, open_store: StoreFactory, embedder: Embedder, stages: str
) -> None:
    """Ingest and ask a small look-alike of ``conv`` (:func:`warm_up_sample`), untimed,
    in a store of its own: a server runs every query shape once (query planning, the
    JVM's JIT) before the timed runs, as a long-running server would have."""
    sample = warm_up_sample(conv)
    first = conv.sessions[0]
    store, namespace, cleanup = open_store(sample.conversation_id)
    try:
        mem = Memory(store, namespace=namespace, embedder=embedder)
        mem.ingest_conversations([sample], stages=stages, force=True)
        question = f"(warm-up) {first.turns[0].text}"
        mem.search(SearchRequest(question, 5, sample.conversation_id), preset=PRESET)
    finally:
        cleanup()


def ask_all(
    run: SystemRun, mem: Memory, qs: list[BenchQuestion], k: int, advance: Callable[[], None]
) -> list[float]:
    """Ask each question (after one untimed warm-up) and record its top ``k`` turns in
    ``run``; return the latencies."""
    if qs:
        mem.search(qs[0].request(k), preset=PRESET)  # warm-up
    lat: list[float] = []
    for q in qs:
        t0 = time.perf_counter()
        ans = mem.search(q.request(k), preset=PRESET)
        lat.append(time.perf_counter() - t0)
        run.ranked[(q.conversation, q.index)] = tuple(
            first_distinct((e.turn_ids for e in ans.evidence), k)
        )
        advance()
    return lat


def run_conversation(
    run: SystemRun,
    mem: Memory,
    conv: RawConversation,
    qs: list[BenchQuestion],
    stages: str,
    k: int,
    show: Callable[[str], None],
    advance: Callable[[], None],
) -> None:
    """Ingest one conversation into ``mem`` and ask its questions; add both to ``run``."""
    cid = conv.conversation_id
    show(f"{run.name} ingest {cid}")
    report = mem.ingest_conversations([conv], stages=stages, force=True)
    run.add_ingest(report)
    show(f"{run.name} ask {cid}")
    lat = ask_all(run, mem, qs, k, advance)
    run.ask_seconds.extend(lat)
    run.per_conversation.append(
        {
            "conversation": cid,
            "turns": report.turns,
            "questions": len(qs),
            "nodes": report.nodes,
            "edges": report.edges,
            "ingest_seconds": round(report.seconds, 3),
            "stage_seconds": {s: round(v, 3) for s, v in report.stage_seconds.items()},
            "ask": latency_summary(lat),
        }
    )


def run_memory(
    name: str,
    data: Dataset,
    open_store: StoreFactory,
    embedder: Embedder,
    stages: str,
    k: int,
    bar: Progress,
    on_conversation: OnConversation | None = None,
) -> SystemRun:
    """Ingest each conversation into a fresh store/namespace, then ask its questions;
    ``on_conversation`` then sees the memory (the learned ranker's feature collector)."""
    run = SystemRun(name)
    task = bar.add_task(name, total=data.n_questions)

    def show(description: str) -> None:
        bar.update(task, description=description)

    if data.conversations:
        show(f"{name} warm-up")
        warm_up(data.conversations[0], open_store, embedder, stages)
    for conv in data.conversations:
        store, namespace, cleanup = open_store(conv.conversation_id)
        try:
            mem = Memory(store, namespace=namespace, embedder=embedder)
            qs = data.questions[conv.conversation_id]
            run_conversation(run, mem, conv, qs, stages, k, show, lambda: bar.advance(task))
            if on_conversation is not None:
                show(f"{name} ranker {conv.conversation_id}")
                on_conversation(conv.conversation_id, mem, qs)
        finally:
            cleanup()
    show(name)
    return run


def run_baselines(
    data: Dataset,
    turn_vectors: dict[str, np.ndarray],
    question_vectors: dict[str, np.ndarray],
    k: int,
    bar: Progress,
) -> dict[str, SystemRun]:
    """BM25, dense and RRF over each conversation's turns (the vectors precomputed)."""
    runs = {n: SystemRun(n) for n in BASELINES}
    task: TaskID = bar.add_task("baselines", total=data.n_questions)
    for conv in data.conversations:
        cid = conv.conversation_id
        ids, docs, _ = turn_documents(conv)
        bm25 = FlatBM25(ids, docs)
        n_all = len(ids)
        for q, qv in zip(data.questions[cid], question_vectors[cid], strict=True):
            key = (cid, q.index)
            t0 = time.perf_counter()
            b = bm25.rank(q.question, n_all)
            t1 = time.perf_counter()
            d = dense_rank(ids, turn_vectors[cid], qv, n_all)
            t2 = time.perf_counter()
            f = rrf_rank({"bm25": b, "dense": d}, k)
            t3 = time.perf_counter()
            for name, ranked, sec in (
                ("BM25", b, t1 - t0),
                ("dense", d, t2 - t1),
                ("RRF", f, t3 - t0),
            ):
                runs[name].ranked[key] = tuple(ranked[:k])
                runs[name].ask_seconds.append(sec)
            bar.advance(task)
    return runs
