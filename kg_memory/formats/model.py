"""Parsed input: conversations, sessions and turns, independent of the file format."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath, PureWindowsPath
from typing import Any


@dataclass(frozen=True, slots=True)
class RawTurn:
    """One utterance. ``turn_id`` is the source id (LoCoMo ``D3:12``) or generated."""

    turn_id: str
    speaker: str
    text: str
    position: int  # 0-based position within its session
    caption: str | None = None  # caption of a shared photo (LoCoMo ``blip_caption``)


@dataclass(frozen=True, slots=True)
class RawSession:
    index: int  # 1-based session number
    date_time: str | None  # ISO-8601 (``2023-05-08T13:56:00``), None if unknown
    date_time_raw: str | None  # as written in the source
    turns: tuple[RawTurn, ...]


@dataclass(frozen=True, slots=True)
class RawConversation:
    conversation_id: str
    speakers: tuple[str, ...]
    sessions: tuple[RawSession, ...]
    source: str = ""  # file path it came from
    questions: tuple[RawQuestion, ...] = field(default=(), compare=False)

    @property
    def n_turns(self) -> int:
        return sum(len(s.turns) for s in self.sessions)


@dataclass(frozen=True, slots=True)
class RawQuestion:
    """A benchmark question (LoCoMo ``qa``). Never ingested; used by the bench only."""

    question: str
    answer: str | None
    evidence: tuple[str, ...]
    category: int
    malformed_evidence: int = 0  # evidence entries that could not be parsed


def public_source(value: str) -> str:
    """A conversation's ``source`` without its local directory: the file name only
    (what the store keeps and every export shows; a path would leak the user's disk).

    >>> public_source("/home/ann/data/conv-26.json"), public_source("turns")
    ('conv-26.json', 'turns')
    >>> public_source("C:\\\\Users\\\\ann\\\\conv-26.json")
    'conv-26.json'
    """
    return PureWindowsPath(PurePath(value).name).name


def jsonl_turns(conv: RawConversation) -> list[dict[str, Any]]:
    """A conversation as JSONL turn objects (``schemas/turns.schema.json``), in order; a
    session without a date is sent as 1970-01-01 (the turn format needs one)."""
    out: list[dict[str, Any]] = []
    for s in conv.sessions:
        for t in s.turns:
            obj: dict[str, Any] = {
                "conversation": conv.conversation_id,
                "session": s.index,
                "session_time": s.date_time or "1970-01-01",
                "speaker": t.speaker,
                "text": t.text,
                "turn_id": t.turn_id,
            }
            if t.caption:
                obj["caption"] = t.caption
            out.append(obj)
    return out
