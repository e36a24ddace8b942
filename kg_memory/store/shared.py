"""Namespace-level nodes several conversations support: kept true to what is stored.

Shared world entities (``conversation`` is ``None``: "London" in two
conversations is one node, see :mod:`kg_memory.ingest.entities`) are the only
nodes more than one conversation writes to, with the ``RELATED_TO`` edges
between two of them. When a conversation is deleted or re-ingested, what it
contributed to them must go, and what others contributed must stay:

* a shared entity no stored turn mentions (``MENTIONS``, ``SPOKEN_BY``,
  ``ADDRESSES``) any more is deleted, with its edges;
* a surviving one gets ``turn_ids`` and ``conversations`` recomputed from the
  turns that still mention it, and keeps only the ``aliases`` one of them still
  writes (the ``text`` of a ``MENTIONS`` edge, compared normalised);
* a ``RELATED_TO`` edge between two shared entities holds the predicates of the
  stored ``Fact`` nodes with that subject and object (a fact as an edge), and
  is deleted when none is left.

:func:`refresh_shared` does this for the entities a write touched; the stores'
``delete_conversation`` and the ingest pipeline call it in their transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kg_memory.model import Edge, Node
from kg_memory.store.base import Store

#: Edges from a Turn that support an entity (a speaker is a conversation's own entity).
SUPPORT = ("MENTIONS", "SPOKEN_BY", "ADDRESSES")

#: Ids per neighbours/get_nodes call.
CHUNK = 500


def _norm(text: str) -> str:
    from kg_memory.ingest.entities.names import normalise

    return normalise(text)


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), CHUNK):
        yield list(ids[i : i + CHUNK])


def linked_shared(store: Store, namespace: str, ids: Sequence[str]) -> list[str]:
    """The shared nodes (``conversation`` is ``None``) linked by an edge to any of ``ids``."""
    ends: set[str] = set()
    for chunk in _chunks(list(ids)):
        for e in store.neighbours(namespace, chunk):
            ends.update((e.src, e.dst))
    found = [n.id for n in _get(store, namespace, sorted(ends)) if n.conversation is None]
    return sorted(found)


def conversation_node_ids(store: Store, namespace: str, conversation: str) -> list[str]:
    """Every node id of one conversation."""
    from kg_memory.model import NODE_LABELS

    return [
        n.id
        for label in NODE_LABELS
        for n in store.find_nodes(namespace, label, conversation=conversation)
    ]


def _get(store: Store, namespace: str, ids: Sequence[str]) -> list[Node]:
    return [n for chunk in _chunks(list(ids)) for n in store.get_nodes(namespace, chunk)]


def refresh_shared(store: Store, namespace: str, ids: Sequence[str]) -> int:
    """Bring the shared entities ``ids`` (and ``RELATED_TO`` among shared ones) in line
    with what stored turns and facts support; return the nodes deleted."""
    nodes = [
        n
        for n in _get(store, namespace, sorted(set(ids)))
        if n.conversation is None and n.label == "Entity"
    ]
    if not nodes:
        return 0
    edges = [
        e for chunk in _chunks([n.id for n in nodes]) for e in store.neighbours(namespace, chunk)
    ]
    incoming: dict[str, list[Edge]] = {}
    for e in edges:
        incoming.setdefault(e.dst, []).append(e)
    sources = {n.id: n for n in _get(store, namespace, sorted({e.src for e in edges}))}
    dead, updated = [], []
    for node in nodes:
        mentions = [
            (sources[e.src], e)
            for e in incoming.get(node.id, [])
            if e.type in SUPPORT and e.src in sources and sources[e.src].label == "Turn"
        ]
        if not mentions:
            dead.append(node.id)
            continue
        fresh = _entity(node, mentions)
        if fresh is not None:
            updated.append(fresh)
    deleted = store.delete_nodes(namespace, dead) if dead else 0
    if updated:
        store.upsert_nodes(updated)
    gone = set(dead)
    alive = [n.id for n in nodes if n.id not in gone]
    _refresh_related(store, namespace, alive)
    return deleted


def _entity(node: Node, mentions: list[tuple[Node, Edge]]) -> Node | None:
    """``node`` with the props its mentions support, or ``None`` if they are unchanged."""
    props = dict(node.props)
    said = {_norm(str(e.props.get("text", ""))) for _, e in mentions}
    aliases = [a for a in props.get("aliases", []) if _norm(a) in said]
    props["aliases"] = aliases
    props["turn_ids"] = sorted(
        {str(t.props["turn_id"]) for t, _ in mentions if "turn_id" in t.props}
    )
    if "conversations" in props:
        props["conversations"] = sorted({str(t.conversation) for t, _ in mentions})
    text = " ".join([str(props.get("name", "")), *aliases])
    if props == dict(node.props) and text == node.text:
        return None
    return Node(node.id, node.label, node.namespace, None, text, props)


def _refresh_related(store: Store, namespace: str, ids: list[str]) -> None:
    """``RELATED_TO`` out of each of ``ids`` to a shared entity: the predicates of the
    stored facts with that subject and object; deleted when there are none."""
    if not ids:
        return
    out_edges = [
        e
        for chunk in _chunks(ids)
        for e in store.neighbours(namespace, chunk, edge_types=["RELATED_TO"], direction="out")
    ]
    subject_of = [
        e
        for chunk in _chunks(ids)
        for e in store.neighbours(namespace, chunk, edge_types=["SUBJECT"], direction="in")
    ]
    facts = _get(store, namespace, sorted({e.src for e in subject_of}))
    shared = {n.id for n in _get(store, namespace, sorted({e.dst for e in out_edges}))}
    shared |= {
        n.id
        for n in _get(store, namespace, sorted({str(f.props.get("object_id")) for f in facts}))
        if n.conversation is None
    }
    wanted: dict[tuple[str, str], set[str]] = {}
    subjects = set(ids)
    for f in facts:
        subj, obj = f.props.get("subject_id"), f.props.get("object_id")
        if subj in subjects and obj in shared and subj != obj:
            wanted.setdefault((str(subj), str(obj)), set()).add(str(f.props.get("predicate")))
    stale = [e.key for e in out_edges if e.dst in shared and (e.src, e.dst) not in wanted]
    if stale:
        store.delete_edges(namespace, stale)
    have = {(e.src, e.dst): e for e in out_edges}
    fresh = [
        Edge(a, "RELATED_TO", b, namespace, {"predicates": sorted(p)})
        for (a, b), p in sorted(wanted.items())
        if (a, b) not in have or list(have[(a, b)].props.get("predicates", [])) != sorted(p)
    ]
    if fresh:
        store.upsert_edges(fresh)
