"""The graph an export holds, read through the Store contract, and what every format shares.

:func:`iter_graph` reads one namespace whole (nodes by label then id, edges by
key), so every format is written from the same, deterministically ordered data.
:func:`display_name` is a node's readable name (GraphML ``label``, RDF
``rdfs:label``); :func:`public_source` strips a local path to its file name.
"""

from __future__ import annotations

from typing import Any

from kg_memory.formats.model import public_source
from kg_memory.model import NODE_LABELS, Edge, Node
from kg_memory.store.base import Store

#: Longest readable name, in characters (longer texts are cut with an ellipsis).
NAME_CHARS = 60


def iter_graph(
    store: Store, namespace: str, *, with_embeddings: bool = False
) -> tuple[list[Node], list[Edge]]:
    """Every node and edge of a namespace (nodes by label then id, edges by key)."""
    nodes: list[Node] = []
    for label in NODE_LABELS:
        nodes.extend(store.find_nodes(namespace, label, with_embeddings=with_embeddings))
    edges: dict[tuple[str, str, str], Edge] = {}
    ids = [n.id for n in nodes]
    for i in range(0, len(ids), 500):
        for e in store.neighbours(namespace, ids[i : i + 500], direction="out"):
            edges[e.key] = e
    return nodes, [edges[k] for k in sorted(edges)]


def public_props(node: Node) -> dict[str, Any]:
    """``node.props`` as an export shows them: a Conversation's source without its path."""
    props = dict(node.props)
    if node.label == "Conversation" and isinstance(props.get("source"), str):
        props["source"] = public_source(props["source"])
    return props


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= NAME_CHARS else text[: NAME_CHARS - 1].rstrip() + "…"


def _name_parts(node: Node) -> str | None:
    p = node.props
    if node.label == "Conversation":
        return str(p.get("conversation_id") or node.conversation or "")
    if node.label == "Session":
        return f"{node.conversation} session {p.get('index')} ({p.get('date_time', '?')})"
    if node.label == "Turn":
        return f"{p.get('turn_id')} {p.get('speaker')}: {p.get('utterance', '')}"
    if node.label == "Entity":
        return str(p.get("name") or "")
    if node.label == "Fact":
        return f"{p.get('subject')} {p.get('predicate')} {p.get('object')}"
    if node.label == "TimeInterval":
        return f"{p.get('expression')} [{p.get('begin')}, {p.get('end')}]"
    if node.label in ("Event", "Note"):
        return str(p.get("description") or p.get("content") or "")
    if node.label == "NoteRevision":
        return f"revision {p.get('revision')} of a note ({p.get('cause_turn_id')})"
    if node.label == "Hyperedge":
        return f"{p.get('kind')} in session {p.get('session')}"
    if node.label == "Summary":
        return f"summary of session {p.get('session')}"
    if node.label == "Topic":
        return "topic: " + ", ".join(str(k) for k in (p.get("keywords") or [])[:4])
    return None


def display_name(node: Node) -> str:
    """A short readable name for ``node`` (what Gephi and yEd show as its label).

    >>> display_name(Node("entity:1", "Entity", "ns", props={"name": "Caroline"}))
    'Caroline'
    >>> display_name(Node("x:1", "Turn", "ns", props={"turn_id": "D1:3", "speaker": "Mel",
    ...                                                "utterance": "Hi!"}))
    'D1:3 Mel: Hi!'
    """
    name = _name_parts(node)
    if not name or not name.strip():
        name = node.text or node.id
    return _cut(name)
