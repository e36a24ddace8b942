"""The learned ranker in the LoCoMo bench: leave-one-conversation-out figures and ablations.

Given one candidate/feature matrix per conversation
(:class:`~kg_memory.bench.ranker_matrix.ConvMatrix`, built while the bench
has the conversation's store open), :func:`evaluate`

* ranks each conversation with a model trained on the *other* conversations
  (LOCO: no model ever sees the conversation it ranks);
* repeats that without a feature family (the layers, time, the category
  aggregation -- which also drops the candidates only the category generator
  found) to measure what each contributes;
* measures *pool recall*: the share of gold turns among the first N graph
  candidates and in the whole pool (the ceiling of any re-ranking).

``python -m kg_memory.bench.ranker [WORK]`` runs it on the training corpus's
cached matrices (``make train-ranker`` builds them) and prints the tables.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kg_memory.bench.metrics import fmt
from kg_memory.bench.ranker_matrix import ConvMatrix, Question, conversation_matrix
from kg_memory.bench.ranker_train import loco, ranked_turns, summary
from kg_memory.memory import Memory
from kg_memory.retrieval.rank.features import FEATURES, GROUPS
from kg_memory.retrieval.rank.model import load_ranker
from kg_memory.retrieval.request import SearchRequest

SYSTEM = "kg-memory ranked (LOCO)"
#: the latency row: the public ``ranked`` preset with the committed model loaded
LATENCY = "kg-memory ranked preset"
_CATS = ("multi-hop", "temporal", "open-domain", "single-hop", "cat1-4")
#: candidate generators besides the graph search: feature group -> its rank column
GENERATORS: dict[str, str] = {"aggregation": "rank_focus", "subject": "rank_subject"}
#: ablation name -> feature groups removed (a removed generator's group also drops the
#: candidates only that generator found)
ABLATIONS: dict[str, tuple[str, ...]] = {
    "without layers": ("layers",),
    "without time": ("time", "time_layer", "current"),
    "without time-layer distances": ("time_layer",),
    "without current-value": ("current",),
    "without category aggregation": ("aggregation",),
    "without subject aggregation": ("subject",),
    "without entity overlap": ("entity_overlap",),
    "without content-query features": ("content",),
    "without turn form": ("form",),
}
#: the ablation of the training objective: every question weighs alike
UNWEIGHTED = "without question weights"
POOL_NS: tuple[int, ...] = (10, 20, 50, 100, 150)


class Collector:
    """Called by the bench with each conversation's open memory: builds its matrix and
    times the ``ranked`` preset (``Memory.ask``, the committed model loaded) per question
    (only when the model file is installed: without it the preset is the graph fusion)."""

    def __init__(self, k: int = 20) -> None:
        self.k = k
        self.mats: list[ConvMatrix] = []
        self.seconds: list[float] = []

    def __call__(self, cid: str, mem: Memory, questions: Sequence[Any]) -> None:
        qs = [Question(q.index, q.question, q.category, q.gold) for q in questions]
        self.mats.append(conversation_matrix(mem.store, mem.embedder, mem.namespace, cid, qs))
        if load_ranker() is None:  # no committed model: the preset would be the graph fusion
            return
        for q in qs:
            t0 = time.perf_counter()
            mem.search(SearchRequest(q.text, self.k, cid), preset="ranked")
            self.seconds.append(time.perf_counter() - t0)


def restrict(m: ConvMatrix, keep: np.ndarray) -> ConvMatrix:
    """``m`` with only the rows where ``keep`` is true (groups recounted)."""
    off = m.offsets()
    group = np.array([int(keep[off[q] : off[q + 1]].sum()) for q in range(len(m.group))])
    return ConvMatrix(
        m.conversation,
        m.X[keep],
        m.y[keep],
        group.astype(np.int64),
        m.turn[keep],
        m.qindex,
        m.category,
        m.n_gold,
        m.features,
    )


def graph_only(m: ConvMatrix) -> ConvMatrix:
    """Only the graph search's candidates (not those the other generators added)."""
    return without_generators(m, tuple(GENERATORS))


def without_generators(m: ConvMatrix, groups: Sequence[str]) -> ConvMatrix:
    """``m`` without the candidates that only the generators of ``groups`` found."""
    keep = ~np.isnan(m.X[:, FEATURES.index("graph_rank")])
    for g, col in GENERATORS.items():
        if g not in groups:
            keep |= ~np.isnan(m.X[:, FEATURES.index(col)])
    return restrict(m, keep)


def pool_recall(mats: Sequence[ConvMatrix]) -> dict[str, dict[str, float]]:
    """Gold share among the first N graph candidates and in the whole pool, per group."""
    acc: dict[str, dict[str, list[float]]] = {}
    gi = FEATURES.index("graph_rank")
    for m in mats:
        off = m.offsets()
        for q in range(len(m.group)):
            s, e = off[q], off[q + 1]
            y, gr, n = m.y[s:e], m.X[s:e, gi], max(int(m.n_gold[q]), 1)
            cells = {f"graph@{k}": float(y[gr <= k].sum()) / n for k in POOL_NS}
            cells["pool"] = float(y.sum()) / n
            c = int(m.category[q])
            groups = (_CATS[c - 1], "cat1-4") if 1 <= c <= 4 else ()
            for g in groups:
                for name, v in cells.items():
                    acc.setdefault(g, {}).setdefault(name, []).append(v)
    return {g: {k: float(np.mean(v)) for k, v in cells.items()} for g, cells in acc.items()}


def evaluate(mats: Sequence[ConvMatrix], ablations: bool = True) -> dict[str, Any]:
    """LOCO metrics, ranked turns per question, ablations and pool recall."""
    ranked = loco(mats)
    out: dict[str, Any] = {
        "metrics": summary(mats, ranked),
        "ranked": {
            (m.conversation, int(qi)): r
            for m in mats
            for qi, r in zip(m.qindex, ranked[m.conversation], strict=True)
        },
        "pool_recall": pool_recall(mats),
        "ablations": {},
        "questions": int(sum(len(m.group) for m in mats)),
        "mean_pool": float(np.mean(np.concatenate([m.group for m in mats]))),
    }
    if ablations:
        for name, groups in ABLATIONS.items():
            feats = [f for f in FEATURES if not any(f in GROUPS[g] for g in groups)]
            sub = [without_generators(m, groups) for m in mats]
            out["ablations"][name] = summary(sub, loco(sub, feats))
        out["ablations"][UNWEIGHTED] = summary(mats, loco(mats, weighted=False))
    return out


def ablation_rows(res: dict[str, Any], graph: dict[str, Any] | None = None) -> list[list[str]]:
    rows = [["ranker, all features", *_cells(res["metrics"])]]
    if graph is not None:
        rows.append(["without the ranker (graph fusion)", *_cells(graph)])
    rows += [[name, *_cells(m)] for name, m in res["ablations"].items()]
    return rows


def _cells(m: dict[str, Any]) -> list[str]:
    return [fmt(m[g]["recall@10"]) for g in _CATS] + [fmt(m["cat1-4"]["recall@1"])]


def render_markdown(res: dict[str, Any], graph: dict[str, Any] | None = None) -> str:
    """Ablation and pool-recall tables (markdown)."""
    head = ["system", *(f"{g} R@10" for g in _CATS), "cat1-4 R@1"]
    lines = [
        "## Learned ranker: ablations (leave-one-conversation-out)",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(r) + " |" for r in ablation_rows(res, graph)),
        "",
        f"## Candidate pool recall (mean pool {res['mean_pool']:.0f} turns)",
        "",
    ]
    cols = [*(f"graph@{k}" for k in POOL_NS), "pool"]
    lines += ["| group | " + " | ".join(cols) + " |", "|" + "---|" * (len(cols) + 1)]
    for g in _CATS:
        pr = res["pool_recall"].get(g)
        if pr:
            lines.append(f"| {g} | " + " | ".join(fmt(pr[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    import argparse
    import json

    ap = argparse.ArgumentParser(prog="python -m kg_memory.bench.ranker")
    ap.add_argument("work", type=Path, nargs="?", default=Path("build/ranker"))
    ap.add_argument("--out", type=Path, help="also write ranker.md and ranker.json here")
    args = ap.parse_args(argv)
    from kg_memory.bench.ranker_corpus import feature_key

    found = sorted((args.work / "features").glob(f"*-{feature_key()}.npz"))
    mats = [ConvMatrix.load(p) for p in found]
    if len(mats) < 2:
        print(f"no current feature matrices under {args.work}/features (make train-ranker)")
        return 1
    res = evaluate(mats)
    graph = graph_rows(mats)
    text = render_markdown(res, graph)
    convs = sorted({m.conversation for m in mats})
    print(f"{len(convs)} conversations with current feature matrices: {', '.join(convs)}")
    print(_loco_line(res["metrics"]))
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "ranker.md").write_text(_loco_line(res["metrics"]) + "\n\n" + text, "utf-8")
        res.pop("ranked")
        (args.out / "ranker.json").write_text(json.dumps({**res, "graph": graph}, indent=2) + "\n")
    return 0


def graph_rows(mats: Sequence[ConvMatrix]) -> dict[str, Any]:
    """Metrics of the graph search's own order of the same pools (no ranker)."""
    gi = FEATURES.index("graph_rank")
    return summary(
        [graph_only(m) for m in mats],
        {
            m.conversation: ranked_turns(m, -np.nan_to_num(m.X[:, gi], nan=1e9))
            for m in (graph_only(m) for m in mats)
        },
    )


def _loco_line(m: dict[str, Any]) -> str:
    return (
        "LOCO R@10: "
        + ", ".join(f"{g} {fmt(m[g]['recall@10'])}" for g in _CATS)
        + (f"; cat1-4 R@1 {fmt(m['cat1-4']['recall@1'])}")
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
