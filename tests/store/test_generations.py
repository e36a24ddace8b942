"""Store objects of one process on one database share their write counters.

The server opens a writer and a pool of readers on the same store: a write through
the writer must drop the readers' cached reads (scope counts, vectors, text stats).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kg_memory.config import EmbeddedConfig
from kg_memory.model import Node
from kg_memory.store import open_store
from kg_memory.store.base import Search
from kg_memory.store.common import shared_generations


def test_same_database_same_counters() -> None:
    assert shared_generations("x", "db") is shared_generations("x", "db")
    assert shared_generations("x", "db") is not shared_generations("x", "other")


def test_a_write_through_one_store_reaches_another_reader(tmp_path: Path) -> None:
    writer = open_store(EmbeddedConfig(tmp_path / "m"))
    reader = open_store(EmbeddedConfig(tmp_path / "m"))
    try:
        vec = np.ones(4, dtype=np.float32) / 2

        def turn(i: int) -> Node:
            return Node(f"turn:{i}", "Turn", "ns", text=f"hello {i}", embedding=vec)

        writer.upsert_nodes([turn(1)])
        first = reader.search_many("ns", [Search("Turn", 10, vector=vec)])[0]
        writer.upsert_nodes([turn(2)])
        second = reader.search_many("ns", [Search("Turn", 10, vector=vec)])[0]
        assert [h.id for h in first] == ["turn:1"]
        assert sorted(h.id for h in second) == ["turn:1", "turn:2"]
    finally:
        writer.close()
        reader.close()
