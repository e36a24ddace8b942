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

Then one more conversation is ingested under cProfile (and forgotten): its stage times
and the functions whose cost grows with what is stored.

Run: ``python -m kg_memory.bench.scale.profile --neo4j bolt://... --out results/scale``
"""

from __future__ import annotations

import argparse
import json
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


def ingest_one(store: Any, namespace: str, cache: Path) -> dict[str, Any]:
    """Ingest one more distractor (the pool's last conversation) under cProfile, then
    forget it: its stage seconds, and the cumulative seconds of the functions whose cost
    grows with what is stored (:data:`GROWING`)."""
    import cProfile
    import pstats

    from kg_memory.bench.scale.generator import POOL_CONVERSATIONS, distractor
    from kg_memory.bench.scale.haystack import TextCache

    conv = distractor(POOL_CONVERSATIONS - 1)
    emb = TextCache(MiniLMEmbedder(), cache)
    emb.allow(conv)
    emb.embed(["(warm-up)"])  # the model loads outside the profile
    mem = Memory(store, namespace=namespace, embedder=emb)
    prof = cProfile.Profile()
    prof.enable()
    report = mem.ingest_conversations([conv], stages="all")
    prof.disable()
    mem.delete_conversation(conv.conversation_id)
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    growing = {
        f"{Path(file).name}:{name}": round(cum, 3)
        for (file, _, name), (_, _, _, cum, _) in stats.items()
        if name in GROWING
    }
    return {
        "conversation": conv.conversation_id,
        "turns": report.turns,
        "seconds": round(report.seconds, 3),
        "stage_seconds": {k: round(v, 3) for k, v in report.stage_seconds.items()},
        "growing_functions_seconds": growing,
    }


#: Ingest functions that read what is stored (by index lookups and graph walks: their cost
#: should follow the conversation's neighbourhood, not the memory's size).
GROWING = (
    "load_candidates",
    "_by_embedding",
    "_sharing_notes",
    "_memory_links",
    "_turn_vectors",
    "refresh_shared",
)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--neo4j", required=True)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/locomo"))
    ap.add_argument("--namespace", default=NAMESPACE)
    ap.add_argument("--questions", type=int, default=20)
    ap.add_argument("--out", type=Path, default=Path("results/scale"))
    ap.add_argument("--cache", type=Path, default=Path("build/scale-cache/turns.npz"))
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
    one = ingest_one(store, args.namespace, args.cache)
    store.close()
    rows.sort(key=lambda r: -r["db_hits"] * r["calls"])
    report = {
        "namespace": args.namespace,
        "questions": len(questions),
        "preset": PRESET,
        "statements": len(rows),
        "statements_with_scans": sum(1 for r in rows if r["scans"]),
        "ingest_one_more": one,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "profile.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    for r in rows:
        flag = " SCAN " + ",".join(r["scans"]) if r["scans"] else ""
        print(f"{r['calls']:4d} x {r['db_hits']:>9,} db hits{flag}: {r['query'][:110]}")
    print(f"one more conversation ingested: {one}")
    print(f"{report['statements_with_scans']} of {len(rows)} statements scan; wrote profile.json")


if __name__ == "__main__":
    main()
