"""Candidate/feature matrices of whole conversations: what the ranker trains and is scored on.

One :class:`ConvMatrix` per conversation: every question's pool
(:func:`~kg_memory.retrieval.rank.candidates.gather`) featurised
(:func:`~kg_memory.retrieval.rank.features.featurize`) and stacked, with the
label (gold turn = 1), the query groups, and what scoring needs. Built once
per conversation, saved as ``.npz`` under a cache directory, then reused by
every leave-one-conversation-out fold and ablation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from kg_memory.embed import Embedder
from kg_memory.retrieval.rank.candidates import gather
from kg_memory.retrieval.rank.features import FEATURES, featurize
from kg_memory.retrieval.rank.question import analyse
from kg_memory.store.base import Store


@dataclass(frozen=True, slots=True)
class Question:
    """A question with gold evidence (source turn ids such as ``D3:12``)."""

    index: int
    text: str
    category: int
    gold: frozenset[str]


@dataclass
class ConvMatrix:
    """Stacked candidate rows of one conversation's questions."""

    conversation: str
    X: np.ndarray  # (rows, features) float32
    y: np.ndarray  # (rows,) 1 = gold turn
    group: np.ndarray  # (questions,) rows per question, in order
    turn: np.ndarray  # (rows,) source turn id of the candidate
    qindex: np.ndarray  # (questions,) qa index
    category: np.ndarray  # (questions,)
    n_gold: np.ndarray  # (questions,) gold turns (also those outside the pool)
    features: tuple[str, ...] = FEATURES

    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.group)]).astype(np.int64)

    def save(self, path: Path) -> None:
        """Every field as one array of a compressed ``.npz`` (read back by :meth:`load`)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {f.name: np.asarray(getattr(self, f.name)) for f in fields(self)}
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: Path) -> ConvMatrix:
        z = np.load(path, allow_pickle=False)
        return cls(
            str(z["conversation"]),
            z["X"],
            z["y"],
            z["group"],
            z["turn"],
            z["qindex"],
            z["category"],
            z["n_gold"],
            tuple(str(f) for f in z["features"]),
        )


def conversation_matrix(
    store: Store,
    embedder: Embedder,
    namespace: str,
    conversation: str,
    questions: Sequence[Question],
) -> ConvMatrix:
    """Pools and features of every question of one ingested conversation."""
    xs, ys, turns, group = [], [], [], []
    for q in questions:
        pool = gather(store, embedder, namespace, analyse(q.text), conversation=conversation)
        X = featurize(pool)
        tids = [str((pool.nodes[i].props.get("turn_ids") or [""])[0]) for i in pool.ids]
        xs.append(X)
        ys.append(np.array([1.0 if t in q.gold else 0.0 for t in tids], dtype=np.float32))
        turns.extend(tids)
        group.append(len(tids))
    return ConvMatrix(
        conversation,
        np.vstack(xs) if xs else np.zeros((0, len(FEATURES)), np.float32),
        np.concatenate(ys) if ys else np.zeros(0, np.float32),
        np.array(group, dtype=np.int64),
        np.array(turns, dtype=np.str_),
        np.array([q.index for q in questions], dtype=np.int64),
        np.array([q.category for q in questions], dtype=np.int64),
        np.array([len(q.gold) for q in questions], dtype=np.int64),
    )
