"""Neo4j store-write throughput: repeated passes, and what the server costs without our model.

``kg-memory bench writes DATA --neo4j URI`` answers "how fast does Neo4jStore write,
and where is the floor on this machine?" with numbers from one run:

* **store** -- every conversation is processed once, in memory (all stages, the
  :class:`~kg_memory.embed.HashEmbedder`: embedding is not what is measured, and its
  384-dim vectors cost the store what MiniLM's do), then written ``passes`` times
  through :class:`~kg_memory.store.neo4j.store.Neo4jStore`, one transaction per
  conversation, exactly as ingest writes it (``upsert_nodes`` + ``upsert_edges``).
  The namespace is deleted between passes, untimed. Pass 1 runs on a server whose
  JIT has not seen these queries; later passes show the warm rate.
* **two writers** -- the same, with the conversations split over two threads,
  each its own transaction per conversation (two ingests at once).
* **probe: structure only** / **probe: + properties** -- raw Cypher through the
  driver, on a scratch label ``KgmWriteProbe`` with one relationship type and only
  a uniqueness constraint: the same nodes and edges without properties, then with
  the same properties (vectors included) but no other index. These are floors:
  what Neo4j costs here for this many records before kg-memory's labels, indexes
  and checks. The scratch label, type and constraint are removed afterwards.

Rates are turns per second of transaction wall time (``begin`` to ``commit``).
Each row also gives the CPU seconds the Neo4j server process (JMX
``ProcessCpuTime`` through ``dbms.queryJmx``; a dash when the server does not
allow it) and this client spent in those sections: when the server's CPU time
is about its wall time, the write is bound by the server's one transaction
thread, and only fewer records make it faster.
The report goes to ``OUT/writes.json`` and ``OUT/writes.md``.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from kg_memory.bench.dataset import load_dataset
from kg_memory.bench.machine import available_cores
from kg_memory.bench.metrics import fmt, rate, rounded
from kg_memory.config import EmbeddedConfig, Neo4jConfig
from kg_memory.embed import HashEmbedder
from kg_memory.errors import ConfigError
from kg_memory.ingest.pipeline import IngestReport, Pipeline
from kg_memory.model import Edge, Node
from kg_memory.store import backend_class, open_store

#: The store-write rate issue #3 asks for (turns/s, embedding excluded).
TARGET_TURNS_PER_S = 2000
PROBE_LABEL = "KgmWriteProbe"
PROBE_CONSTRAINT = "kgm_write_probe_id"
NODE_BATCH = 1000
EDGE_BATCH = 10_000


@dataclass
class Prepared:
    """One conversation's memory, ready to write."""

    cid: str
    namespace: str
    turns: int
    nodes: list[Node]
    edges: list[Edge]


def prepare(data: Path, limit: int | None, progress: Progress) -> list[Prepared]:
    """Run every ingest stage on each conversation, in memory (nothing reaches Neo4j)."""
    ds = load_dataset(data, limit)
    task = progress.add_task("process", total=len(ds.conversations))
    out: list[Prepared] = []
    embedder = HashEmbedder()
    for conv in ds.conversations:
        with tempfile.TemporaryDirectory(prefix="kgm-writes-") as tmp:
            scratch = open_store(EmbeddedConfig(Path(tmp)))
            ns = f"bench-writes-{conv.conversation_id}"
            ctx = Pipeline(scratch, embedder, ns).process(conv, IngestReport())
            scratch.close()
        out.append(
            Prepared(
                conv.conversation_id,
                ns,
                len(ctx.turns),
                list(ctx.nodes.values()),
                list(ctx.edges.values()),
            )
        )
        progress.advance(task)
    return out


def _write_one(store: Any, c: Prepared) -> None:
    """One conversation's memory in one transaction, as ingest writes it."""
    with store.transaction():
        store.upsert_nodes(c.nodes)
        store.upsert_edges(c.edges)


@dataclass
class Meter:
    """Wall time and CPU time of the timed sections of one pass.

    ``server`` returns the Neo4j process's CPU seconds so far (``None`` when the
    server does not say); ``client`` is this process's CPU time.
    """

    server: Callable[[], float | None]
    wall: float = 0.0
    server_cpu: float | None = 0.0
    client_cpu: float = 0.0

    @contextmanager
    def timed(self) -> Iterator[None]:
        s0 = self.server()
        c0, t0 = time.process_time(), time.perf_counter()
        yield
        self.wall += time.perf_counter() - t0
        self.client_cpu += time.process_time() - c0
        s1 = self.server()
        if s0 is None or s1 is None or self.server_cpu is None:
            self.server_cpu = None
        else:
            self.server_cpu += s1 - s0


def server_cpu_seconds(driver: Any, database: str) -> float | None:
    """CPU seconds the Neo4j server process has used (JMX ``ProcessCpuTime``), or ``None``."""
    try:
        with driver.session(database=database) as s:
            rec = s.run(
                "CALL dbms.queryJmx('java.lang:type=OperatingSystem') YIELD attributes "
                "RETURN attributes.ProcessCpuTime.value AS ns"
            ).single()
    except Exception:  # the procedure may be missing or not allowed: no server CPU then
        return None
    ns = rec["ns"] if rec else None
    return ns / 1e9 if isinstance(ns, int | float) and ns >= 0 else None


def _store_pass(store: Any, convs: Sequence[Prepared], meter: Meter) -> None:
    """Write ``convs`` (one transaction each) after deleting their namespaces (untimed)."""
    for c in convs:
        store.delete_namespace(c.namespace)
        with meter.timed():
            _write_one(store, c)


def _two_writers(stores: Sequence[Any], convs: Sequence[Prepared], meter: Meter) -> None:
    """Two threads writing alternate conversations at once (timed: the wall time of both)."""
    for c in convs:
        stores[0].delete_namespace(c.namespace)
    halves = [convs[0::2], convs[1::2]]
    errors: list[BaseException] = []

    def run(store: Any, half: Sequence[Prepared]) -> None:
        try:
            for c in half:
                _write_one(store, c)
        except BaseException as exc:  # re-raised in the caller
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(s, h)) for s, h in zip(stores, halves, strict=True)
    ]
    with meter.timed():
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if errors:
        raise errors[0]


def _probe_rows(c: Prepared, with_props: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from kg_memory.store.neo4j.rows import edge_row, node_row

    nodes = [{"id": n.id, **(node_row(n)["props"] if with_props else {})} for n in c.nodes]
    edges = [
        {"src": e.src, "dst": e.dst, "props": edge_row(e)["props"] if with_props else {}}
        for e in c.edges
    ]
    return nodes, edges


#: Scratch writes of the probe (fixed label and type; rows are parameters).
PROBE_NODES = f"UNWIND $rows AS row CREATE (n:{PROBE_LABEL}) SET n = row"
PROBE_EDGES = (
    f"UNWIND $rows AS row MATCH (a:{PROBE_LABEL} {{id: row.src}}) "
    f"MATCH (b:{PROBE_LABEL} {{id: row.dst}}) CREATE (a)-[r:KGM_WRITE_PROBE]->(b) SET r = row.props"
)
PROBE_CLEAR = (
    f"MATCH (n:{PROBE_LABEL}) CALL (n) {{ DETACH DELETE n }} IN TRANSACTIONS OF 10000 ROWS"
)


def _probe_pass(
    driver: Any, database: str, convs: Sequence[Prepared], with_props: bool, meter: Meter
) -> None:
    from kg_memory.store.common import chunks

    for c in convs:
        nodes, edges = _probe_rows(c, with_props)
        with driver.session(database=database) as s:
            s.run(PROBE_CLEAR).consume()
            with meter.timed(), s.begin_transaction() as tx:
                for chunk in chunks(nodes, NODE_BATCH):
                    tx.run(PROBE_NODES, rows=chunk).consume()
                for chunk in chunks(edges, EDGE_BATCH):
                    tx.run(PROBE_EDGES, rows=chunk).consume()
                tx.commit()


def timed_row(
    system: str,
    pass_no: int,
    turns: int,
    server: Callable[[], float | None],
    fn: Callable[[Meter], None],
) -> dict[str, Any]:
    """Run one pass under a fresh :class:`Meter`; its report row."""
    meter = Meter(server)
    fn(meter)
    return {
        "system": system,
        "pass": pass_no,
        "seconds": round(meter.wall, 3),
        "turns_per_s": rounded(rate(turns, meter.wall)),
        "server_cpu_s": rounded(meter.server_cpu, 2),
        "client_cpu_s": round(meter.client_cpu, 2),
    }


@contextmanager
def probe_constraint(driver: Any, database: str) -> Iterator[None]:
    """The probe's uniqueness constraint while the probes run; their label and constraint
    removed afterwards."""
    with driver.session(database=database) as s:
        s.run(
            f"CREATE CONSTRAINT {PROBE_CONSTRAINT} IF NOT EXISTS "
            f"FOR (n:{PROBE_LABEL}) REQUIRE n.id IS UNIQUE"
        ).consume()
    try:
        yield
    finally:
        with driver.session(database=database) as s:
            s.run(PROBE_CLEAR).consume()
            s.run(f"DROP CONSTRAINT {PROBE_CONSTRAINT} IF EXISTS").consume()


def measure_writes(
    cfg: Neo4jConfig, convs: Sequence[Prepared], passes: int, progress: Progress
) -> list[dict[str, Any]]:
    """The rows of the report: ``passes`` store passes, two writers, then the probes."""
    from neo4j import GraphDatabase

    cls = backend_class("neo4j")
    turns = sum(c.turns for c in convs)
    rows: list[dict[str, Any]] = []
    store = cls(cfg)
    second = cls(cfg)
    driver = GraphDatabase.driver(cfg.uri, auth=(cfg.user, cfg.password))
    server = partial(server_cpu_seconds, driver, cfg.database)
    task = progress.add_task("write", total=passes + 1 + 2 * 2)

    def record(system: str, pass_no: int, fn: Callable[[Meter], None]) -> None:
        rows.append(timed_row(system, pass_no, turns, server, fn))
        progress.advance(task)

    try:
        for p in range(1, passes + 1):
            record("store", p, partial(_store_pass, store, convs))
        record("two writers", 1, partial(_two_writers, [store, second], convs))
        with probe_constraint(driver, cfg.database):
            for with_props, name in (
                (False, "probe: structure only"),
                (True, "probe: + properties"),
            ):
                for p in (1, 2):
                    record(name, p, partial(_probe_pass, driver, cfg.database, convs, with_props))
    finally:
        for c in convs:
            store.delete_namespace(c.namespace)
        driver.close()
        second.close()
        store.close()
    return rows


def write_report(convs: Sequence[Prepared], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The report of a run: sizes, the rows, the best store pass and its CPU bound."""
    turns = sum(c.turns for c in convs)
    best = max(
        (r for r in rows if r["system"] == "store" and r["turns_per_s"]),
        key=lambda r: r["turns_per_s"],
        default=None,
    )
    cores = available_cores()
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "conversations": len(convs),
        "turns": turns,
        "nodes": sum(len(c.nodes) for c in convs),
        "edges": sum(len(c.edges) for c in convs),
        "cores": cores,
        "rows": rows,
        "best_store_turns_per_s": best["turns_per_s"] if best else None,
        "cpu_bound_turns_per_s": cpu_bound(best, turns, cores),
        "target_turns_per_s": TARGET_TURNS_PER_S,
    }


def run_write_bench(
    data: Path,
    neo4j_uri: str,
    *,
    out_dir: Path = Path("results/writes"),
    passes: int = 6,
    limit: int | None = None,
    console: Console | None = None,
) -> dict[str, Any]:
    """Measure Neo4j store writes (see the module docstring); returns the report."""
    console = console or Console(stderr=True)
    cfg = Neo4jConfig.from_env(neo4j_uri)
    if cfg is None:  # pragma: no cover - a URI is given
        raise ConfigError("no Neo4j URI")
    with Progress(console=console, transient=True) as progress:
        convs = prepare(data, limit, progress)
        rows = measure_writes(cfg, convs, passes, progress)
    report = write_report(convs, rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "writes.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    (out_dir / "writes.md").write_text(render_markdown(report), "utf-8")
    console.print(render_markdown(report), markup=False, highlight=False)
    return report


def cpu_bound(row: dict[str, Any] | None, turns: int, cores: int) -> float | None:
    """The rate of ``row``'s pass if its CPU work (server + client) kept every core busy.

    No schedule of the same work on this machine beats it: a pass that needs more
    CPU seconds per turn than ``cores`` can give stays below it, however the
    statements are pipelined or split over writers.
    """
    if row is None or row.get("server_cpu_s") is None:
        return None
    cpu = row["server_cpu_s"] + row["client_cpu_s"]
    return rounded(rate(turns, cpu / max(cores, 1)))


def render_markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Neo4j store writes",
        "",
        f"{report['created']} · {report['conversations']} conversations, {report['turns']} turns, "
        f"{report['nodes']} nodes, {report['edges']} edges · {report['cores']} cores · "
        "one transaction per conversation, embedding excluded",
        "",
        "| system | pass | seconds | turns/s | server CPU s | client CPU s |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['system']} | {r['pass']} | {r['seconds']:.2f} | {fmt(r['turns_per_s'], 0)} "
        f"| {fmt(r.get('server_cpu_s'), 2)} | {fmt(r.get('client_cpu_s'), 2)} |"
        for r in report["rows"]
    ]
    lines += [
        "",
        f"**best store pass: {fmt(report['best_store_turns_per_s'], 0)} turns/s** "
        f"(target {fmt(report.get('target_turns_per_s'), 0)}; "
        f"{'met' if _met(report) else 'not met'})",
        "",
        f"CPU bound of that pass: {fmt(report.get('cpu_bound_turns_per_s'), 0)} turns/s "
        f"(its server + client CPU seconds spread over all {report['cores']} cores).",
        "",
        "Server CPU is the Neo4j process's CPU time (JMX `ProcessCpuTime`) over the timed "
        "sections, client CPU this process's (row building, packing); both cores count.",
        "",
    ]
    return "\n".join(lines)


def _met(report: dict[str, Any]) -> bool:
    best, target = report.get("best_store_turns_per_s"), report.get("target_turns_per_s")
    return best is not None and target is not None and best >= target


__all__ = ["cpu_bound", "run_write_bench"]
