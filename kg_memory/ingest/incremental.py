"""Incremental add: new turns of a stored conversation run through the stages alone.

What :func:`add_turns` does for the turns added to one stored conversation
(``prior``, read by :func:`kg_memory.ingest.prior.load`):

1. **Stages on the new turns only.** The pipeline processes a conversation
   holding just the new turns (their sessions, dates, positions and the
   conversation's speakers), with ``ctx.prior`` set: the turns are embedded and
   parsed, and every per-turn stage (:attr:`StageSpec.per_turn`) runs on them.
   The ``entities`` stage resolves their mentions against the conversation's
   stored entities (the resolver is seeded with them), so "Mel" or a known
   concept is the stored node. A stage over whole sessions (``granularity``)
   updates in place instead: the touched session's summary is rebuilt and each
   new turn joins its nearest stored topic (no re-fit).
2. **Links to what is stored** (:func:`link_turns`, :func:`link_events`,
   :func:`link_notes`): ``NEXT_TURN`` from the stored turn before the first new
   one, ``NEXT_SESSION`` into a new session, ``NEXT`` from the latest stored
   event to the first new one, and ``LINKS_TO`` from each new note to earlier
   notes of the conversation whose turn vectors are close (the notes stage's
   own rule: centred cosine >= ``LINK_SIM`` and a shared entity or keyword,
   its ``TOP_K`` best).
3. **Merge with the stored nodes** (:func:`merge_stored`): a node the new
   turns produce that is already stored (an entity mentioned again, a time
   interval, a session, a hyperedge of the same entity and session) keeps its
   stored properties, gains the new values, and unions its lists (``turn_ids``,
   ``aliases``, ...). Nothing is deleted, so nothing stored is lost.

The result is written in one transaction with the other conversations of the
request (:meth:`Pipeline.write`). Turn ids already stored never reach this
module (:func:`kg_memory.append.merge_turns` leaves them out), so re-adding a
turn changes nothing. The Conversation keeps the fingerprint of the whole
conversation (re-ingesting the same turns whole is skipped) and counts the
turns added this way in ``incremental_turns``; ``kg-memory ingest --force``
re-processes it whole, and so does the first add of a new session
(:func:`kg_memory.append.consolidates`), which resets the count.

What differs from a whole ingest: conversation-wide statistics (tf-idf
keywords of notes, topic words, the concept and lower-case counts of the
entities stage, the event segmentation across the add boundary) see only the
new turns; stored notes do not evolve and new notes get no links to other
conversations. ``kg-memory bench serve`` measures what this costs in recall
(turn-by-turn against whole ingest of a LoCoMo conversation).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from kg_memory.formats.model import RawConversation, RawSession
from kg_memory.ingest import notes as notes_stage
from kg_memory.ingest.context import IngestContext
from kg_memory.ingest.events import order
from kg_memory.ingest.events.steps import place
from kg_memory.ingest.prior import StoredConversation
from kg_memory.ingest.shared import centred, centring_mean, speaker_entities
from kg_memory.model import Node

if TYPE_CHECKING:
    from kg_memory.ingest.pipeline import IngestReport, Pipeline

#: Properties whose stored and new lists are united when a node is merged.
LIST_PROPS = frozenset({"turn_ids", "aliases", "conversations", "sessions", "speakers"})
#: Labels whose new node replaces the stored one (its stage rebuilt it from all its turns).
REPLACED = frozenset({"Summary", "Topic", "Conversation", "Session"})
#: Stored notes a new note is compared with in full (the nearest by centred cosine).
NOTE_CANDIDATES = 24


def delta_conversation(merged: RawConversation, added: Iterable[str]) -> RawConversation:
    """``merged`` restricted to the turns ``added`` (their sessions and positions kept)."""
    keep = set(added)
    sessions = []
    for s in merged.sessions:
        turns = tuple(t for t in s.turns if t.turn_id in keep)
        if turns:
            sessions.append(RawSession(s.index, s.date_time, s.date_time_raw, turns))
    return RawConversation(merged.conversation_id, merged.speakers, tuple(sessions), merged.source)


def add_turns(
    pipe: Pipeline,
    prior: StoredConversation,
    merged: RawConversation,
    added: Iterable[str],
    report: IngestReport,
    fingerprint: str,
) -> IngestContext:
    """Process the turns ``added`` to ``prior`` (``merged``: the whole conversation after)."""
    ctx = pipe.process_added(delta_conversation(merged, added), report, prior)
    link_turns(ctx, prior, merged)
    link_events(ctx, prior)
    link_notes(ctx, prior)
    node = ctx.nodes[ctx.conversation_node_id]
    ctx.add_node(
        ctx.conversation_node_id,
        "Conversation",
        props={
            **prior.node.props,
            **node.props,
            "source": prior.node.props.get("source", node.props.get("source")),
            "n_sessions": len(merged.sessions),
            "n_turns": merged.n_turns,
            "fingerprint": fingerprint,
            "stages": list(pipe.stages),
            "incremental_turns": int(prior.node.props.get("incremental_turns", 0)) + len(ctx.turns),
        },
    )
    merge_stored(ctx)
    return ctx


def written(
    prior: StoredConversation, merged: RawConversation, ctx: IngestContext
) -> StoredConversation:
    """The stored conversation after ``ctx`` (an add to ``prior``) was written."""
    turns = prior.turns + [n for n in ctx.nodes.values() if n.label == "Turn"]
    turns.sort(key=lambda n: (int(n.props["session"]), int(n.props["position"])))
    return StoredConversation(ctx.nodes[ctx.conversation_node_id], merged, turns)


def link_turns(ctx: IngestContext, prior: StoredConversation, merged: RawConversation) -> None:
    """``NEXT_TURN`` and ``NEXT_SESSION`` into the new turns; sessions' turn counts."""
    sizes = {s.index: len(s.turns) for s in merged.sessions}
    stored_sessions = sorted(s.index for s in prior.conversation.sessions if s.turns)
    for session in ctx.conversation.sessions:
        sid = ctx.make_id("session", session.index)
        node = ctx.nodes[sid]
        ctx.add_node(sid, "Session", props={**node.props, "n_turns": sizes[session.index]})
        if session.index not in stored_sessions:
            before = [i for i in stored_sessions if i < session.index]
            if before:
                ctx.add_edge(ctx.make_id("session", before[-1]), "NEXT_SESSION", sid)
    first = ctx.turns[0]
    prev = prior.last_turn_before(first.session.index, first.raw.position)
    if prev is not None:
        ctx.add_edge(prev.id, "NEXT_TURN", first.id)


def link_events(ctx: IngestContext, prior: StoredConversation) -> None:
    """``NEXT`` between the stored events and the new ones, on each speaker's time line.

    The rule of a whole ingest (:mod:`kg_memory.ingest.events.order`) over the
    stored segment events and the new events together; only edges touching a new
    event are added (the stored ones between stored events stay as they are).
    """
    events = ctx.artifacts.events or []
    if not events:
        return
    speakers = speaker_entities(ctx)
    names = {v: k for k, v in speakers.items()}
    told = {str(n.props["turn_id"]): _place(n) for n in prior.turns}
    days = [(s.date_time or "")[:10] or None for s in prior.conversation.sessions]
    days += [(s.date_time or "")[:10] or None for s in ctx.conversation.sessions]
    nodes: list[Node] = [ctx.nodes[ev.id] for ev in events]
    placed = []
    for k, ev in enumerate(events):
        first = ctx.turns[ev.turn_indexes[0]]
        placed.append(
            place(nodes[k].props, k, (first.session.index, first.raw.position), ev.subjects, days)
        )
    for node in ctx.store.find_nodes(ctx.namespace, "Event", conversation=ctx.cid):
        tids = [t for t in node.props.get("turn_ids") or () if t in told]
        if node.props.get("kind") != "segment" or not tids or node.id in ctx.nodes:
            continue
        subjects = [speakers[n] for n in node.props.get("subjects") or () if n in speakers]
        placed.append(place(node.props, len(nodes), told[tids[0]], subjects, days))
        nodes.append(node)
    for a, b, person in order.next_pairs([p for p in placed if p is not None]):
        if a.index >= len(events) and b.index >= len(events):
            continue
        props = {
            "same_session": a.told[0] == b.told[0],
            "by": "time" if a.timed or b.timed else "conversation",
            "subject": names[person],
        }
        ctx.add_edge(nodes[a.index].id, "NEXT", nodes[b.index].id, props)


def _place(node: Node) -> tuple[int, int]:
    return int(node.props["session"]), int(node.props["position"])


def link_notes(ctx: IngestContext, prior: StoredConversation) -> None:
    """``LINKS_TO`` from each new note to the conversation's earlier notes (the notes rule)."""
    new = [n for n in ctx.nodes.values() if n.label == "Note"]
    if not new or ctx.turn_embeddings is None or not prior.turns:
        return
    x_old = prior.matrix(ctx.turn_embeddings.shape[1])
    mean = centring_mean(x_old)
    old_unit = centred(x_old, mean)
    by_source = ctx.turn_by_source_id()
    new_rows = [by_source[n.props["turn_ids"][0]].index for n in new]
    sims = centred(np.asarray(ctx.turn_embeddings, dtype=np.float32)[new_rows], mean) @ old_unit.T
    stored_notes: dict[str, Node] = {}
    for a, note in enumerate(new):
        rec = by_source[note.props["turn_ids"][0]]
        near = np.argsort(-sims[a], kind="stable")[:NOTE_CANDIDATES]
        cands = [int(j) for j in near if sims[a, j] >= notes_stage.LINK_SIM]
        want = [ctx.make_id("note", prior.turns[j].props["turn_id"]) for j in cands]
        missing = [i for i in want if i not in stored_notes]
        stored_notes.update({n.id: n for n in ctx.store.get_nodes(ctx.namespace, missing)})
        scored = []
        for j, nid in zip(cands, want, strict=True):
            old = stored_notes.get(nid)
            p = prior.turns[j].props
            if old is None or (
                int(p["session"]) == rec.session.index
                and abs(int(p["position"]) - rec.raw.position) < notes_stage.NEAR
            ):
                continue
            shared = sorted(set(note.props["entities"]) & set(old.props.get("entities") or ()))
            common = sorted(set(note.props["keywords"]) & set(old.props.get("keywords") or ()))
            if shared or common:
                s = float(sims[a, j])
                bonus = notes_stage.SHARED_BONUS * (len(shared) + min(3, len(common)))
                scored.append((-(s + bonus), nid, s, shared, common))
        for _, nid, s, shared, common in sorted(scored)[: notes_stage.TOP_K]:
            names = _entity_names(ctx, shared)
            props = {
                "similarity": round(s, 4),
                "shared_entities": names,
                "shared_words": common,
                "scope": "conversation",
            }
            ctx.add_edge(note.id, "LINKS_TO", nid, props)


def _entity_names(ctx: IngestContext, ids: list[str]) -> list[str]:
    entities = ctx.artifacts.entities or {}
    return [entities[e].name for e in ids if e in entities]


def merge_stored(ctx: IngestContext) -> None:
    """Merge every node of ``ctx`` that is already stored with the stored one (see module doc)."""
    ids = [i for i, n in ctx.nodes.items() if n.label not in REPLACED]
    for old in ctx.store.get_nodes(ctx.namespace, ids, with_embeddings=True):
        new = ctx.nodes[old.id]
        props: dict[str, Any] = {**old.props, **new.props}
        for key in LIST_PROPS & old.props.keys() & new.props.keys():
            props[key] = _union(old.props[key], new.props[key])
        text = new.text if new.label == "Entity" or not old.text else old.text
        embedding = new.embedding if new.embedding is not None else old.embedding
        ctx.add_node(
            old.id,
            new.label,
            text=text,
            props=props,
            embedding=embedding,
            conversation=new.conversation or False,
        )


def _union(old: Any, new: Any) -> Any:
    """Stored list plus the new values it lacks (sorted again if both were sorted).

    >>> _union(["a", "c"], ["b", "c"])
    ['a', 'b', 'c']
    >>> _union(["z", "a"], ["b"])
    ['z', 'a', 'b']
    """
    if not isinstance(old, list) or not isinstance(new, list):
        return new
    out = old + [v for v in new if v not in old]
    try:
        if old == sorted(old) and new == sorted(new):
            return sorted(out)
    except TypeError:
        pass
    return out
