"""Fixtures of the security tests: two namespaces with overlapping content on each store.

Both namespaces hold the same demo conversation (so every question finds text in
both) plus three turns of their own that carry a secret marker; a leak is any
id or marker of the other namespace in an answer.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from kg_memory import Memory

DEMO = Path(__file__).resolve().parents[2] / "ingest" / "samples" / "demo.jsonl"


@dataclass
class Tenant:
    """One namespace of the pair: its memory, its secret marker, its node ids."""

    memory: Memory
    marker: str
    ids: set[str]

    @property
    def namespace(self) -> str:
        return self.memory.namespace


def _tenant_file(tmp: Path, ns: str, marker: str) -> Path:
    lines = DEMO.read_text(encoding="utf-8").splitlines()
    extra = [
        {
            "conversation": "demo",
            "session": 4,
            "session_time": "2024-05-01T10:00:00",
            "speaker": "Maya",
            "text": f"My locker code at the Portland gym is {marker}, do not tell anyone.",
        },
        {
            "conversation": "demo",
            "session": 4,
            "session_time": "2024-05-01T10:00:00",
            "speaker": "Tom",
            "text": f"Fine, {marker} stays between us and Biscuit.",
        },
        {
            "conversation": "private",
            "session": 1,
            "session_time": "2024-05-02T09:00:00",
            "speaker": f"Agent {marker}",
            "text": f"Project {marker} launches in Lisbon next spring with Clara.",
        },
    ]
    path = tmp / f"{ns}.jsonl"
    path.write_text("\n".join(lines + [json.dumps(e) for e in extra]) + "\n", encoding="utf-8")
    return path


def open_pair(kind: str, tmp: Path) -> tuple[Tenant, Tenant]:
    """Two freshly ingested namespaces on one ``kind`` store (full pipeline, hash embedder)."""
    run = uuid.uuid4().hex[:8]
    first = Memory.open(
        store_dir=None if kind == "neo4j" else tmp / "store",
        namespace=f"sec{run}a",
        embedder="hash",
    )
    tenants = []
    for side in ("a", "b"):
        mem = first if side == "a" else Memory(first.store, namespace=f"sec{run}b", embedder="hash")
        marker = f"zq{side}{uuid.uuid4().hex[:10]}"
        mem.ingest([_tenant_file(tmp, mem.namespace, marker)])
        tenants.append(Tenant(mem, marker, set()))
    for t in tenants:
        t.ids = node_ids(t.memory)
    return tenants[0], tenants[1]


def node_ids(mem: Memory) -> set[str]:
    """Every node id of the memory's namespace."""
    from kg_memory.export import iter_graph

    nodes, _ = iter_graph(mem.store, mem.namespace)
    return {n.id for n in nodes}


@contextmanager
def pair(kind: str, tmp: Path) -> Iterator[tuple[Tenant, Tenant]]:
    """:func:`open_pair`, closed after; on a server its namespaces are deleted too."""
    a, b = open_pair(kind, tmp)
    try:
        yield a, b
    finally:
        if kind == "neo4j":  # the server outlives the test run
            for t in (a, b):
                t.memory.store.delete_namespace(t.namespace)
        a.memory.close()  # one store for both


@pytest.fixture(scope="module")
def neo4j_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Tenant, Tenant]]:
    with pair("neo4j", tmp_path_factory.mktemp("neo4j-pair")) as tenants:
        yield tenants


@pytest.fixture(scope="module")
def embedded_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Tenant, Tenant]]:
    with pair("embedded", tmp_path_factory.mktemp("embedded-pair")) as tenants:
        yield tenants
