"""Turn-level evidence metrics: recall@k and hit@k per LoCoMo category, and latency summaries.

A retriever's result is cut to a *budget of k distinct source turns*: its
ranked items are flattened into their turn ids in rank order, duplicates are
dropped, and the first ``k`` ids are kept (:func:`first_distinct`). An item
resting on several turns therefore spends several slots of the budget, so a
system returning composite evidence gets no more turns than a flat one.

* ``recall@k`` = ``|gold ∩ top-k| / |gold|``, averaged over questions;
* ``hit@k`` = share of questions with at least one gold turn in the top ``k``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: The cut-offs reported.
KS: tuple[int, ...] = (1, 5, 10, 20)

#: LoCoMo ``category`` -> name.
CATEGORIES: dict[int, str] = {
    1: "multi-hop",
    2: "temporal",
    3: "open-domain",
    4: "single-hop",
    5: "adversarial",
}
#: Every group reported, in display order.
GROUPS: tuple[str, ...] = (*CATEGORIES.values(), "cat1-4", "all")


def first_distinct(turn_id_lists: Iterable[Iterable[str]], k: int) -> list[str]:
    """The first ``k`` distinct turn ids of ranked items, flattened in rank order.

    >>> first_distinct([["D1:2", "D1:3"], ["D1:3"], ["D2:1"], ["D4:4"]], 3)
    ['D1:2', 'D1:3', 'D2:1']
    """
    out: dict[str, None] = {}
    if k <= 0:
        return []
    for ids in turn_id_lists:
        for tid in ids:
            if tid not in out:
                out[tid] = None
                if len(out) == k:
                    return list(out)
    return list(out)


def recall_at_k(gold: Iterable[str], ranked: Sequence[str], k: int) -> float:
    """Share of the gold turns found in the first ``k`` of ``ranked`` (distinct turn ids).

    >>> recall_at_k({"a", "b"}, ["x", "a", "y"], 2)
    0.5
    """
    g = set(gold)
    if not g:
        raise ValueError("recall needs at least one gold turn")
    return len(g.intersection(ranked[:k])) / len(g)


def hit_at_k(gold: Iterable[str], ranked: Sequence[str], k: int) -> float:
    """1.0 if any gold turn is in the first ``k`` of ``ranked``, else 0.0.

    >>> hit_at_k({"a", "b"}, ["x", "a", "y"], 1), hit_at_k({"a", "b"}, ["x", "a", "y"], 2)
    (0.0, 1.0)
    """
    return 1.0 if set(gold).intersection(ranked[:k]) else 0.0


def groups_of(category: int) -> list[str]:
    """The groups a question of this category counts in.

    >>> groups_of(2), groups_of(5)
    (['temporal', 'cat1-4', 'all'], ['adversarial', 'all'])
    """
    out = [CATEGORIES.get(category, f"cat{category}")]
    if 1 <= category <= 4:
        out.append("cat1-4")
    out.append("all")
    return out


@dataclass(frozen=True, slots=True)
class Scored:
    """One question's gold turns and a system's ranked distinct turn ids."""

    category: int
    gold: frozenset[str]
    ranked: tuple[str, ...]


def summarize(
    results: Iterable[Scored], ks: Sequence[int] = KS
) -> dict[str, dict[str, float | int | None]]:
    """Per group: ``n`` questions and mean ``recall@k`` / ``hit@k`` for each ``k``.

    Every group of :data:`GROUPS` is present; an empty group has ``None`` metrics.

    >>> rs = [Scored(1, frozenset({"a", "b"}), ("a", "x")), Scored(5, frozenset({"c"}), ("x", "c"))]
    >>> s = summarize(rs, ks=(1, 2))
    >>> s["multi-hop"]["recall@2"], s["all"]["hit@1"], s["all"]["hit@2"], s["temporal"]["recall@1"]
    (0.5, 0.5, 1.0, None)
    """
    sums: dict[str, dict[str, float]] = {}
    counts: dict[str, int] = {}
    for r in results:
        for g in groups_of(r.category):
            acc = sums.setdefault(g, {})
            counts[g] = counts.get(g, 0) + 1
            for k in ks:
                acc[f"recall@{k}"] = acc.get(f"recall@{k}", 0.0) + recall_at_k(r.gold, r.ranked, k)
                acc[f"hit@{k}"] = acc.get(f"hit@{k}", 0.0) + hit_at_k(r.gold, r.ranked, k)
    out: dict[str, dict[str, float | int | None]] = {}
    for g in [*GROUPS, *sorted(set(counts) - set(GROUPS))]:
        n = counts.get(g, 0)
        row: dict[str, float | int | None] = {"n": n}
        for k in ks:
            for m in ("recall", "hit"):
                key = f"{m}@{k}"
                row[key] = sums[g][key] / n if n else None
        out[g] = row
    return out


def latency_summary(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """``n``, median, 95th percentile, mean and maximum of latencies, in milliseconds.

    >>> latency_summary([0.010, 0.020, 0.030])["p50_ms"]
    20.0
    """
    if not seconds:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "mean_ms": None, "max_ms": None}
    a = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {
        "n": len(seconds),
        "p50_ms": round(float(np.percentile(a, 50)), 2),
        "p95_ms": round(float(np.percentile(a, 95)), 2),
        "mean_ms": round(float(a.mean()), 2),
        "max_ms": round(float(a.max()), 2),
    }


def rate(n: int, seconds: float) -> float | None:
    """Units per second, ``None`` when no time was measured.

    >>> rate(120, 2.0), rate(5, 0.0)
    (60.0, None)
    """
    return n / seconds if seconds > 0 else None


def rounded(x: float | None, nd: int = 1) -> float | None:
    """``x`` rounded to ``nd`` decimals for a report (``None`` stays ``None``).

    >>> rounded(2.345, 2), rounded(None)
    (2.35, None)
    """
    return None if x is None else round(x, nd)


def fmt(x: float | None, nd: int = 3) -> str:
    """``x`` with ``nd`` decimals for a table, a dash for a missing value.

    >>> fmt(0.31249), fmt(None), fmt(40.27, 1)
    ('0.312', '–', '40.3')
    """
    return "–" if x is None else f"{x:.{nd}f}"


def harmonic_bound(rates: Mapping[str, float | None]) -> float | None:
    """Throughput of doing every step in sequence: ``1 / sum(1 / rate)``.

    >>> round(harmonic_bound({"embed": 120.0, "spacy": 200.0}), 1)
    75.0
    """
    vals = list(rates.values())
    if not vals or any(v is None or v <= 0 for v in vals):
        return None
    return 1.0 / sum(1.0 / v for v in vals if v)


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, ``None`` when either is missing or ``b`` is zero.

    >>> ratio(3.0, 4.0), ratio(None, 4.0), ratio(3.0, 0.0)
    (0.75, None, None)
    """
    return a / b if a is not None and b else None
