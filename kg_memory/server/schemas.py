"""Request and response bodies of the HTTP API (they also document it at ``/docs``).

Turns are not modelled field by field here: ``turns`` items are checked by
the project's JSONL turn validator (``schemas/turns.schema.json``), so HTTP,
MCP and ``.jsonl`` files accept exactly the same turns with the same error
messages. The schema is shown in the OpenAPI document all the same.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from kg_memory.forget import ForgetTarget
from kg_memory.resources import resource_dir
from kg_memory.retrieval.evidence import Evidence


@cache
def turn_schema() -> dict[str, Any]:
    """``schemas/turns.schema.json`` without its ``$schema``/``$id`` keys."""
    schema = json.loads((resource_dir("schemas") / "turns.schema.json").read_text("utf-8"))
    return {k: v for k, v in schema.items() if not k.startswith("$")}


Turns = Annotated[
    list[Any],
    WithJsonSchema({"type": "array", "minItems": 1, "items": turn_schema()}),
    Field(description="Turns in the JSONL turn format (schemas/turns.schema.json)."),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RememberRequest(_Body):
    turns: Turns


class RecallRequest(_Body):
    question: str = Field(min_length=1, description="The question.")
    k: int = Field(10, ge=1, le=100, description="How many evidence items.")
    conversation: str | None = Field(None, description="Only this conversation.")
    speaker: str | None = Field(None, description="Only evidence from turns of this speaker.")
    since: str | None = Field(None, description="ISO date or date-time; sessions from then on.")
    until: str | None = Field(None, description="ISO date or date-time; a date includes the day.")
    explain: bool = Field(
        False, description="Trace the features behind each evidence item's score (slower)."
    )


class ForgetRequest(_Body):
    conversation: str = Field(min_length=1)
    turn_id: str | None = Field(
        None, description="Only this turn (and what was derived only from it)."
    )
    session: int | None = Field(
        None, ge=1, description="Only this session (and what was derived only from it)."
    )

    def target(self) -> ForgetTarget:
        """The request as the service takes it (an :class:`~kg_memory.errors.InputError`
        if it names both a session and a turn)."""
        return ForgetTarget(self.conversation, self.session, self.turn_id)


class CypherRequest(_Body):
    query: str = Field(min_length=1, description="Read-only Cypher; $namespace is bound.")
    params: dict[str, Any] | None = None


class Answer(BaseModel):
    """The same object as ``kg-memory ask --json`` (its evidence: the library's dataclass)."""

    question: str
    evidence: list[Evidence]
    trace: list[str]
    seconds: float


class Remembered(BaseModel):
    namespace: str
    conversations: list[str]
    added: int
    unchanged: int
    added_turns: list[str]
    unchanged_turns: list[str]
    #: conversations re-processed whole by this add (its turns opened a new session)
    consolidated: list[str] = []
    seconds: float


class Forgotten(BaseModel):
    namespace: str
    conversation: str
    deleted_nodes: int | None = None
    turn_id: str | None = None
    session: int | None = None
    turns_left: int | None = None


class StatsOut(BaseModel):
    namespace: str
    nodes: dict[str, int]
    edges: dict[str, int]
    total_nodes: int
    total_edges: int


class Conversations(BaseModel):
    namespace: str
    conversations: list[str]


class CypherOut(BaseModel):
    namespace: str
    rows: list[dict[str, Any]]


class ErrorOut(BaseModel):
    error: str = Field(description="Error class, e.g. InputError, AuthError.")
    message: str
    field: str | None = Field(None, description="The offending field, if known.")
    where: str | None = Field(None, description="e.g. turns[2].")
