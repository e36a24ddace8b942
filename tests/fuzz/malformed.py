"""Hypothesis strategies of malformed input files: each example must be refused.

A valid file (the demo conversation's first turns as JSONL, or the same turns
as a LoCoMo conversation) is broken by one mutation chosen so that the result
is invalid by construction, with valid odd Unicode (accents, right-to-left
text, emoji, combining marks) mixed into its texts:

* a field of the wrong type, a required field missing, an empty value;
* a string holding a lone surrogate or a control character (``NUL``, ``\\x1f``);
* an id or speaker name over ``MAX_NAME_CHARS``, a text over ``MAX_TURN_BYTES``;
* arrays or objects nested deeper than ``MAX_DEPTH``;
* a duplicate turn id, a duplicate key, an unknown field (JSONL);
* a bad date-time, a session number out of range;
* the file's bytes truncated, or broken by a raw control character or
  invalid UTF-8.

:func:`malformed_files` draws ``(format, file name, bytes, what)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from kg_memory.formats.strict_json import MAX_DEPTH
from kg_memory.formats.validate import MAX_NAME_CHARS, MAX_SESSION, MAX_TURN_BYTES

DEMO = Path(__file__).resolve().parents[2] / "ingest" / "samples" / "demo.jsonl"
#: The stored conversation the files claim to be (a write would change the store).
CONVERSATION = "demo"

ODD = ["Zürich", "שלום", "مرحبا", "東京", "🙂👍🏽", "e\u0301", "\u200f", "\ufeff", "\U0001f600"]
BAD_CHARS = ["\x00", "\x1f", "\x01", "\x0b", "\x7f", "\x85", "\ud800", "\udfff", "\udc80"]
WRONG_VALUES: list[Any] = [0, -1, 3.5, True, False, None, [], ["x"], {}, {"a": 1}]


def _base_turns() -> list[dict[str, Any]]:
    lines = DEMO.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[:4]]


@st.composite
def _odd_turns(draw: st.DrawFn) -> list[dict[str, Any]]:
    """The base turns, some texts with valid odd Unicode added."""
    turns = _base_turns()
    for t in turns:
        if draw(st.booleans()):
            t["text"] = t["text"] + " " + draw(st.sampled_from(ODD))
    return turns


def _locomo(turns: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "sample_id": CONVERSATION,
        "conversation": {
            "speaker_a": turns[0]["speaker"],
            "speaker_b": turns[1]["speaker"],
            "session_1_date_time": "6:30 pm on 9 March, 2024",
            "session_1": [
                {"speaker": t["speaker"], "dia_id": f"D1:{i + 1}", "text": t["text"]}
                for i, t in enumerate(turns)
            ],
        },
    }


# -- mutations of the parsed document: (what, function(doc, draw)) -------------
JSONL_STR_FIELDS = ["conversation", "speaker", "text", "session_time", "turn_id"]
LOCOMO_TURN_FIELDS = ["speaker", "dia_id", "text"]
#: the mutation kinds both formats share (JSONL also gets "unknown field" before the time kinds)
COMMON_KINDS = [
    "wrong type",
    "missing field",
    "empty value",
    "bad character",
    "huge name",
    "huge text",
    "deep nesting",
    "duplicate turn id",
]
TIME_KINDS = ["bad date-time", "session out of range"]


@st.composite
def _jsonl_mutation(draw: st.DrawFn, turns: list[dict[str, Any]]) -> str:
    i = draw(st.integers(0, len(turns) - 1))
    t = turns[i]
    kind = draw(st.sampled_from([*COMMON_KINDS, "unknown field", *TIME_KINDS]))
    if kind == "wrong type":
        name = draw(st.sampled_from(["conversation", "session", "speaker", "text", "session_time"]))
        wrong = [v for v in WRONG_VALUES if not (name == "session" and type(v) is int and v >= 1)]
        t[name] = draw(st.sampled_from(wrong))
    elif kind == "missing field":
        del t[draw(st.sampled_from(["conversation", "session", "session_time", "speaker", "text"]))]
    elif kind == "empty value":
        t[draw(st.sampled_from(["conversation", "speaker", "text"]))] = draw(
            st.sampled_from(["", " ", "\t\n", "\u3000"])
        )
    elif kind == "bad character":
        name = draw(st.sampled_from(JSONL_STR_FIELDS))
        value = str(t.get(name, "D1:1"))
        at = draw(st.integers(0, len(value)))
        t[name] = value[:at] + draw(st.sampled_from(BAD_CHARS)) + value[at:]
    elif kind == "huge name":
        name = draw(st.sampled_from(["conversation", "speaker", "turn_id", "session"]))
        t[name] = "N" * draw(st.integers(MAX_NAME_CHARS + 1, 200_000))
    elif kind == "huge text":
        t[draw(st.sampled_from(["text", "caption"]))] = "é" * (MAX_TURN_BYTES // 2 + 1)
    elif kind == "deep nesting":
        depth = draw(st.integers(MAX_DEPTH + 1, 3000))
        t[draw(st.sampled_from(["text", "extra", "session"]))] = _nested(depth, draw)
    elif kind == "duplicate turn id":
        j = draw(st.integers(0, len(turns) - 1).filter(lambda j: j != i))
        t["turn_id"] = turns[j]["turn_id"] = draw(st.sampled_from(["S1:1", "a", "D1:3", "✓"]))
    elif kind == "unknown field":
        t[draw(st.sampled_from(["speker", "Text", "id", "ǝ"]))] = "x"
    elif kind == "bad date-time":
        t["session_time"] = draw(
            st.sampled_from(["2024-02-30", "yesterday", "2024-13-01T00:00", "9 March 2024"])
        )
        for other in turns:  # the whole session, so that only the date is wrong
            other["session_time"] = t["session_time"]
    else:
        t["session"] = draw(st.sampled_from([0, -3, MAX_SESSION + 1, "0", "9" * 30, 10**40]))
    return kind


@st.composite
def _locomo_mutation(draw: st.DrawFn, doc: dict[str, Any]) -> str:
    conv = doc["conversation"]
    turns = conv["session_1"]
    i = draw(st.integers(0, len(turns) - 1))
    t = turns[i]
    kind = draw(st.sampled_from([*COMMON_KINDS, *TIME_KINDS]))
    if kind == "wrong type":
        where = draw(st.sampled_from(["turn", "speaker_a", "session", "sample_id"]))
        value = draw(st.sampled_from(WRONG_VALUES))
        if where == "turn":
            t[draw(st.sampled_from(LOCOMO_TURN_FIELDS))] = value
        elif where == "speaker_a":
            conv["speaker_a"] = value
        elif where == "session":
            conv["session_1"] = draw(st.sampled_from([0, "turns", None, {"a": 1}, [1, 2]]))
        else:
            doc["sample_id"] = draw(st.sampled_from([0, 1.5, None, [], {}, ""]))
    elif kind == "missing field":
        target = draw(st.sampled_from(["turn", "speaker_b", "session_1"]))
        if target == "turn":
            del t[draw(st.sampled_from(LOCOMO_TURN_FIELDS))]
        else:
            del conv[target]
    elif kind == "empty value":
        t[draw(st.sampled_from(LOCOMO_TURN_FIELDS))] = draw(st.sampled_from(["", "  ", "\n"]))
    elif kind == "bad character":
        holder, name = draw(
            st.sampled_from(
                [
                    (t, "text"),
                    (t, "speaker"),
                    (t, "dia_id"),
                    (conv, "speaker_a"),
                    (doc, "sample_id"),
                ]
            )
        )
        value = holder[name]
        at = draw(st.integers(0, len(value)))
        holder[name] = value[:at] + draw(st.sampled_from(BAD_CHARS)) + value[at:]
    elif kind == "huge name":
        holder, name = draw(
            st.sampled_from(
                [(t, "speaker"), (t, "dia_id"), (conv, "speaker_b"), (doc, "sample_id")]
            )
        )
        holder[name] = "N" * draw(st.integers(MAX_NAME_CHARS + 1, 200_000))
    elif kind == "huge text":
        t[draw(st.sampled_from(["text", "blip_caption"]))] = "ü" * (MAX_TURN_BYTES // 2 + 1)
    elif kind == "deep nesting":
        depth = draw(st.integers(MAX_DEPTH + 1, 3000))
        holder, name = draw(st.sampled_from([(t, "text"), (t, "img_url"), (conv, "session_2")]))
        holder[name] = _nested(depth, draw)
    elif kind == "duplicate turn id":
        j = draw(st.integers(0, len(turns) - 1).filter(lambda j: j != i))
        t["dia_id"] = turns[j]["dia_id"]
    elif kind == "bad date-time":
        conv["session_1_date_time"] = draw(
            st.sampled_from(["31 February 2024", "13:99 pm on 9 March, 2024", "soon", "\u3000x"])
        )
    else:
        conv[
            draw(
                st.sampled_from(["session_0", f"session_{MAX_SESSION + 1}", "session_" + "7" * 25])
            )
        ] = [{"speaker": "Maya", "dia_id": "D9:1", "text": "hi"}]
    return kind


def _nested(depth: int, draw: st.DrawFn) -> str:
    """A placeholder that :func:`_expand` replaces by ``depth`` nested arrays or objects
    (``json.dumps`` itself would recurse too deep)."""
    return f"@@nest:{depth}:{int(draw(st.booleans()))}@@"


def _expand(text: str) -> str:
    start = text.find('"@@nest:')
    if start < 0:
        return text
    end = text.index('@@"', start) + 3
    depth, as_object = (int(x) for x in text[start + 8 : end - 3].split(":"))
    opener, closer = ('{"k": ', "}") if as_object else ("[", "]")
    return text[:start] + opener * depth + '"x"' + closer * depth + text[end:]


# -- mutations of the bytes -------------------------------------------------------
@st.composite
def _byte_mutation(draw: st.DrawFn, data: bytes, fmt: str) -> tuple[bytes, str]:
    kind = draw(
        st.sampled_from(["truncated", "raw control byte", "invalid UTF-8", "duplicate key"])
    )
    if kind == "truncated":
        if fmt == "jsonl":  # cut inside one line, so that line is a proper prefix
            lines = data.split(b"\n")
            k = draw(st.integers(0, len(lines) - 1))
            cut = draw(st.integers(1, len(lines[k]) - 1))
            return b"\n".join([*lines[:k], lines[k][:cut]]), kind
        return data[: draw(st.integers(1, len(data) - 1))], kind
    if kind == "duplicate key":
        key = b'"speaker": ' if fmt == "jsonl" else b'"dia_id": '
        at = data.index(key)
        return data[:at] + key + b'"X", ' + data[at:], kind
    at = draw(st.integers(0, len(data)))
    if kind == "raw control byte":
        junk = draw(st.sampled_from([b"\x00", b"\x1f", b"\x01", b"\x7f", b"\xc2\x85"]))
    else:
        junk = draw(st.sampled_from([b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\x80", b"\xe2\x82"]))
    return data[:at] + junk + data[at:], kind


def _dump_jsonl(turns: list[dict[str, Any]], draw: st.DrawFn) -> bytes:
    ascii_only = draw(st.booleans())
    lines = [_expand(json.dumps(t, ensure_ascii=ascii_only)) for t in turns]
    return "\n".join(lines).encode("utf-8", "surrogatepass")


@st.composite
def malformed_files(draw: st.DrawFn) -> tuple[str, str, bytes, str]:
    """``(format, file name, content, what was broken)`` of an invalid input file."""
    fmt = draw(st.sampled_from(["jsonl", "locomo"]))
    turns = draw(_odd_turns())
    for n, t in enumerate(turns, 1):
        t["turn_id"] = f"S1:{n}"
    if fmt == "jsonl":
        name = draw(st.sampled_from(["in.jsonl", "in.ndjson", "turns.jsonl"]))
        if draw(st.integers(0, 3)) == 0:
            data = _dump_jsonl(turns, draw)
            data, what = draw(_byte_mutation(data, fmt))
        else:
            what = draw(_jsonl_mutation(turns))
            data = _dump_jsonl(turns, draw)
        return fmt, name, data, what
    doc = _locomo(turns)
    name = draw(st.sampled_from(["conv.json", "demo.json"]))
    if draw(st.integers(0, 3)) == 0:
        data = json.dumps(doc, ensure_ascii=draw(st.booleans()), indent=1).encode()
        data, what = draw(_byte_mutation(data, fmt))
    else:
        what = draw(_locomo_mutation(doc))
        indent = draw(st.sampled_from([None, 1]))
        text = _expand(json.dumps(doc, ensure_ascii=draw(st.booleans()), indent=indent))
        data = text.encode("utf-8", "surrogatepass")
    return fmt, name, data, what
