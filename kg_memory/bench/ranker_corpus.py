"""The training corpus: LoCoMo conversations ingested once, featurised once.

Each conversation is ingested with every stage into a persistent embedded
store under ``work/stores/<conversation>`` (a marker file records the sha256
of its input file and of the pipeline's version and stage settings; a change to
either is re-ingested), and its candidate/feature matrix is cached under
``work/features/`` keyed by that hash and the feature list. ``rebuild=True`` recomputes the matrices (after a change to
the candidate or feature code).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from kg_memory.bench.dataset import conversation_files, load_dataset
from kg_memory.bench.ranker_matrix import ConvMatrix, Question, conversation_matrix
from kg_memory.bench.systems import bench_namespace
from kg_memory.config import EmbeddedConfig
from kg_memory.embed import Embedder, MiniLMEmbedder
from kg_memory.ingest.pipeline import PIPELINE_VERSION
from kg_memory.ingest.registry import resolve_stages, stage
from kg_memory.memory import Memory
from kg_memory.retrieval.rank.candidates import FOCUS_K, POOL, SUBJECT_K, VERSION
from kg_memory.retrieval.rank.features import FEATURES
from kg_memory.store import open_store


def _sha(path: Path) -> str:
    """Hash of the input file and of what ingest does with it (version, stage settings)."""
    settings = [PIPELINE_VERSION, [[n, stage(n).config()] for n in resolve_stages("all")]]
    h = hashlib.sha256(path.read_bytes())
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return h.hexdigest()


def feature_key() -> str:
    """Hash of what a cached matrix depends on besides the data (features, pool sizes,
    the candidate generation's version)."""
    key = f"{FEATURES}|{POOL}|{FOCUS_K}|{SUBJECT_K}|{VERSION}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def build_matrices(
    data: Path,
    work: Path,
    *,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    log: bool = True,
) -> tuple[list[Path], list[ConvMatrix]]:
    """The input files and one matrix per conversation of ``data`` (built or from the cache)."""
    files = conversation_files(data)
    ds = load_dataset(data)
    emb = embedder
    mats = []
    for conv in ds.conversations:
        cid = conv.conversation_id
        src = next(f for f in files if f.stem == cid or len(files) == 1)
        digest = _sha(src)
        cache = work / "features" / f"{cid}-{digest[:12]}-{feature_key()}.npz"
        if cache.is_file() and not rebuild:
            mats.append(ConvMatrix.load(cache))
            continue
        emb = emb or MiniLMEmbedder()
        sdir = work / "stores" / cid
        marker = sdir / "ingested.sha256"
        if not marker.is_file() or marker.read_text().strip() != digest:
            shutil.rmtree(sdir, ignore_errors=True)
            sdir.mkdir(parents=True)
            with Memory(
                open_store(EmbeddedConfig(sdir / "store")),
                namespace=bench_namespace(cid),
                embedder=emb,
            ) as mem:
                mem.ingest_conversations([conv], stages="all", force=True)
            marker.write_text(digest)
        qs = [Question(q.index, q.question, q.category, q.gold) for q in ds.questions[cid]]
        store = open_store(EmbeddedConfig(sdir / "store"))
        try:
            m = conversation_matrix(store, emb, bench_namespace(cid), cid, qs)
        finally:
            store.close()
        m.save(cache)
        if log:
            print(f"{cid}: {len(qs)} questions, {len(m.y)} candidate rows", flush=True)
        mats.append(m)
    return files, mats
