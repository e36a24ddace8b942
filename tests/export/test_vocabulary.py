"""The ontology declares every term an export emits; the export conforms to the SHACL shapes."""

from __future__ import annotations

from pathlib import Path

import pyshacl
import pytest
from rdflib import OWL, RDF, RDFS, Graph, URIRef

from kg_memory.config import EmbeddedConfig
from kg_memory.export import export, iter_graph
from kg_memory.export.rdf import build_rdf, load_context
from kg_memory.store import open_store

from .helpers import REPO, canonical_triples, ingest_demo

ONTOLOGY = REPO / "schemas" / "kg-memory.ttl"
SHAPES = REPO / "schemas" / "kg-memory.shacl.ttl"
DECLARING = {
    OWL.Class,
    RDFS.Class,
    OWL.ObjectProperty,
    OWL.DatatypeProperty,
    OWL.AnnotationProperty,
}
#: RDF's own vocabulary (lists, reification, rdf:type) is not redeclared.
RDF_NS = str(RDF)


def undeclared(data: Graph) -> set[URIRef]:
    """Predicates and classes ``data`` uses that the ontology does not declare."""
    onto = Graph().parse(ONTOLOGY)
    declared = {s for s, _, o in onto.triples((None, RDF.type, None)) if o in DECLARING}
    used = set(data.predicates()) | set(data.objects(None, RDF.type))
    return {t for t in used if isinstance(t, URIRef) and not str(t).startswith(RDF_NS)} - declared


def validate(data: Graph) -> tuple[bool, str]:
    conforms, _, text = pyshacl.validate(
        data,
        shacl_graph=Graph().parse(SHAPES),
        ont_graph=Graph().parse(ONTOLOGY),
        inference="none",
    )
    return bool(conforms), str(text)


def reified_edges_are_in_the_graph(data: Graph) -> bool:
    return all(
        (data.value(st, RDF.subject), data.value(st, RDF.predicate), data.value(st, RDF.object))
        in data
        for st in data.subjects(RDF.type, RDF.Statement)
    )


@pytest.fixture
def demo_rdf(tmp_path: Path) -> Graph:
    store = open_store(EmbeddedConfig(path=tmp_path / "store"))
    try:
        ingest_demo(store, "default")
        return build_rdf(*iter_graph(store, "default"))
    finally:
        store.close()


def test_demo_export_uses_only_declared_terms_and_conforms(demo_rdf: Graph) -> None:
    assert undeclared(demo_rdf) == set()
    conforms, report = validate(demo_rdf)
    assert conforms, report[:3000]
    assert reified_edges_are_in_the_graph(demo_rdf)


def test_the_shapes_catch_a_bad_export(demo_rdf: Graph) -> None:
    from rdflib import Literal

    from kg_memory.export.rdf import KGM

    turn = next(demo_rdf.subjects(RDF.type, KGM.Turn))
    demo_rdf.set((turn, KGM.position, Literal("third")))  # an integer property as text
    demo_rdf.remove((turn, KGM.namespace, None))
    conforms, report = validate(demo_rdf)
    assert not conforms
    assert "kgm:position" in report and "kgm:namespace" in report


def test_an_undeclared_term_is_found(demo_rdf: Graph) -> None:
    from kg_memory.export.rdf import KGM

    turn = next(demo_rdf.subjects(RDF.type, KGM.Turn))
    demo_rdf.add((turn, KGM.mood, turn))
    assert undeclared(demo_rdf) == {KGM.mood}


def test_export_holds_typed_literals_lists_edge_properties_and_no_paths(demo_rdf: Graph) -> None:
    from rdflib import XSD
    from rdflib.namespace import TIME

    from kg_memory.export.rdf import KGM, SDO

    dtypes = {o.datatype for o in demo_rdf.objects(None, KGM.date_time)}
    assert dtypes == {XSD.dateTime}
    assert {o.datatype for o in demo_rdf.objects(None, KGM.begin)} == {XSD.date}
    assert {o.datatype for o in demo_rdf.objects(None, KGM.position)} == {XSD.integer}
    assert set(demo_rdf.subjects(RDF.type, SDO.Person))  # speakers as schema:Person
    assert set(demo_rdf.objects(None, TIME.inXSDDate))  # intervals as OWL-Time instants
    lists = {p: o for _, p, o in canonical_triples(demo_rdf) if isinstance(o, tuple)}
    assert KGM.turn_ids in lists and KGM.speakers in lists
    roles = set(demo_rdf.objects(None, KGM.role))
    assert roles  # MEMBER roles kept on reified statements
    sources = [str(o) for o in demo_rdf.objects(None, KGM.source)]
    assert sources == ["demo.jsonl"]


def test_the_context_names_every_prefix_the_ontology_uses() -> None:
    ctx = load_context()
    onto = Graph().parse(ONTOLOGY)
    for prefix, ns in onto.namespaces():
        if prefix in ("kgm", "schema", "prov", "time", "skos", "rdf", "rdfs", "xsd"):
            assert ctx[prefix] == str(ns), prefix


@pytest.mark.slow
def test_locomo_conversation_turtle_export_conforms(
    locomo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg_memory.memory import Memory

    store = open_store(EmbeddedConfig(path=tmp_path / "store"))
    try:
        Memory(store, namespace="default", embedder="hash").ingest([locomo_dir / "conv-30.json"])
        export(store, "default", tmp_path / "conv-30.ttl", "ttl")
    finally:
        store.close()
    data = Graph().parse(tmp_path / "conv-30.ttl", format="turtle")
    assert len(data) > 50_000
    assert undeclared(data) == set()
    assert reified_edges_are_in_the_graph(data)
    conforms, report = validate(data)
    assert conforms, report[:3000]
