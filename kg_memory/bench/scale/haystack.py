"""The haystack: LoCoMo's conversations and distractors to ``N`` turns, and its text cache.

The LoCoMo conversations come first, then distractors
(:func:`kg_memory.bench.scale.generator.distractors`) until the namespace
holds ``N`` turns. The questions are LoCoMo's categories 1-4 with gold
evidence; their gold turns are keyed ``<conversation>/<turn id>`` (:func:`key`),
since with no conversation filter a ``D1:3`` of another conversation is not
the gold ``D1:3``.

:class:`TextCache` keeps turn embeddings on disk keyed by the indexed text
(an ``.npz`` beside the results), so a second run (the other store, a larger
N) embeds only texts it has not seen; questions are never cached (their
encoding is part of ask's latency).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kg_memory.bench.dataset import BenchQuestion, load_dataset
from kg_memory.bench.scale.generator import SEED, distractors
from kg_memory.embed import CachedEmbedder, Embedder
from kg_memory.formats.model import RawConversation
from kg_memory.ingest.turns import index_text

#: LoCoMo categories asked (5, adversarial, has no answer in the conversation).
ASKED = (1, 2, 3, 4)


def key(conversation: str | None, turn_id: str) -> str:
    """A turn's key across conversations.

    >>> key("conv-26", "D1:3")
    'conv-26/D1:3'
    """
    return f"{conversation}/{turn_id}"


@dataclass
class Haystack:
    """What one run ingests and asks."""

    locomo: list[RawConversation]
    questions: list[BenchQuestion]
    n_turns: int
    seed: int = SEED

    @property
    def locomo_turns(self) -> int:
        return sum(c.n_turns for c in self.locomo)

    @property
    def distractor_turns(self) -> int:
        return max(0, self.n_turns - self.locomo_turns)

    def conversations(self) -> Iterator[RawConversation]:
        """LoCoMo's conversations, then the distractors."""
        yield from self.locomo
        yield from distractors(self.distractor_turns, self.seed)

    def gold(self, q: BenchQuestion) -> frozenset[str]:
        return frozenset(key(q.conversation, t) for t in q.gold)


def load_haystack(data_dir: Path, n_turns: int, limit: int | None, seed: int) -> Haystack:
    """LoCoMo (the first ``limit`` conversations) and its asked questions, to ``n_turns``."""
    data = load_dataset(data_dir, limit)
    qs = [q for q in data.all_questions() if q.category in ASKED]
    return Haystack(data.conversations, qs, n_turns, seed)


def turn_texts(conv: RawConversation) -> Iterator[str]:
    """The texts ingest embeds for ``conv``'s turns."""
    for s in conv.sessions:
        for t in s.turns:
            yield index_text(s.date_time, t.speaker, t.text, t.caption)


class TextCache(CachedEmbedder):
    """A :class:`CachedEmbedder` of turn texts, loaded from and saved to ``path`` (``.npz``).

    Only texts :meth:`allow` was given are kept (the turns), so questions are
    encoded for real on every ask.
    """

    def __init__(self, base: Embedder, path: Path | None) -> None:
        super().__init__(base, {}, only=())
        self.path = path
        self._allowed: set[str] = set()
        if path is not None and path.is_file():
            with np.load(path, allow_pickle=False) as z:
                if str(z["name"]) == base.name and z["vectors"].shape[1:] == (base.dim,):
                    self.table = dict(zip(z["texts"].tolist(), z["vectors"], strict=True))
        self.loaded = len(self.table)
        self.loaded_at_start = self.loaded

    def allow(self, conv: RawConversation) -> None:
        """Cache the turn texts of ``conv`` from now on."""
        self._allowed.update(turn_texts(conv))
        self.only = self._allowed  # type: ignore[assignment]

    def save(self) -> None:
        """Write the table to :attr:`path` (when there is one and it grew)."""
        if self.path is None or len(self.table) == self.loaded:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        texts = list(self.table)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            name=np.array(self.base.name),
            texts=np.array(texts),
            vectors=np.vstack([self.table[t] for t in texts]).astype(np.float32),
        )
        tmp.replace(self.path)
        self.loaded = len(self.table)
