"""Where the embedded store's exact vector search passes 50 ms: its top-k step timed by size.

The embedded store keeps a scope's vectors as one float32 matrix in memory and
ranks exactly (:func:`kg_memory.store.embedded.search.top_k`). This times that
very function on random unit vectors of the embedder's dimension at growing
sizes (the matrix load from SQLite, once per write, is not included), so the
size where one search costs 50 ms can be read off; a question runs one such
search per searched label.

Run: ``python -m kg_memory.bench.scale.vectors --out results/scale/vectors.json``
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kg_memory.bench.machine import loadavg
from kg_memory.embed import DIM
from kg_memory.store.embedded.search import _Matrix, top_k

SIZES = (10_000, 30_000, 100_000, 300_000, 1_000_000)
#: One search over this many ms is where the issue wants an approximate index.
BUDGET_MS = 50.0


def time_search(n: int, repeats: int, k: int = 20, seed: int = 18) -> dict[str, Any]:
    """Median and 95th percentile ms of one exact top-``k`` search over ``n`` vectors."""
    rng = np.random.default_rng(seed)
    mat = rng.standard_normal((n, DIM), dtype=np.float32)
    mat /= np.linalg.norm(mat, axis=1, keepdims=True)
    m = _Matrix(0, 0, [f"n{i}" for i in range(n)], mat)
    seconds = []
    for _ in range(repeats + 1):
        q = rng.standard_normal(DIM)
        t0 = time.perf_counter()
        top_k(m, q, k)
        seconds.append(time.perf_counter() - t0)
    ms = np.asarray(seconds[1:]) * 1000.0  # the first is a warm-up
    return {
        "vectors": n,
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "matrix_mb": round(mat.nbytes / 2**20, 1),
    }


def crossover(rows: Sequence[dict[str, Any]]) -> float | None:
    """Vectors at which the median search reaches :data:`BUDGET_MS` (log-log interpolated)."""
    for a, b in itertools.pairwise(rows):
        if a["p50_ms"] < BUDGET_MS <= b["p50_ms"]:
            la, lb = np.log(a["p50_ms"]), np.log(b["p50_ms"])
            f = (np.log(BUDGET_MS) - la) / (lb - la)
            return float(np.exp(np.log(a["vectors"]) + f * np.log(b["vectors"] / a["vectors"])))
    return None


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("results/scale/vectors.json"))
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args(argv)
    load = loadavg()
    rows = []
    for n in SIZES:
        rows.append(time_search(n, args.repeats))
        print(json.dumps(rows[-1]), flush=True)
    report = {
        "what": "exact top-20 of kg_memory.store.embedded.search.top_k, matrix in memory",
        "dim": DIM,
        "budget_ms": BUDGET_MS,
        "rows": rows,
        "crossover_vectors": crossover(rows),
        "loadavg_start": load,
        "loadavg_end": loadavg(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    cross = crossover(rows)
    shown = "beyond the sizes timed" if cross is None else f"{round(cross, -3):,.0f}"
    print(f"50 ms at about {shown} vectors; wrote {args.out}")


if __name__ == "__main__":
    main()
