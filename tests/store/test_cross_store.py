"""The same conversation gives the same memory and the same answers on both stores.

LoCoMo conv-26 is ingested with every stage into the embedded store and into
Neo4j; counts must match and every question must get the same evidence ids in
the same order (scores equal up to float rounding), with both search presets.
Both use the deterministic hash embedder and the same namespace (node ids derive
from it, and ties break by id). `make bench-neo4j` checks the same on all seven
LoCoMo conversations with all-MiniLM-L6-v2 ("the same top-20 ... for N of N").
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from kg_memory import Memory
from kg_memory.config import EmbeddedConfig, Neo4jConfig
from kg_memory.formats import load
from kg_memory.store import open_store

pytestmark = [pytest.mark.slow, pytest.mark.neo4j]


@pytest.fixture(scope="module")
def conv26() -> object:
    # KG_MEMORY_LOCOMO: the LoCoMo folder, for a checkout (a git worktree) not beside ../shared.
    default = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "locomo"
    path = Path(os.environ.get("KG_MEMORY_LOCOMO") or default) / "conv-26.json"
    if not path.exists():
        pytest.skip("LoCoMo conv-26 not available")
    return load(path)[0]


def _close(x: float, y: float) -> bool:
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)


def _same_ranking(a: list[tuple[str, float]], b: list[tuple[str, float]]) -> bool:
    """Same ids in the same order, except within runs of tied scores; same scores."""
    if len(a) != len(b) or not all(_close(x[1], y[1]) for x, y in zip(a, b, strict=True)):
        return False
    i = 0
    while i < len(a):  # compare each run of tied scores as a set
        j = i + 1
        while j < len(a) and _close(a[j][1], a[i][1]):
            j += 1
        if {x[0] for x in a[i:j]} != {y[0] for y in b[i:j]}:
            return False
        i = j
    return True


def test_conv26_identical_on_both_stores(
    conv26: object, tmp_path: Path, neo4j_config: Neo4jConfig, namespace: str
) -> None:
    embedded = Memory(
        open_store(EmbeddedConfig(tmp_path / "e")), namespace=namespace, embedder="hash"
    )
    neo = Memory(open_store(neo4j_config), namespace=namespace, embedder="hash")
    try:
        embedded.ingest_conversations([conv26])  # type: ignore[list-item]
        neo.ingest_conversations([conv26])  # type: ignore[list-item]
        s_emb, s_neo = embedded.stats().as_dict(), neo.stats().as_dict()
        assert s_emb == s_neo
        for label in ("Entity", "Fact", "Event", "Note", "Hyperedge", "Summary", "Topic"):
            assert s_emb["nodes"].get(label, 0) > 0, label

        questions = [q.question for q in conv26.questions]  # type: ignore[attr-defined]
        assert len(questions) > 150
        for preset in ("hybrid", "graph"):
            for q in questions:
                a = embedded.ask(q, k=10, conversation="conv-26", preset=preset)
                b = neo.ask(q, k=10, conversation="conv-26", preset=preset)
                ra = [(e.node_id, e.score) for e in a.evidence]
                rb = [(e.node_id, e.score) for e in b.evidence]
                assert _same_ranking(ra, rb), (preset, q, ra, rb)

        # a named query lists one entity's facts and events in time order
        rows = neo.cypher(
            (
                Path(__file__).resolve().parents[2] / "queries" / "entity_timeline.cypher"
            ).read_text(),
            {"name": "Caroline"},
        )
        assert rows and {r["kind"] for r in rows} == {"fact", "event"}
        times = [r["time"] for r in rows if r["time"] is not None]
        assert times == sorted(times)
    finally:
        neo.store.delete_namespace(namespace)
        embedded.close()
        neo.close()
