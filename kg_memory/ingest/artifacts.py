"""Typed hand-offs between ingest stages (kept in ``IngestContext.artifacts``).

Keys and producers:

``"entities"``  (entities stage)  ``dict[str, EntityInfo]`` by entity node id.
``"mentions"``  (entities stage)  ``list[list[Mention]]``, one list per turn (aligned with ``ctx.turns``).
``"times"``     (time stage)      ``list[list[TimeMention]]``, one list per turn.
``"facts"``     (triples stage)   ``list[FactInfo]``.
``"events"``    (events stage)    ``list[EventInfo]`` in time order.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
