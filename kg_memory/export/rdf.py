"""The RDF view of a memory (rdflib), serialised as Turtle or JSON-LD.

Vocabulary: ``schemas/kg-memory.ttl`` declares every class and property this
module emits and maps them to PROV-O, OWL-Time, schema.org and SKOS;
``schemas/kg-memory.shacl.ttl`` states the shapes an export conforms to.

* A node is ``<https://kg-memory.dev/node/<kind>/<hash>>``, typed with its
  label's class (``kgm:Turn``, ...); an Entity also with the class its type
  maps to (``schema:Person``, ``schema:Place``, ``schema:Organization``,
  ``skos:Concept``). It carries ``rdfs:label`` (a readable name), and
  ``kgm:namespace``, ``kgm:conversation``, ``kgm:text`` and one ``kgm:<key>``
  per property.
* Literals are typed: ``begin``/``end`` as ``xsd:date``, ``date``/``date_time``
  as ``xsd:dateTime``, integers, doubles and booleans as such; a list is an RDF
  list (order and repeats kept); ``None`` is left out. A conversation's source
  is its file name, never a local path.
* A TimeInterval is also an OWL-Time interval: ``time:hasBeginning`` /
  ``time:hasEnd`` name instants ``<node>/begin`` and ``<node>/end`` with
  ``time:inXSDDate``.
* An edge is the triple ``src kgm:TYPE dst``. An edge with properties (a
  MEMBER's role, a LINKS_TO's similarity, a HAS_TURN's position, ...) is also
  reified as an ``rdf:Statement`` ``<https://kg-memory.dev/edge/<hash>>`` with
  ``rdf:subject``/``rdf:predicate``/``rdf:object`` and a ``kgm:<key>`` per
  property. Reification, not RDF-star: it is plain RDF 1.1, so every Turtle and
  JSON-LD tool, rdflib and pyshacl included, reads and validates it, while
  RDF-star needs RDF 1.2 parsers that rdflib and pyshacl do not ship.

Every blank node (the cells of RDF lists) gets an id derived from its subject,
property and position, so two exports of the same memory are byte-identical.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import SKOS, TIME
from rdflib.term import Node as RDFNode

from kg_memory.export.graph import display_name, public_props
from kg_memory.model import Edge, Node

KGM = Namespace("https://kg-memory.dev/ontology#")
SDO = Namespace("https://schema.org/")
PROV = Namespace("http://www.w3.org/ns/prov#")
NODE_NS = "https://kg-memory.dev/node/"
EDGE_NS = "https://kg-memory.dev/edge/"
#: Where the JSON-LD context (``schemas/kg-memory.context.jsonld``) is published.
CONTEXT_URL = "https://kg-memory.dev/schemas/kg-memory.context.jsonld"
CONTEXT_FILE = Path(__file__).resolve().parents[2] / "schemas" / "kg-memory.context.jsonld"

#: Properties holding dates (typed by the value: a date or a date-time).
DATE_PROPS = frozenset({"begin", "end", "date", "date_time"})

#: Entity ``type`` -> the standard class it also gets.
ENTITY_CLASSES: dict[str, URIRef] = {
    "PERSON": SDO.Person,
    "GPE": SDO.Place,
    "LOC": SDO.Place,
    "FAC": SDO.Place,
    "ORG": SDO.Organization,
    "CONCEPT": SKOS.Concept,
}

PREFIXES = {
    "kgm": KGM,
    "node": Namespace(NODE_NS),
    "edge": Namespace(EDGE_NS),
    "schema": SDO,
    "prov": PROV,
    "time": TIME,
    "skos": SKOS,
}


def node_uri(node_id: str) -> URIRef:
    """The IRI of a node: ``turn:ab12`` -> ``https://kg-memory.dev/node/turn/ab12``."""
    return URIRef(NODE_NS + node_id.replace(":", "/"))


def edge_uri(e: Edge) -> URIRef:
    """The IRI of an edge's reified statement, derived from its key."""
    h = hashlib.blake2b("\x1f".join(e.key).encode(), digest_size=12).hexdigest()
    return URIRef(EDGE_NS + h)


def _date_literal(value: Any) -> Literal | None:
    """``value`` as ``xsd:dateTime`` or ``xsd:date`` if it is one (ISO text or a date)."""
    if isinstance(value, dt.datetime):
        return Literal(value.isoformat(), datatype=XSD.dateTime)
    if isinstance(value, dt.date):
        return Literal(value.isoformat(), datatype=XSD.date)
    if not isinstance(value, str):
        return None
    try:
        if "T" in value:
            dt.datetime.fromisoformat(value)
            return Literal(value, datatype=XSD.dateTime)
        dt.date.fromisoformat(value)
        return Literal(value, datatype=XSD.date)
    except ValueError:
        return None


def literal(key: str, value: Any) -> Literal:
    """A typed literal for the scalar ``value`` of property ``key``.

    >>> literal("begin", "2023-05-07").datatype == XSD.date
    True
    >>> literal("position", 3).datatype == XSD.integer, literal("p", 0.5).datatype == XSD.double
    (True, True)
    """
    if key in DATE_PROPS:
        typed = _date_literal(value)
        if typed is not None:
            return typed
    if isinstance(value, bool):
        return Literal(value, datatype=XSD.boolean)
    if isinstance(value, int):
        return Literal(value, datatype=XSD.integer)
    if isinstance(value, float):
        return Literal(value, datatype=XSD.double)
    if isinstance(value, str):
        return Literal(value)
    return Literal(json.dumps(value, ensure_ascii=False, sort_keys=True))


class _Builder:
    def __init__(self) -> None:
        self.g = Graph()
        for prefix, ns in PREFIXES.items():
            self.g.bind(prefix, ns)

    def rdf_list(self, subject: RDFNode, key: str, values: list[Any]) -> RDFNode:
        """An RDF list of ``values`` whose cells are named after subject, key and index."""
        if not values:
            return RDF.nil
        seed = hashlib.blake2b(f"{subject}\x1f{key}".encode(), digest_size=10).hexdigest()
        cells = [BNode(f"l{seed}x{i}") for i in range(len(values))]
        for i, (cell, value) in enumerate(zip(cells, values, strict=True)):
            self.g.add((cell, RDF.first, literal(key, value)))
            self.g.add((cell, RDF.rest, cells[i + 1] if i + 1 < len(cells) else RDF.nil))
        return cells[0]

    def props(self, subject: RDFNode, props: dict[str, Any]) -> None:
        for key in sorted(props):
            value = props[key]
            if value is None:
                continue
            if isinstance(value, (list, tuple)):
                obj = self.rdf_list(subject, key, list(value))
            else:
                obj = literal(key, value)
            self.g.add((subject, KGM[key], obj))

    def node(self, n: Node) -> None:
        s = node_uri(n.id)
        self.g.add((s, RDF.type, KGM[n.label]))
        etype = n.props.get("type") if n.label == "Entity" else None
        if isinstance(etype, str) and etype in ENTITY_CLASSES:
            self.g.add((s, RDF.type, ENTITY_CLASSES[etype]))
        self.g.add((s, RDFS.label, Literal(display_name(n))))
        self.g.add((s, KGM.namespace, Literal(n.namespace)))
        if n.conversation:
            self.g.add((s, KGM.conversation, Literal(n.conversation)))
        if n.text:
            self.g.add((s, KGM.text, Literal(n.text)))
        self.props(s, public_props(n))
        if n.label == "TimeInterval":
            self.owl_time(s, n)

    def owl_time(self, s: URIRef, n: Node) -> None:
        """The interval's beginning and end as OWL-Time instants."""
        for key, prop in (("begin", TIME.hasBeginning), ("end", TIME.hasEnd)):
            typed = _date_literal(n.props.get(key))
            if typed is None:
                continue
            instant = URIRef(f"{s}/{key}")
            self.g.add((s, prop, instant))
            self.g.add((instant, RDF.type, TIME.Instant))
            when = TIME.inXSDDate if typed.datatype == XSD.date else TIME.inXSDDateTimeStamp
            self.g.add((instant, when, typed))

    def edge(self, e: Edge) -> None:
        src, rel, dst = node_uri(e.src), KGM[e.type], node_uri(e.dst)
        self.g.add((src, rel, dst))
        if not e.props:
            return
        st = edge_uri(e)
        self.g.add((st, RDF.type, RDF.Statement))
        self.g.add((st, RDF.subject, src))
        self.g.add((st, RDF.predicate, rel))
        self.g.add((st, RDF.object, dst))
        self.props(st, dict(e.props))


def build_rdf(nodes: list[Node], edges: list[Edge]) -> Graph:
    """The RDF graph of these nodes and edges."""
    b = _Builder()
    for n in nodes:
        b.node(n)
    for e in edges:
        b.edge(e)
    return b.g


def write_turtle(nodes: list[Node], edges: list[Edge], path: Path, namespace: str) -> None:
    """RDF Turtle in the ``kgm:`` vocabulary (``schemas/kg-memory.ttl``)."""
    text = build_rdf(nodes, edges).serialize(format="turtle")
    header = f"# kg-memory export of namespace {namespace!r}; ontology schemas/kg-memory.ttl\n"
    path.write_text(header + text, encoding="utf-8")


def load_context() -> dict[str, Any]:
    """The published JSON-LD context (its ``@context`` object)."""
    doc = json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))
    return dict(doc["@context"])


def to_jsonld(g: Graph) -> dict[str, Any]:
    """``g`` as a compacted JSON-LD document that references the published context."""
    doc = json.loads(g.serialize(format="json-ld", context=load_context(), auto_compact=True))
    items = doc.get("@graph", [doc] if "@id" in doc else [])
    items = [{k: v for k, v in item.items() if k != "@context"} for item in items]
    items.sort(key=lambda item: str(item.get("@id", "")))
    return {"@context": CONTEXT_URL, "@graph": items}


def with_local_context(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with its context URL replaced by the context file (a document loader's job)."""
    if doc.get("@context") == CONTEXT_URL:
        return {**doc, "@context": load_context()}
    return doc


def write_jsonld(nodes: list[Node], edges: list[Edge], path: Path, namespace: str) -> None:
    """JSON-LD (compacted with ``schemas/kg-memory.context.jsonld``)."""
    doc = to_jsonld(build_rdf(nodes, edges))
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
