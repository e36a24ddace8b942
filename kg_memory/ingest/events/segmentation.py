"""Step 1 of the ``events`` stage: sessions split into topical segments (TextTiling)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import numpy as np

#: Turns on each side of a gap whose mean embeddings are compared.
WINDOW = 2
#: Shortest and longest event (turns); shorter sessions are one event.
MIN_LEN = 3
MAX_LEN = 12
#: Smallest depth score that can make a boundary, and the bonus of a cue phrase.
MIN_DEPTH = 0.08
CUE_BONUS = 0.2

#: Topic-shift cues at the start of a turn.
TOPIC_SHIFT = re.compile(
    r"^\W*(?:by the way|btw|anyway|anyhow|anyways|speaking of|on another note|on a different note|"
    r"changing the subject|oh,? (?:and|also)|so,? (?:what|how) about|what about|how about|"
    r"also,|oh,? by the way|guess what|i wanted to (?:tell|ask|share)|you know what)\b",
    re.IGNORECASE,
)


def gap_similarities(emb: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Cosine similarity across each gap between consecutive rows of ``emb``.

    Gap ``g`` lies between rows ``g`` and ``g + 1``; it compares the mean of
    up to ``window`` rows ending at ``g`` with the mean of up to ``window``
    rows starting at ``g + 1``.

    >>> e = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=np.float32)
    >>> gap_similarities(e).round(2).tolist()
    [0.71, 0.0, 0.71]
    """
    m = len(emb)
    if m < 2:
        return np.zeros(0, dtype=np.float64)
    csum = np.vstack([np.zeros((1, emb.shape[1])), np.cumsum(emb, axis=0, dtype=np.float64)])
    g = np.arange(m - 1)
    left = csum[g + 1] - csum[np.maximum(0, g + 1 - window)]
    right = csum[np.minimum(m, g + 1 + window)] - csum[g + 1]
    num = np.einsum("ij,ij->i", left, right)
    den = np.linalg.norm(left, axis=1) * np.linalg.norm(right, axis=1)
    return np.where(den > 0, num / np.maximum(den, 1e-12), 0.0)


def depth_scores(sims: np.ndarray) -> np.ndarray:
    """TextTiling depth: climb to the nearest peak on each side of every gap.

    >>> depth_scores(np.array([0.9, 0.5, 0.8, 0.7])).round(2).tolist()
    [0.0, 0.7, 0.0, 0.1]
    """
    s = sims.tolist()
    out = np.zeros(len(s), dtype=np.float64)
    for g, v in enumerate(s):
        lp = v
        k = g - 1
        while k >= 0 and s[k] >= lp:
            lp = s[k]
            k -= 1
        rp = v
        k = g + 1
        while k < len(s) and s[k] >= rp:
            rp = s[k]
            k += 1
        out[g] = (lp - v) + (rp - v)
    return out


def segment(
    emb: np.ndarray,
    cues: Sequence[bool] | None = None,
    *,
    window: int = WINDOW,
    min_len: int = MIN_LEN,
    max_len: int = MAX_LEN,
    min_depth: float = MIN_DEPTH,
    cue_bonus: float = CUE_BONUS,
) -> list[tuple[int, int]]:
    """Split ``len(emb)`` consecutive turns into ``[start, end)`` segments.

    ``cues[i]`` says that turn ``i`` opens with a topic-shift cue.

    >>> a, b = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
    >>> segment(np.array([a, a, a, a, b, b, b, b]))
    [(0, 4), (4, 8)]
    >>> segment(np.array([a] * 8), cues=[False] * 5 + [True] + [False] * 2)
    [(0, 5), (5, 8)]
    """
    m = len(emb)
    if m < 2 * min_len:
        return [(0, m)] if m else []
    sims = gap_similarities(emb, window)
    depth = depth_scores(sims)
    score = depth.copy()
    if cues is not None:
        for g in range(m - 1):
            if cues[g + 1]:
                score[g] += cue_bonus
    cut = max(min_depth, float(depth.mean() - 0.5 * depth.std()))
    bounds: list[int] = []  # a boundary b starts a new segment at turn b
    for g in sorted(range(m - 1), key=lambda g: (-score[g], g)):
        if score[g] < cut:
            break
        b = g + 1
        lo = max([x for x in bounds if x < b], default=0)
        hi = min([x for x in bounds if x > b], default=m)
        if b - lo >= min_len and hi - b >= min_len:
            bounds.append(b)
    edges = [0, *sorted(bounds), m]
    out: list[tuple[int, int]] = []
    for s, e in itertools.pairwise(edges):
        out.extend(_split_long(sims, s, e, min_len, max_len))
    return out


def _split_long(
    sims: np.ndarray, start: int, end: int, min_len: int, max_len: int
) -> list[tuple[int, int]]:
    if end - start <= max_len:
        return [(start, end)]
    # gap g separates turn g and g+1: allowed b = g+1 in [start+min_len, end-min_len]
    cands = range(start + min_len, end - min_len + 1)
    b = min(cands, key=lambda b: (sims[b - 1], b))
    return _split_long(sims, start, b, min_len, max_len) + _split_long(
        sims, b, end, min_len, max_len
    )
