"""PROFILE of the Cypher an ask sends to Neo4j: db hits per statement, and any label scan.

Asks ``--questions`` LoCoMo questions (no conversation filter) on a stored
namespace (a ``kg-memory bench scale --neo4j`` run leaves its ``scale``
namespace in place) while recording every statement the store runs (the
driver's ``run``, wrapped for the duration: the statements still go to the
server). Each distinct statement is then run once more as ``PROFILE`` with the
parameters of its first call, in a read transaction, and its plan is walked
for the operators that read a whole label or index (:data:`SCANS`): on the hot
path there should be none, each statement should start from an index seek
(id, namespace + label, full-text or vector index).

Run: ``python -m kg_memory.bench.scale.profile --neo4j bolt://... --out results/scale``
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from neo4j import READ_ACCESS
from neo4j._sync.work.transaction import TransactionBase

from kg_memory.bench.scale.haystack import load_haystack
from kg_memory.bench.scale.run import ASK_K, NAMESPACE, PRESET
from kg_memory.config import Neo4jConfig
from kg_memory.embed import MiniLMEmbedder
from kg_memory.memory import Memory
from kg_memory.retrieval.request import SearchRequest
from kg_memory.store import backend_class

#: Plan operators that read every node of a label, or a whole index.
SCANS = (
    "AllNodesScan",
    "NodeByLabelScan",
    "NodeIndexScan",
    "DirectedRelationshipTypeScan",
    "UndirectedRelationshipTypeScan",
)


@contextmanager
def recording() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every ``(query, parameters)`` the driver runs inside the block."""
    calls: list[tuple[str, dict[str, Any]]] = []
    plain = TransactionBase.run

    def run(self: Any, query: Any, parameters: Any = None, **kwargs: Any) -> Any:
        calls.append((str(query), {**(parameters or {}), **kwargs}))
        return plain(self, query, parameters, **kwargs)

    TransactionBase.run = run  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        TransactionBase.run = plain  # type: ignore[method-assign]


def walk(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every operator of a profiled plan, depth first."""
    yield plan
    for child in plan.get("children", []):
        yield from walk(child)


def profile(session: Any, query: str, params: dict[str, Any]) -> dict[str, Any]:
    """Db hits, rows and scan operators of one ``PROFILE`` run of ``query``."""
    summary = session.execute_read(lambda tx: tx.run("PROFILE " + query, params).consume())
    ops = list(walk(summary.profile or {}))
    names = [str(o.get("operatorType", "")).split("@")[0] for o in ops]
    return {
        "db_hits": sum(int(o.get("dbHits", 0)) for o in ops),
        "operators": names,
        "scans": [n for n in names if n.startswith(SCANS)],
    }


def ingest_reads(store: Any, namespace: str) -> dict[str, Any]:
    """The reads of the whole namespace that ingesting one more conversation makes, timed:
    every Entity (``ingest/entities/steps.py`` ``_load_existing``: the shared ones to
    resolve against) and every Note with its source turn's vector (``ingest/notes.py``
    ``_memory_links``: LINKS_TO across conversations). Their cost grows with the memory,
    so a whole ingest of N turns costs O(N^2) in them."""
    from kg_memory.ingest.notes import _source_vectors

    t0 = time.perf_counter()
    entities = store.find_nodes(namespace, "Entity")
    t1 = time.perf_counter()
    notes = [n for n in store.find_nodes(namespace, "Note") if n.props.get("entities")]
    vectors = _source_vectors(store, namespace, [n.id for n in notes])
    t2 = time.perf_counter()
    return {
        "entities": len(entities),
        "entities_seconds": round(t1 - t0, 3),
        "notes_with_entities": len(notes),
        "note_vectors": len(vectors),
        "notes_seconds": round(t2 - t1, 3),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--neo4j", required=True)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/locomo"))
    ap.add_argument("--namespace", default=NAMESPACE)
    ap.add_argument("--questions", type=int, default=20)
    ap.add_argument("--out", type=Path, default=Path("results/scale"))
    args = ap.parse_args(argv)
    cfg = Neo4jConfig.from_env(args.neo4j)
    assert cfg is not None
    store = backend_class("neo4j")(cfg)
    hay = load_haystack(args.data, 0, None, 0)
    step = max(len(hay.questions) // args.questions, 1)
    questions = hay.questions[::step][: args.questions]
    mem = Memory(store, namespace=args.namespace, embedder=MiniLMEmbedder())
    mem.search(SearchRequest(questions[0].question, ASK_K, None), preset=PRESET)  # warm-up
    with recording() as calls:
        for q in questions:
            mem.search(SearchRequest(q.question, ASK_K, None), preset=PRESET)
    first: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    for query, params in calls:
        first.setdefault(query, params)
        counts[query] = counts.get(query, 0) + 1
    rows = []
    db = store._db  # type: ignore[attr-defined]  # the store's own connection, measured
    with db.session(READ_ACCESS) as s:
        for query, params in first.items():
            rows.append({"query": query, "calls": counts[query], **profile(s, query, params)})
    reads = ingest_reads(store, args.namespace)
    store.close()
    rows.sort(key=lambda r: -r["db_hits"] * r["calls"])
    report = {
        "namespace": args.namespace,
        "questions": len(questions),
        "preset": PRESET,
        "statements": len(rows),
        "statements_with_scans": sum(1 for r in rows if r["scans"]),
        "ingest_reads": reads,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "profile.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    for r in rows:
        flag = " SCAN " + ",".join(r["scans"]) if r["scans"] else ""
        print(f"{r['calls']:4d} x {r['db_hits']:>9,} db hits{flag}: {r['query'][:110]}")
    print(f"whole-namespace reads of one more ingest: {reads}")
    print(f"{report['statements_with_scans']} of {len(rows)} statements scan; wrote profile.json")


if __name__ == "__main__":
    main()
