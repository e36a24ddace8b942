"""Export -> import gives the same graph on every store; every format reads back whole."""

from __future__ import annotations

import json
from pathlib import Path

import networkx
import pytest
from rdflib import Graph

from kg_memory.export import export, import_jsonl, iter_graph
from kg_memory.export.graphml import build_graphml
from kg_memory.export.rdf import CONTEXT_URL, build_rdf, with_local_context
from kg_memory.store.base import Store

from .helpers import canonical_triples, graph_of, ingest_demo


def test_jsonl_export_then_import_is_the_same_graph(
    store: Store, namespace: str, tmp_path: Path
) -> None:
    ingest_demo(store, namespace)
    before = graph_of(store, namespace)
    counts_before = store.counts(namespace).as_dict()
    assert counts_before["total_nodes"] > 100 and len(store.counts(namespace).nodes) >= 10
    first = tmp_path / "a.jsonl"
    export(store, namespace, first, "jsonl")
    store.delete_namespace(namespace)
    assert store.counts(namespace).total_nodes == 0

    got = import_jsonl(store, first)
    assert got == {"nodes": len(before[0]), "edges": len(before[1])}
    assert graph_of(store, namespace) == before  # ids, labels, props, vectors, edges
    assert store.counts(namespace).as_dict() == counts_before
    second = tmp_path / "b.jsonl"
    export(store, namespace, second, "jsonl")
    assert second.read_bytes() == first.read_bytes()

    import_jsonl(store, first, namespace)  # again: idempotent
    assert graph_of(store, namespace) == before
    assert store.counts(namespace).as_dict() == counts_before


def test_imported_memory_answers_like_the_original(
    store: Store, namespace: str, tmp_path: Path
) -> None:
    from kg_memory.memory import Memory

    ingest_demo(store, namespace)
    mem = Memory(store, namespace=namespace, embedder="hash")
    question = "What is the name of the puppy?"
    before = [(e.node_id, e.score) for e in mem.ask(question, k=5, preset="graph").evidence]
    export(store, namespace, tmp_path / "m.jsonl")
    store.delete_namespace(namespace)
    import_jsonl(store, tmp_path / "m.jsonl")
    after = [(e.node_id, e.score) for e in mem.ask(question, k=5, preset="graph").evidence]
    assert after == before and before


@pytest.fixture
def demo_graph(tmp_path: Path):  # type: ignore[no-untyped-def]
    from kg_memory.config import EmbeddedConfig
    from kg_memory.store import open_store

    store = open_store(EmbeddedConfig(path=tmp_path / "store"))
    ingest_demo(store, "default")
    yield store
    store.close()


@pytest.mark.parametrize("fmt", ["ttl", "jsonld", "graphml", "jsonl"])
def test_exports_are_deterministic(demo_graph: Store, tmp_path: Path, fmt: str) -> None:
    a, b = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
    export(demo_graph, "default", a, fmt)
    export(demo_graph, "default", b, fmt)
    assert a.read_bytes() == b.read_bytes()


def test_turtle_reads_back_to_the_same_triples(demo_graph: Store, tmp_path: Path) -> None:
    export(demo_graph, "default", tmp_path / "m.ttl", "ttl")
    expected = build_rdf(*iter_graph(demo_graph, "default"))
    parsed = Graph().parse(tmp_path / "m.ttl", format="turtle")
    assert len(parsed) == len(expected) > 1000
    assert canonical_triples(parsed) == canonical_triples(expected)


def test_jsonld_reads_back_to_the_same_triples(demo_graph: Store, tmp_path: Path) -> None:
    export(demo_graph, "default", tmp_path / "m.jsonld", "jsonld")
    doc = json.loads((tmp_path / "m.jsonld").read_text(encoding="utf-8"))
    assert doc["@context"] == CONTEXT_URL  # references the published context
    parsed = Graph().parse(data=json.dumps(with_local_context(doc)), format="json-ld")
    expected = build_rdf(*iter_graph(demo_graph, "default"))
    assert len(parsed) == len(expected)
    assert canonical_triples(parsed) == canonical_triples(expected)


def test_graphml_reads_back_with_networkx(demo_graph: Store, tmp_path: Path) -> None:
    export(demo_graph, "default", tmp_path / "m.graphml", "graphml")
    nodes, edges = iter_graph(demo_graph, "default")
    back = networkx.read_graphml(tmp_path / "m.graphml", force_multigraph=True)
    expected = build_graphml(nodes, edges)
    assert sorted(back.nodes) == sorted(n.id for n in nodes)
    assert sorted((u, k, v) for u, v, k in back.edges(keys=True)) == [e.key for e in edges]
    for node_id, attrs in expected.nodes(data=True):
        assert back.nodes[node_id] == attrs, node_id
    for u, v, k, attrs in expected.edges(keys=True, data=True):
        assert back.edges[u, v, k] == attrs


def test_graphml_labels_are_readable_names_and_type_is_its_own(
    demo_graph: Store, tmp_path: Path
) -> None:
    export(demo_graph, "default", tmp_path / "m.graphml", "graphml")
    back = networkx.read_graphml(tmp_path / "m.graphml", force_multigraph=True)
    by_type: dict[str, list[dict[str, object]]] = {}
    for _, attrs in back.nodes(data=True):
        by_type.setdefault(str(attrs["type"]), []).append(attrs)
    assert len(by_type) >= 10
    assert all(a["label"] == a["p_name"] for a in by_type["Entity"])
    assert all(str(a["label"]).startswith(str(a["p_turn_id"])) for a in by_type["Turn"])
    labels = [a["label"] for attrs in by_type.values() for a in attrs]
    assert not set(labels) & set(by_type)  # never the node type
    assert all(a["p_source"] == "demo.jsonl" for a in by_type["Conversation"])
