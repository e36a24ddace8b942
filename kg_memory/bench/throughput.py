"""Raw throughputs the ingest is compared with, measured in the same run.

The embedder's raw rate over all turn texts (the texts kg-memory indexes), and
spaCy's raw ``nlp.pipe`` rate over the turns' own texts (what the parse stage
reads); the "bound" ``1 / (1/embed + 1/spacy)`` is what a pipeline doing
nothing but embedding and parsing would reach on one core set. The questions
are then encoded one at a time, as :meth:`kg_memory.Memory.ask` does, which
times query encoding alone and gives the baselines their query vectors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich.console import Console

from kg_memory.bench.dataset import Dataset, turn_documents
from kg_memory.bench.metrics import harmonic_bound, rate, ratio, rounded
from kg_memory.bench.systems import SystemRun
from kg_memory.embed import Embedder


@dataclass
class RawRates:
    """The raw measurements, and the vectors they computed (reused by the baselines)."""

    documents: dict[str, tuple[list[str], list[str], list[str]]]  # see turn_documents
    model_load_seconds: float = 0.0
    embed_seconds: float = 0.0
    spacy_load_seconds: float = 0.0
    spacy_seconds: float = 0.0
    turn_vectors: dict[str, np.ndarray] = field(default_factory=dict)
    question_vectors: dict[str, np.ndarray] = field(default_factory=dict)
    encode_seconds: list[float] = field(default_factory=list)

    @property
    def index_texts(self) -> list[str]:
        """Every turn's index text, conversation by conversation."""
        return [t for _, d, _ in self.documents.values() for t in d]

    @property
    def own_texts(self) -> list[str]:
        """Every turn's own text (what spaCy parses), conversation by conversation."""
        return [t for _, _, r in self.documents.values() for t in r]

    @property
    def embed_rate(self) -> float | None:
        return rate(len(self.index_texts), self.embed_seconds)

    @property
    def spacy_rate(self) -> float | None:
        return rate(len(self.own_texts), self.spacy_seconds)

    @property
    def bound(self) -> float | None:
        return harmonic_bound({"embed": self.embed_rate, "spacy": self.spacy_rate})

    def vector_table(self) -> dict[str, np.ndarray]:
        """Index text -> the vector the raw measurement computed for it."""
        return {
            t: v
            for cid, (_, d, _) in self.documents.items()
            for t, v in zip(d, self.turn_vectors[cid], strict=True)
        }


def measure_embedding(raw: RawRates, embedder: Embedder, console: Console) -> None:
    """Load the model (timed apart), then embed every turn's index text."""
    t0 = time.perf_counter()
    embedder.embed(["warm-up: load the model"])
    raw.model_load_seconds = time.perf_counter() - t0
    console.print(f"embedding {len(raw.index_texts)} turns (raw throughput) ...", highlight=False)
    t0 = time.perf_counter()
    for cid, (_, d, _) in raw.documents.items():
        raw.turn_vectors[cid] = embedder.embed(d)
    raw.embed_seconds = time.perf_counter() - t0


def measure_spacy(raw: RawRates, console: Console) -> None:
    """Load spaCy (timed apart), then parse every turn's own text with ``nlp.pipe``."""
    from kg_memory.nlp import load_nlp

    t0 = time.perf_counter()
    nlp = load_nlp()
    list(nlp.pipe(["Warm-up sentence for spaCy."]))
    raw.spacy_load_seconds = time.perf_counter() - t0
    texts = raw.own_texts
    console.print(f"parsing {len(texts)} turns with spaCy (raw throughput) ...", highlight=False)
    t0 = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=128):
        pass
    raw.spacy_seconds = time.perf_counter() - t0


def encode_questions(raw: RawRates, data: Dataset, embedder: Embedder, console: Console) -> None:
    """One question at a time, as ``ask()`` does: also times query encoding alone."""
    console.print("encoding the questions one by one ...", highlight=False)
    for cid, qs in data.questions.items():
        vecs = []
        for q in qs:
            t0 = time.perf_counter()
            vecs.append(embedder.embed([q.question])[0])
            raw.encode_seconds.append(time.perf_counter() - t0)
        raw.question_vectors[cid] = np.vstack(vecs) if vecs else np.zeros((0, embedder.dim))


def measure_raw(data: Dataset, embedder: Embedder, console: Console) -> RawRates:
    """Every raw measurement of the module docstring, in order."""
    raw = RawRates({cv.conversation_id: turn_documents(cv) for cv in data.conversations})
    measure_embedding(raw, embedder, console)
    measure_spacy(raw, console)
    encode_questions(raw, data, embedder, console)
    return raw


def ingest_throughput(raw: RawRates, km: SystemRun) -> dict[str, Any]:
    """The report's ``throughput`` section for the raw rates and the embedded kg-memory run."""
    ingest_rate = rate(km.turns, km.ingest_seconds)
    stage_total = sum(km.stage_seconds.values())
    return {
        "turns": len(raw.index_texts),
        "model_load_seconds": round(raw.model_load_seconds, 3),
        "spacy_load_seconds": round(raw.spacy_load_seconds, 3),
        "embed_seconds": round(raw.embed_seconds, 3),
        "embed_turns_per_s": rounded(raw.embed_rate),
        "spacy_seconds": round(raw.spacy_seconds, 3),
        "spacy_turns_per_s": rounded(raw.spacy_rate),
        "bound_turns_per_s": rounded(raw.bound),
        "kg_memory_ingest_seconds": round(km.ingest_seconds, 3),
        "kg_memory_ingest_turns_per_s": rounded(ingest_rate),
        "ingest_over_embed": rounded(ratio(ingest_rate, raw.embed_rate), 3),
        "ingest_over_bound": rounded(ratio(ingest_rate, raw.bound), 3),
        "stage_seconds": {s: round(v, 3) for s, v in km.stage_seconds.items()},
        "stage_share": {
            s: round(v / stage_total, 4) if stage_total else None
            for s, v in km.stage_seconds.items()
        },
        "unstaged_seconds": round(km.ingest_seconds - stage_total, 3),
        "embedded_write_seconds": round(km.stage_seconds.get("write", 0.0), 3),
        "embedded_write_turns_per_s": rounded(rate(km.turns, km.stage_seconds.get("write", 0.0))),
    }


def neo4j_throughput(km: SystemRun, neo: SystemRun) -> dict[str, Any]:
    """The Neo4j run's part of the ``throughput`` section (its error, or its write rate and
    how many questions got the embedded run's very top ``k``)."""
    out: dict[str, Any] = {"neo4j_error": neo.error}
    if not neo.error:
        w = neo.stage_seconds.get("write", 0.0)
        out["neo4j_write_seconds"] = round(w, 3)
        out["neo4j_write_turns_per_s"] = rounded(rate(neo.turns, w))
        out["neo4j_ingest_seconds_precomputed_embeddings"] = round(neo.ingest_seconds, 3)
        same = sum(1 for key, top in km.ranked.items() if neo.ranked.get(key) == top)
        out["neo4j_same_top_k"] = same
        out["neo4j_compared"] = len(km.ranked)
    return out
