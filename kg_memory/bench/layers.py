"""Ablation of the graph preset's router layers on LoCoMo (``make bench-layers``).

``python -m kg_memory.bench.layers DATA [--k 20] [--out results/layers]`` ingests
each conversation once (embedded store, all-MiniLM-L6-v2, every stage) and asks
every question with gold evidence under several :class:`GraphConfig` variants
that differ only in their layers: without the MemGAS granularities, with session
summaries (at full and at half router weight, and capped to their best three
turns), with topics, with both. It prints, and writes to ``OUT/layers.md`` and
``OUT/layers.json``, turn-level recall@10 per category and R@1 / R@5 / R@20 over
categories 1-4. ``--k`` is what ``ask`` is called with (``make bench`` asks for
20 and scores the first 10 turns for R@10).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.progress import Progress

from kg_memory.bench.dataset import load_dataset
from kg_memory.bench.metrics import first_distinct, recall_at_k
from kg_memory.bench.systems import bench_namespace
from kg_memory.config import EmbeddedConfig
from kg_memory.embed import Embedder, MiniLMEmbedder
from kg_memory.memory import Memory
from kg_memory.retrieval.graph import GraphConfig, graph_search
from kg_memory.retrieval.request import SearchRequest
from kg_memory.store import open_store

FINE = ("Event", "Note", "Fact", "Hyperedge")


def variants() -> dict[str, GraphConfig]:
    """The configurations compared: the default's fine layers plus coarse ones."""
    base = dataclasses.replace(GraphConfig(), layers=FINE)
    summary = (*FINE, "Summary")
    return {
        "neither": base,
        "+ summaries": dataclasses.replace(base, layers=summary, coarse_weight=1.0),
        "+ summaries, weight 1/2": dataclasses.replace(base, layers=summary, coarse_weight=0.5),
        "+ summaries, best 3 turns": dataclasses.replace(
            base, layers=summary, coarse_weight=1.0, coarse_turns=3
        ),
        "+ topics": dataclasses.replace(base, layers=(*FINE, "Topic"), coarse_weight=1.0),
        "+ both": dataclasses.replace(base, layers=(*FINE, "Summary", "Topic"), coarse_weight=1.0),
    }


def run(
    data: Path,
    k: int,
    out: Path,
    limit: int | None = None,
    embedder: Embedder | None = None,
) -> dict[str, Any]:
    """Ingest once, ask under every variant, write the report (MiniLM unless ``embedder``)."""
    ds = load_dataset(data, limit)
    embedder = embedder or MiniLMEmbedder()
    configs = variants()
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="kgm-layers-") as tmp, Progress() as bar:
        mems: dict[str, Memory] = {}
        task = bar.add_task("ingest", total=len(ds.conversations))
        for conv in ds.conversations:
            cid = conv.conversation_id
            store = open_store(EmbeddedConfig(Path(tmp) / cid))
            mems[cid] = Memory(store, namespace=bench_namespace(cid), embedder=embedder)
            mems[cid].ingest_conversations([conv])
            bar.advance(task)
        for name, cfg in configs.items():
            task = bar.add_task(name, total=ds.n_questions)
            rec: dict[str, list[float]] = defaultdict(list)
            for cid, qs in ds.questions.items():
                m = mems[cid]
                for q in qs:
                    ans = graph_search(m.scope, SearchRequest(q.question, k, cid), cfg)
                    ranked = first_distinct((e.turn_ids for e in ans.evidence), max(k, 20))
                    rec[f"cat{q.category}"].append(recall_at_k(q.gold, ranked, 10))
                    if q.category in (1, 2, 3, 4):
                        for kk in (1, 5, 10, 20):
                            rec[f"R@{kk}"].append(recall_at_k(q.gold, ranked, kk))
                    bar.advance(task)
            rows[name] = {key: round(sum(v) / len(v), 3) for key, v in sorted(rec.items())}
        for m in mems.values():
            m.close()
    report = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "conversations": len(ds.conversations),
        "questions": ds.n_questions,
        "k": k,
        "rows": rows,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "layers.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    (out / "layers.md").write_text(render(report), "utf-8")
    print(render(report))
    return report


def render(report: dict[str, Any]) -> str:
    cols = ["cat1", "cat2", "cat3", "cat4", "cat5", "R@10", "R@1", "R@5", "R@20"]
    lines = [
        "# Router layers (LoCoMo, embedded store, all-MiniLM-L6-v2)",
        "",
        f"{report['created']} · {report['conversations']} conversations, "
        f"{report['questions']} questions · ask k={report['k']} · recall@10 per category; "
        "R@k over categories 1-4",
        "",
        "| layers | " + " | ".join(cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for name, r in report["rows"].items():
        lines.append(f"| {name} | " + " | ".join(f"{r.get(c, 0.0):.3f}" for c in cols) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("data", type=Path)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--out", type=Path, default=Path("results/layers"))
    args = ap.parse_args(argv)
    run(args.data, args.k, args.out, args.limit)


if __name__ == "__main__":
    main()
