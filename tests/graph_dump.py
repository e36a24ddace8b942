"""A namespace's whole graph as comparable data (tests of refused input and forgetting)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from kg_memory.export import iter_graph
from kg_memory.store.base import Store


def graph_dump(store: Store, namespace: str) -> dict[str, Any]:
    """Every node (with its vector) and edge of ``namespace``, keyed by id / edge key."""
    nodes, edges = iter_graph(store, namespace)
    vectors = {
        n.id: n.embedding.tobytes().hex()
        for n in store.get_nodes(namespace, [n.id for n in nodes], with_embeddings=True)
        if n.embedding is not None
    }
    return {
        "nodes": {
            n.id: [n.label, n.conversation, n.text, dict(n.props), vectors.get(n.id)] for n in nodes
        },
        "edges": {"|".join(e.key): dict(e.props) for e in edges},
    }


def dump_hash(store: Store, namespace: str) -> str:
    """A short hash of :func:`graph_dump`."""
    text = json.dumps(graph_dump(store, namespace), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (an embedded store directory)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def orphans(dump: dict[str, Any]) -> list[str]:
    """What in a :func:`graph_dump` is left behind: one line per problem (none: ``[]``).

    * an edge whose end is missing; a node (other than a Conversation) without edges;
    * a node of a conversation whose Conversation node is gone;
    * an Entity no stored Turn mentions, speaks as or addresses;
    * a ``turn_ids`` entry naming no stored turn of the node's conversation(s);
    * a shared entity whose ``conversations`` differ from those of the turns mentioning it;
    * a ``RELATED_TO`` edge between shared entities whose predicates are not those of
      the stored facts with that subject and object.
    """
    nodes, edges = dump["nodes"], dump["edges"]
    keys = [tuple(k.split("|")) for k in edges]
    found: list[str] = []
    linked: set[str] = set()
    incoming: dict[str, list[tuple[str, str]]] = {}
    for src, etype, dst in keys:
        linked.update((src, dst))
        incoming.setdefault(dst, []).append((src, etype))
        if src not in nodes or dst not in nodes:
            found.append(f"dangling edge {src} -{etype}-> {dst}")
    convs = {n[1] for n in nodes.values() if n[0] == "Conversation"}
    turns = {(n[1], n[3].get("turn_id")) for n in nodes.values() if n[0] == "Turn"}
    for nid, (label, conv, _text, props, _vec) in nodes.items():
        if label != "Conversation" and nid not in linked:
            found.append(f"{label} {nid} has no edge")
        if conv is not None and conv not in convs:
            found.append(f"{label} {nid} of conversation {conv!r}, which is gone")
        scope = [conv] if conv is not None else props.get("conversations", [])
        for tid in props.get("turn_ids") or []:
            if not any((c, tid) in turns for c in scope):
                found.append(f"{label} {nid} names turn {tid!r}, which is gone")
        if label == "Entity":
            found += _entity_problems(nid, conv, props, incoming.get(nid, []), nodes)
    found += _related_problems(nodes, edges)
    return found


def _entity_problems(
    nid: str, conv: str | None, props: dict[str, Any], into: list[tuple[str, str]], nodes: dict
) -> list[str]:
    by_turns = [
        nodes[src]
        for src, etype in into
        if etype in ("MENTIONS", "SPOKEN_BY", "ADDRESSES") and src in nodes
    ]
    if not by_turns:
        return [f"Entity {nid} ({props.get('name')}) is mentioned by no turn"]
    if conv is None and sorted({t[1] for t in by_turns}) != sorted(props.get("conversations", [])):
        return [f"Entity {nid} ({props.get('name')}) lists conversations {props['conversations']}"]
    return []


def _related_problems(nodes: dict[str, Any], edges: dict[str, Any]) -> list[str]:
    wanted: dict[tuple[str, str], set[str]] = {}
    for label, _conv, _text, props, _vec in nodes.values():
        if label == "Fact" and props.get("object_id") in nodes:
            pair = (props["subject_id"], props["object_id"])
            wanted.setdefault(pair, set()).add(props["predicate"])
    found = []
    for key, eprops in edges.items():
        src, etype, dst = key.split("|")
        shared = all(nodes.get(x, [None, "?"])[1] is None for x in (src, dst))
        said = sorted(wanted.get((src, dst), ()))
        if etype == "RELATED_TO" and shared and said != sorted(eprops.get("predicates", [])):
            found.append(f"RELATED_TO {src} -> {dst} {eprops} not what the facts say")
    return found
