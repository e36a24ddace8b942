"""The kg-memory JSONL turn format: one JSON object (one turn) per line.

Each line follows ``schemas/turns.schema.json``::

    {"conversation": "demo", "session": 1, "session_time": "2023-05-08T13:56:00",
     "speaker": "Ana", "text": "Hi!", "turn_id": "optional", "caption": "optional"}

Turns are grouped into conversations and sessions in file order; a turn's
position within its session is its order of appearance. The default turn id
is ``S<session>:<n>`` (n 1-based). Blank lines are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kg_memory.errors import InputError
from kg_memory.formats.model import RawConversation, RawSession, RawTurn
from kg_memory.formats.strict_json import loads
from kg_memory.formats.validate import (
    check_schema,
    check_session_number,
    check_text_size,
    parse_iso,
    schema_validator,
)

#: Whitespace as JSON defines it (what a line may start or end with).
_JSON_SPACE = " \t\r\n"


@dataclass
class _Session:
    label: str
    time_raw: str
    time_iso: str
    line: int
    turns: list[RawTurn] = field(default_factory=list)


@dataclass
class _Conversation:
    sessions: dict[str, _Session] = field(default_factory=dict)
    speakers: dict[str, None] = field(default_factory=dict)  # ordered set
    turn_lines: dict[str, int] = field(default_factory=dict)  # turn id -> line


def parse_jsonl(text: str, source: str = "<string>") -> list[RawConversation]:
    """Parse JSONL text into conversations (validating everything first).

    Examples
    --------
    >>> line = ('{"conversation": "c", "session": 1, "session_time": "2023-05-08T13:56:00",'
    ...         ' "speaker": "Ana", "text": "Hi"}')
    >>> [conv] = parse_jsonl(line + "\\n" + line.replace("Ana", "Bo"))
    >>> [t.turn_id for t in conv.sessions[0].turns], conv.speakers
    (['S1:1', 'S1:2'], ('Ana', 'Bo'))
    """
    convs: dict[str, _Conversation] = {}
    for lineno, raw_line in enumerate(text.split("\n"), start=1):
        line = raw_line.strip(_JSON_SPACE)  # not str.strip(): it drops \x1f, \x85 too
        if not line:
            continue
        obj = _parse_line(line, source, lineno)
        conv = convs.setdefault(obj["conversation"], _Conversation())
        _add_turn(conv, obj, source, lineno)
    if not convs:
        raise InputError("file has no turns", path=source)
    return [_build(cid, conv, source) for cid, conv in convs.items()]


def _parse_line(line: str, source: str, lineno: int) -> dict[str, Any]:
    obj = loads(line, path=source, line=lineno)
    check_schema(schema_validator("turns"), obj, path=source, locate=lambda _p: lineno)
    check_text_size(obj["text"], path=source, line=lineno, field="text")
    if "caption" in obj:
        check_text_size(obj["caption"], path=source, line=lineno, field="caption")
    try:
        obj["_time_iso"] = parse_iso(obj["session_time"])
    except ValueError as exc:
        raise InputError(
            f"invalid ISO-8601 date-time {obj['session_time']!r}: {exc}",
            path=source,
            line=lineno,
            field="session_time",
        ) from exc
    label = _session_label(obj["session"])
    if label.isdigit():
        check_session_number(label, path=source, line=lineno, field="session")
    return dict(obj)


def _session_label(value: int | str) -> str:
    label = str(value).strip()
    return str(int(label)) if label.isdigit() else label


def _add_turn(conv: _Conversation, obj: dict[str, Any], source: str, lineno: int) -> None:
    label = _session_label(obj["session"])
    sess = conv.sessions.get(label)
    if sess is None:
        sess = _Session(label, obj["session_time"], obj["_time_iso"], lineno)
        conv.sessions[label] = sess
    elif obj["_time_iso"] != sess.time_iso:
        raise InputError(
            f"session {label} already has session_time {sess.time_raw!r} (line {sess.line}),"
            f" got {obj['session_time']!r}",
            path=source,
            line=lineno,
            field="session_time",
        )
    position = len(sess.turns)
    turn_id = obj.get("turn_id", f"S{label}:{position + 1}").strip()
    if turn_id in conv.turn_lines:
        raise InputError(
            f"duplicate turn id {turn_id!r} in conversation {obj['conversation']!r}"
            f" (first on line {conv.turn_lines[turn_id]})",
            path=source,
            line=lineno,
            field="turn_id",
        )
    conv.turn_lines[turn_id] = lineno
    speaker = obj["speaker"].strip()
    conv.speakers[speaker] = None
    sess.turns.append(RawTurn(turn_id, speaker, obj["text"], position, obj.get("caption")))


def _build(cid: str, conv: _Conversation, source: str) -> RawConversation:
    labels = list(conv.sessions)
    numbered = all(lb.isdigit() and int(lb) >= 1 for lb in labels)
    if numbered:
        order = sorted(labels, key=int)
        indices = [int(lb) for lb in order]
    else:
        order, indices = labels, list(range(1, len(labels) + 1))
    sessions = tuple(
        RawSession(
            index=idx,
            date_time=conv.sessions[lb].time_iso,
            date_time_raw=conv.sessions[lb].time_raw,
            turns=tuple(conv.sessions[lb].turns),
        )
        for idx, lb in zip(indices, order, strict=True)
    )
    return RawConversation(cid, tuple(conv.speakers), sessions, source=source)
