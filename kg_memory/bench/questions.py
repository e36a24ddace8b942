"""Reading ``locomo-questions.jsonl``, the bench's per-question output, back for analysis.

Each line holds a question's category, gold turns and every system's top 20
distinct turn ids (:func:`kg_memory.bench.render.question_lines`). From them:
recall per category for every system (the same figures as ``locomo.json``:
:func:`kg_memory.bench.metrics.summarize`), and the gold turns a system
missed, with the rank at which they sit.

>>> rows = [{"conversation": "c", "qa_index": 0, "category": 1, "question": "q?",
...          "gold": ["D1:1", "D1:2"], "top": {"s": ["D1:1", "D2:2", "D1:2"]}}]
>>> recall_by_category(rows, ks=(2,))["s"]["multi-hop"]["recall@2"]
0.5
>>> [(m.turn, m.rank) for m in misses(rows, "s", k=2)]
[('D1:2', 3)]
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg_memory.bench.metrics import CATEGORIES, KS, Scored, summarize
from kg_memory.errors import InputError


def load_questions(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ``locomo-questions.jsonl`` file (bad lines name the file and line)."""
    rows = []
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            try:
                row = json.loads(line)
                missing = {"category", "gold", "top"} - set(row)
            except (json.JSONDecodeError, TypeError) as exc:  # TypeError: not an object
                raise InputError(f"{path}:{n}: not a per-question record ({exc})") from exc
            if missing:
                raise InputError(f"{path}:{n}: not a per-question record (no {sorted(missing)})")
            rows.append(row)
    return rows


def systems(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every system with a ranking in ``rows``, in first-seen order."""
    return list(dict.fromkeys(s for r in rows for s in r["top"]))


def recall_by_category(
    rows: Sequence[Mapping[str, Any]], ks: Sequence[int] = KS
) -> dict[str, dict[str, dict[str, float | int | None]]]:
    """Per system, per group: ``n`` and mean ``recall@k`` / ``hit@k`` (questions with gold)."""
    return {
        name: summarize(
            (
                Scored(r["category"], frozenset(r["gold"]), tuple(r["top"][name]))
                for r in rows
                if r["gold"] and name in r["top"]
            ),
            ks,
        )
        for name in systems(rows)
    }


@dataclass(frozen=True, slots=True)
class Miss:
    """A gold turn a system left out of its top ``k``."""

    conversation: str
    qa_index: int
    category: str
    question: str
    turn: str
    rank: int | None  # its 1-based rank in the system's top 20; None: not in it


def misses(rows: Iterable[Mapping[str, Any]], system: str, k: int = 10) -> list[Miss]:
    """Every gold turn ``system`` did not rank in its top ``k``, with the rank it had."""
    out = []
    for r in rows:
        top = list(r["top"].get(system, []))
        for turn in sorted(set(r["gold"]) - set(top[:k])):
            rank = top.index(turn) + 1 if turn in top else None
            cat = CATEGORIES.get(r["category"], f"cat{r['category']}")
            out.append(Miss(r["conversation"], r["qa_index"], cat, r["question"], turn, rank))
    return out
