"""The trained ranker: a LightGBM LambdaMART model over :data:`~kg_memory.retrieval.rank.features.FEATURES`.

The committed model is ``model.txt`` next to this module (written by
``make train-ranker``, described by ``model_card.md``). :func:`load_ranker`
returns ``None`` when it is absent, and ``ask`` then falls back to the graph
fusion.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kg_memory.errors import ModelError
from kg_memory.retrieval.rank.features import FEATURES

#: The committed model file.
MODEL_FILE = Path(__file__).with_name("model.txt")


class Ranker:
    """Scores candidate rows; reads the columns its booster was trained on by name."""

    def __init__(self, booster: Any) -> None:
        self.booster = booster
        self.features: tuple[str, ...] = tuple(booster.feature_name())
        unknown = [f for f in self.features if f not in FEATURES]
        if unknown:
            raise ModelError(f"ranker model uses unknown features: {', '.join(unknown)}")
        self._cols = np.array([FEATURES.index(f) for f in self.features], dtype=np.int64)

    @classmethod
    def from_file(cls, path: Path) -> Ranker:
        import lightgbm as lgb

        try:
            return cls(lgb.Booster(model_file=str(path)))
        except lgb.basic.LightGBMError as exc:
            raise ModelError(f"{path}: not a LightGBM model ({exc})") from exc

    def _x(self, X: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(X[:, self._cols], dtype=np.float64)

    def score(self, X: np.ndarray) -> np.ndarray:
        """One score per row of a full :data:`FEATURES` matrix (higher is better)."""
        if len(X) == 0:
            return np.zeros(0)
        return np.asarray(self.booster.predict(self._x(X), num_threads=1), dtype=np.float64)

    def contributions(self, X: np.ndarray, top: int = 3) -> list[list[tuple[str, float]]]:
        """Per row, the ``top`` features with the largest absolute SHAP contribution."""
        if len(X) == 0:
            return []
        c = np.asarray(self.booster.predict(self._x(X), pred_contrib=True, num_threads=1))
        out = []
        for row in c[:, :-1]:  # the last column is the expected value
            order = np.argsort(-np.abs(row), kind="stable")[:top]
            out.append([(self.features[j], float(row[j])) for j in order])
        return out


def order(scores: np.ndarray, tiebreak: np.ndarray | Sequence[float]) -> np.ndarray:
    """Row indices best first: by score, ties by ``tiebreak`` ascending (e.g. the graph rank).

    >>> order(np.array([0.5, 0.9, 0.5]), [3, 1, 2]).tolist()
    [1, 2, 0]
    """
    tb = np.nan_to_num(np.asarray(tiebreak, dtype=np.float64), nan=1e9)
    return np.lexsort((tb, -scores))


@functools.lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> Ranker:
    return Ranker.from_file(Path(path))


def load_ranker(path: Path | None = None) -> Ranker | None:
    """The model at ``path`` (default :data:`MODEL_FILE`), loaded once; ``None`` if absent."""
    p = path or MODEL_FILE
    if not p.is_file():
        return None
    return _cached(str(p), p.stat().st_mtime)
