"""Typed hand-offs between ingest stages: :class:`Artifacts` (``IngestContext.artifacts``).

Every artifact is one typed field of :class:`Artifacts`, ``None`` until its
producing stage ran. A stage declares the fields it reads (``inputs``) and
writes (``outputs``) by name; the pipeline checks that every input is the
output of an earlier stage (:func:`kg_memory.ingest.registry.check_order`).

======================  ===========  ========================================================
field                   producer     value
======================  ===========  ========================================================
``entities``            entities     ``dict[str, EntityInfo]`` by Entity node id
``mentions``            entities     ``list[list[Mention]]``, one list per turn (``ctx.turns``)
``speaker_ids``         entities     speaker name -> Entity node id of that speaker
``addressees``          entities     per turn, the speaker addressed (``None``: unknown)
``entity_resolver``     entities     the resolver that minted the entities (concepts added later)
``times``               time         ``list[list[TimeMention]]``, one list per turn
``facts``               triples      ``list[FactInfo]``
``events``              events       top-level ``list[EventInfo]`` in the order told
``subevents``           events       clause-level sub-events (``list[EventInfo]``)
``notes``               notes        Note node ids, in turn order
``hyperedges``          hyperedges   Hyperedge node ids
======================  ===========  ========================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kg_memory.ingest.entities.resolver import EntityResolver


@dataclass(slots=True)
class EntityInfo:
    id: str  # Entity node id
    name: str  # canonical name
    type: str  # PERSON, ORG, GPE, LOC, PRODUCT, EVENT, WORK_OF_ART, NORP, FAC, CONCEPT (noun phrase)...
    aliases: set[str] = field(default_factory=set)
    turn_indexes: set[int] = field(default_factory=set)


@dataclass(slots=True)
class Mention:
    entity_id: str
    text: str
    start: int  # char offsets in the turn's own text
    end: int
    type: str
    pronoun: bool = False  # "I"/"my"/"you" resolved to speaker/addressee


@dataclass(slots=True)
class TimeMention:
    text: str  # "last Saturday"
    start: int
    end: int
    begin: str  # ISO date (inclusive), e.g. "2023-05-06"
    end_date: str  # ISO date (inclusive)
    grain: str  # day, week, month, year, season, ...
    node_id: str  # TimeInterval node id


@dataclass(slots=True)
class FactInfo:
    id: str  # Fact node id
    subject_id: str  # Entity node id
    predicate: str  # lemmatised, e.g. "go_to", "be", "have"
    object_text: str
    object_id: str | None  # Entity node id when the object is an entity
    negated: bool
    turn_index: int
    time_node_id: str | None = None


@dataclass(slots=True)
class EventInfo:
    id: str  # Event node id
    turn_indexes: list[int]
    description: str
    participants: list[str]  # Entity node ids
    place_id: str | None
    begin: str | None  # ISO date
    end: str | None
    subjects: list[str] = field(default_factory=list)  # speakers' Entity ids it is about


@dataclass(slots=True)
class Artifacts:
    """What the stages of one conversation hand to each other (see the module docstring)."""

    entities: dict[str, EntityInfo] | None = None
    mentions: list[list[Mention]] | None = None
    speaker_ids: dict[str, str] | None = None
    addressees: list[str | None] | None = None
    entity_resolver: EntityResolver | None = None
    times: list[list[TimeMention]] | None = None
    facts: list[FactInfo] | None = None
    events: list[EventInfo] | None = None
    subevents: list[EventInfo] | None = None
    notes: list[str] | None = None
    hyperedges: list[str] | None = None


#: The artifact names a stage may declare as inputs or outputs.
ARTIFACT_KEYS: tuple[str, ...] = tuple(f.name for f in fields(Artifacts))
