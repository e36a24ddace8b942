"""HGMem hyperedges: higher-order memory units binding three or more members.

A hyperedge is reified as a ``Hyperedge`` node with one ``MEMBER`` edge (props:
``role``) to each member, so a traversal reaches every other member from any
one in two hops. It also has ``EVIDENCED_BY`` edges to its turns (provenance,
like every derived node) and an embedding: the normalised mean of its turns'
embeddings (no model call).

Kinds
-----
``event_frame``
    One event with its participants, place and time and the turns it spans
    (roles ``event``, ``participant``, ``place``, ``time``, ``evidence``).
``entity_session_facts``
    Everything said about one entity in one session: the entity, the facts in
    which it is the subject or the object, and their turns (roles ``entity``,
    ``fact``, ``evidence``). Created only for at least ``MIN_FACTS`` facts:
    a single fact is already a node with its own subject/object/evidence edges.

Every hyperedge has at least ``MIN_MEMBERS`` distinct members (members are
counted once even if they play two roles). Node props: ``kind``,
``member_count``, ``turn_ids``, ``session`` (and ``event`` / ``entity``); the
text is a readable description for keyword search, e.g.
``"Caroline in session 3 (9 June 2023): go to support group; have kids"``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kg_memory.embed import unit_mean
from kg_memory.ingest.artifacts import EntityInfo, EventInfo, FactInfo
from kg_memory.ingest.context import IngestContext
from kg_memory.ingest.stage import settings
from kg_memory.ingest.turns import human_date

MIN_MEMBERS = 3
MIN_FACTS = 2


def _mean_unit(ctx: IngestContext, idxs: Sequence[int]) -> np.ndarray | None:
    emb = ctx.turn_embeddings
    if emb is None or len(emb) != len(ctx.turns) or not idxs:
        return None
    return unit_mean(np.asarray(emb, dtype=np.float32)[list(idxs)])


def add_hyperedge(
    ctx: IngestContext,
    hid: str,
    members: Sequence[tuple[str, str]],
    turn_indexes: Sequence[int],
    *,
    kind: str,
    text: str,
    props: dict[str, object] | None = None,
) -> bool:
    """Add one Hyperedge node with ``MEMBER`` edges to ``(node id, role)`` pairs.

    Turns in ``turn_indexes`` join as ``evidence`` members. Returns ``False``
    (and adds nothing) when fewer than :data:`MIN_MEMBERS` distinct members.
    """
    roles: dict[str, str] = {}
    for node_id, role in members:
        roles.setdefault(node_id, role)
    idxs = sorted(set(turn_indexes))
    for i in idxs:
        roles.setdefault(ctx.turns[i].id, "evidence")
    if len(roles) < MIN_MEMBERS:
        return False
    ctx.add_node(
        hid,
        "Hyperedge",
        text=text,
        props={
            "kind": kind,
            "member_count": len(roles),
            "turn_ids": [ctx.turns[i].raw.turn_id for i in idxs],
            **(props or {}),
        },
        embedding=_mean_unit(ctx, idxs),
    )
    for node_id, role in roles.items():
        ctx.add_edge(hid, "MEMBER", node_id, {"role": role})
    ctx.evidence(hid, [ctx.turns[i].id for i in idxs])
    return True


def _fact_phrase(fact: FactInfo, entity_id: str, entities: dict[str, EntityInfo]) -> str:
    """How a fact reads in the description of one of its entities.

    >>> f = FactInfo("fact:1", "e:c", "go_to", "support group", None, False, 0)
    >>> _fact_phrase(f, "e:c", {})
    'go_to support group'
    """
    neg = "not " if fact.negated else ""
    if fact.subject_id == entity_id:
        return f"{neg}{fact.predicate} {fact.object_text}".strip()
    subj = entities[fact.subject_id].name if fact.subject_id in entities else fact.subject_id
    return f"{subj} {neg}{fact.predicate} {fact.object_text}".strip()


def run(ctx: IngestContext) -> None:
    """Create the event-frame and entity-session-facts hyperedges."""
    entities: dict[str, EntityInfo] = ctx.artifacts.entities or {}
    events: list[EventInfo] = ctx.artifacts.events or []
    facts: list[FactInfo] = ctx.artifacts.facts or []
    made: list[str] = []

    # -- (a) event frames -------------------------------------------------------
    event_ids = {ev.id for ev in events}
    during: dict[str, str] = {}
    for src, etype, dst in ctx.edges:
        if etype == "DURING" and src in event_ids:
            during.setdefault(src, dst)
    for ev in events:
        if not ev.turn_indexes:
            continue
        members = [(ev.id, "event")] + [(p, "participant") for p in ev.participants]
        if ev.place_id:
            members.append((ev.place_id, "place"))
        if ev.id in during:
            members.append((during[ev.id], "time"))
        first = ctx.turns[ev.turn_indexes[0]]
        names = [entities[p].name if p in entities else p for p in ev.participants]
        place = entities[ev.place_id].name if ev.place_id and ev.place_id in entities else None
        node = ctx.nodes.get(ev.id)
        body = node.text if node is not None and node.text else ev.description
        text = (
            f"Event with {', '.join(names) or 'unknown'}{f' at {place}' if place else ''}: {body}"
        )
        hid = ctx.make_id("hyperedge", "event_frame", ev.id)
        if add_hyperedge(
            ctx,
            hid,
            members,
            ev.turn_indexes,
            kind="event_frame",
            text=text,
            props={"session": first.session.index, "event": ev.id},
        ):
            made.append(hid)

    # -- (b) facts about one entity in one session -------------------------------
    groups: dict[tuple[str, int], list[FactInfo]] = {}
    for f in facts:
        if not 0 <= f.turn_index < len(ctx.turns):
            continue
        session = ctx.turns[f.turn_index].session.index
        for eid in dict.fromkeys([f.subject_id, f.object_id]):
            if eid and eid in entities:
                groups.setdefault((eid, session), []).append(f)
    for (eid, session), group in sorted(groups.items(), key=lambda kv: kv[0]):
        if len(group) < MIN_FACTS:
            continue
        group.sort(key=lambda f: (f.turn_index, f.id))
        phrases = list(dict.fromkeys(_fact_phrase(f, eid, entities) for f in group))
        date = human_date(ctx.turns[group[0].turn_index].date)
        name = entities[eid].name
        text = f"{name} in session {session}{f' ({date})' if date else ''}: {'; '.join(phrases)}"
        hid = ctx.make_id("hyperedge", "entity_session_facts", eid, session)
        if add_hyperedge(
            ctx,
            hid,
            [(eid, "entity")] + [(f.id, "fact") for f in group if f.id in ctx.nodes],
            [f.turn_index for f in group],
            kind="entity_session_facts",
            text=text,
            props={"session": session, "entity": name, "n_facts": len(group)},
        ):
            made.append(hid)
    ctx.artifacts.hyperedges = made


def config() -> dict[str, object]:
    """The thresholds above (read when called: they are part of the ingest fingerprint)."""
    return settings(globals(), "MIN_MEMBERS MIN_FACTS")
