"""Ranked evidence with provenance, and the trace of how it was found."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class Evidence:
    """One ranked piece of evidence.

    ``turn_ids`` are the source turn ids (``D3:12``) the evidence rests on;
    ``found_by`` maps each retriever that found it to its rank there (1-based).
    """

    node_id: str
    kind: str  # node label: Turn, Event, Note, Fact, ...
    text: str
    turn_ids: list[str]
    score: float
    conversation: str | None = None
    session_date: str | None = None
    speaker: str | None = None
    found_by: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Answer:
    """What :meth:`kg_memory.Memory.ask` returns."""

    question: str
    evidence: list[Evidence]
    trace: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: the router weight of each ranking the search fused (``event.bm25``, ...), for the
    #: learned ranker's features; not part of :meth:`as_dict`
    router_weights: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Every field but ``router_weights`` (the ranker's, not the caller's), as JSON data."""
        out = asdict(self)
        del out["router_weights"]
        out["seconds"] = round(self.seconds, 4)
        return out
