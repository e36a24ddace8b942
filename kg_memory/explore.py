"""Exploring one memory from Python: its graph in networkx, an entity's timeline, the
topic clusters, and the subgraph a question's evidence walked.

The notebooks under ``notebooks/`` are built on these. Everything reads through
the store contract (``mem.store``, scoped to ``mem.namespace``), so it works on
either store.

>>> import networkx as nx
>>> g = nx.MultiDiGraph()
>>> g.add_node("e1", label="Entity", text="Maya", props={"name": "Maya"})
>>> display_name(g, "e1")
'Maya'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from kg_memory.model import NODE_LABELS

if TYPE_CHECKING:
    from kg_memory.memory import Memory
    from kg_memory.retrieval.evidence import Answer

#: Edges asked for per ``neighbours`` call.
_CHUNK = 500


def open_with(source: str | Path, store_dir: str | Path) -> tuple[Memory, str]:
    """The memory stored in ``store_dir`` with ``source`` ingested into it (a no-op when it
    already holds it unchanged), and the id of ``source``'s first conversation."""
    from kg_memory.formats import load
    from kg_memory.memory import Memory

    mem = Memory.open(store_dir)
    try:
        mem.ingest([source])
    except BaseException:
        mem.close()
        raise
    return mem, load(source)[0].conversation_id


def memory_graph(mem: Memory, conversation: str | None = None) -> nx.MultiDiGraph:
    """The memory (or one conversation of it) as a networkx graph.

    A conversation's graph holds its nodes and the namespace-level ones (no
    conversation, such as entities shared across conversations) linked to them. Nodes keep ``label``, ``text``, ``conversation`` and ``props``; edges keep
    ``type`` and ``props`` (the edge key is its type).
    """
    g = nx.MultiDiGraph()
    shared: set[str] = set()  # namespace-level nodes (no conversation) seen beside one
    for label in NODE_LABELS:
        for n in mem.store.find_nodes(mem.namespace, label):
            if conversation is not None and n.conversation != conversation:
                if n.conversation is not None:
                    continue
                shared.add(n.id)
            g.add_node(
                n.id, label=n.label, text=n.text or "", conversation=n.conversation,
                props=dict(n.props),
            )  # fmt: skip
    ids = list(g.nodes)
    for i in range(0, len(ids), _CHUNK):
        for e in mem.store.neighbours(mem.namespace, ids[i : i + _CHUNK], direction="out"):
            if e.dst in g:
                g.add_edge(e.src, e.dst, key=e.type, type=e.type, props=dict(e.props))
    # a namespace-level node belongs to the conversation's graph when it touches it
    g.remove_nodes_from(
        [n for n in shared if not any(m not in shared for m in nx.all_neighbors(g, n))]
    )
    return g


def display_name(g: nx.MultiDiGraph, node: str) -> str:
    """A short readable name: an entity's name, a turn's id, ``Session 3``, ``Topic 2``, ..."""
    data = g.nodes[node]
    props, label = data.get("props", {}), data.get("label", "")
    if "name" in props:
        return str(props["name"])
    if label == "Turn" and "turn_id" in props:
        return str(props["turn_id"])
    if "index" in props:
        return f"{label} {props['index']}"
    text = str(data.get("text", ""))
    return text if len(text) <= 40 else text[:37] + "..."


def of_label(g: nx.MultiDiGraph, label: str) -> list[str]:
    """The ids of ``g``'s nodes of one label, sorted."""
    return sorted(n for n, d in g.nodes(data=True) if d.get("label") == label)


def entity_graph(g: nx.MultiDiGraph) -> nx.Graph:
    """Entities linked when a turn mentions both or a fact relates them (``weight``: how often)."""
    out = nx.Graph()
    for e in of_label(g, "Entity"):
        out.add_node(e, name=display_name(g, e))
    for turn in of_label(g, "Turn"):
        ents = sorted(
            {v for _, v, k in g.out_edges(turn, keys=True) if k == "MENTIONS" and v in out}
        )
        for i, a in enumerate(ents):
            for b in ents[i + 1 :]:
                _bump(out, a, b)
    for a, b, k in g.edges(keys=True):
        if k == "RELATED_TO" and a != b and a in out and b in out:  # entity to entity only
            _bump(out, a, b)
    return out


def _bump(graph: nx.Graph, a: str, b: str) -> None:
    w = graph.get_edge_data(a, b, {}).get("weight", 0)
    graph.add_edge(a, b, weight=w + 1)


def find_entity(g: nx.MultiDiGraph, name: str) -> str:
    """The id of the best-connected entity called ``name`` (or with that alias), any case."""
    want = name.casefold()
    found = [
        e
        for e in of_label(g, "Entity")
        if want == display_name(g, e).casefold()
        or want in {str(a).casefold() for a in g.nodes[e]["props"].get("aliases", [])}
    ]
    if not found:
        raise KeyError(f"no entity called {name!r}")
    return max(found, key=lambda e: (g.degree(e), e))


@dataclass(frozen=True, slots=True)
class TimelineItem:
    """One fact or event about an entity, placed in time."""

    kind: str  # "fact" | "event"
    id: str
    text: str
    when: date  # its own begin date, else the day it was said
    said_at: datetime | None  # the session date-time of its earliest evidence turn
    dated: bool  # whether ``when`` is the item's own date (not the day it was said)


def _said_at(g: nx.MultiDiGraph, node: str) -> datetime | None:
    times = [
        g.nodes[t]["props"].get("date_time")
        for _, t, k in g.out_edges(node, keys=True)
        if k == "EVIDENCED_BY"
    ]
    parsed = [datetime.fromisoformat(t) for t in times if t]
    return min(parsed) if parsed else None


def timeline(g: nx.MultiDiGraph, entity: str) -> list[TimelineItem]:
    """The facts (subject or object) and events (participant) of ``entity``, in time order."""
    items: list[TimelineItem] = []
    for src, _, k in g.in_edges(entity, keys=True):
        kind = {"SUBJECT": "fact", "OBJECT": "fact", "PARTICIPANT": "event"}.get(k)
        if kind is None:
            continue
        data = g.nodes[src]
        said = _said_at(g, src)
        begin = data["props"].get("begin")
        own = date.fromisoformat(begin[:10]) if begin else None
        when = own or (said.date() if said else None)
        if when is not None:
            text = data["props"].get("description") or data["text"]
            items.append(TimelineItem(kind, src, str(text), when, said, own is not None))
    unique = {(i.kind, i.id): i for i in items}
    return sorted(unique.values(), key=lambda i: (i.when, i.said_at or datetime.min, i.kind, i.id))


@dataclass(frozen=True, slots=True)
class TopicView:
    """A conversation's turns in a 2-D projection with their topic, and the BIC curve."""

    turn_ids: list[str]
    xy: np.ndarray  # (turns, 2): the first two principal components of the turn vectors
    topic: list[int]  # each turn's most likely topic (its index), 0 when it has none
    topics: list[dict[str, Any]]  # index, keywords, size, sessions of each Topic node
    bic: list[tuple[int, float]]  # (components, BIC) over a range around the chosen count
    tried: list[int]  # the counts ingest chose among
    chosen: int  # the count BIC chose among ``tried`` (= number of Topic nodes stored)


def topic_view(mem: Memory, g: nx.MultiDiGraph, counts: Sequence[int] = ()) -> TopicView:
    """The stored topics of the conversation in ``g`` over its turn vectors.

    ``counts`` adds component counts to the BIC curve beyond those ingest tried;
    the fit is the ingest's own (seeded PCA + diagonal GMM), so it is repeatable.
    """
    from sklearn.decomposition import PCA

    from kg_memory.ingest.granularity import bic_curve, topic_counts, topic_space

    turns = sorted(of_label(g, "Turn"), key=lambda t: g.nodes[t]["props"].get("position", 0))
    nodes = mem.store.get_nodes(mem.namespace, turns, with_embeddings=True)
    vec = {n.id: n.embedding for n in nodes}
    x = np.stack([np.asarray(vec[t], dtype=np.float64) for t in turns])
    topic = []
    for t in turns:
        member = [
            (d["props"].get("p", 0.0), v)
            for _, v, k, d in g.out_edges(t, keys=True, data=True)
            if k == "IN_TOPIC"
        ]
        topic.append(int(g.nodes[max(member)[1]]["props"]["index"]) if member else 0)
    topics = [
        {k: g.nodes[t]["props"].get(k) for k in ("index", "keywords", "size", "sessions")}
        for t in of_label(g, "Topic")
    ]
    tried = topic_counts(len(turns))
    curve = bic_curve(topic_space(x), sorted({*tried, *counts}))
    scores = {k: b for k, b, _ in curve}
    chosen = min(tried, key=lambda k: (scores[k], k))
    xy = PCA(n_components=2, random_state=0).fit_transform(x)
    return TopicView(
        [g.nodes[t]["props"]["turn_id"] for t in turns],
        xy,
        topic,
        sorted(topics, key=lambda t: t["index"]),
        [(k, b) for k, b, _ in curve],
        tried,
        chosen,
    )


def summaries(g: nx.MultiDiGraph) -> list[dict[str, Any]]:
    """Each session's summary: its session index, date and text, in session order."""
    out = []
    for s in of_label(g, "Summary"):
        props = g.nodes[s]["props"]
        out.append(
            {
                "session": props.get("session"),
                "date_time": props.get("date_time"),
                "text": g.nodes[s]["text"],
            }
        )
    return sorted(out, key=lambda r: (r["session"] is None, r["session"] or 0))


def walked_subgraph(g: nx.MultiDiGraph, answer: Answer) -> nx.MultiDiGraph:
    """The part of ``g`` a question's evidence stands on.

    Each evidence node (``rank`` and ``found_by`` set), the turns it rests on
    (``EVIDENCED_BY``, ``MEMBER``), consecutive turns among those (``NEXT_TURN``),
    and the entities that two or more of those turns mention.
    """
    keep: set[str] = set()
    ranked: dict[str, tuple[int, dict[str, int]]] = {}
    for rank, ev in enumerate(answer.evidence, 1):
        if ev.node_id not in g:
            continue
        keep.add(ev.node_id)
        ranked.setdefault(ev.node_id, (rank, dict(ev.found_by)))
        keep.update(
            v
            for _, v, k in g.out_edges(ev.node_id, keys=True)
            if k in ("EVIDENCED_BY", "MEMBER") and g.nodes[v]["label"] == "Turn"
        )
    turns = [n for n in keep if g.nodes[n]["label"] == "Turn"]
    mentioned: dict[str, int] = {}
    for t in turns:
        for _, v, k in g.out_edges(t, keys=True):
            if k == "MENTIONS":
                mentioned[v] = mentioned.get(v, 0) + 1
    keep.update(e for e, c in mentioned.items() if c >= 2)
    sub: nx.MultiDiGraph = g.subgraph(keep).copy()
    for node, (rank, found_by) in ranked.items():
        sub.nodes[node].update(rank=rank, found_by=found_by)
    return sub


__all__ = [
    "TimelineItem",
    "TopicView",
    "display_name",
    "entity_graph",
    "find_entity",
    "memory_graph",
    "of_label",
    "open_with",
    "summaries",
    "timeline",
    "topic_view",
    "walked_subgraph",
]
