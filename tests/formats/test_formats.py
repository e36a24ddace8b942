"""Input formats: LoCoMo, JSONL, detection and strict validation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from kg_memory.errors import ConfigError, InputError
from kg_memory.formats import FORMATS, MAX_TURN_BYTES, detect_format, load
from kg_memory.formats.locomo import parse_locomo_datetime, repair_evidence
from kg_memory.formats.model import RawConversation
from kg_memory.resources import resource_dir

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "ingest" / "samples"
BAD = SAMPLES / "bad"
TURN = {
    "conversation": "c",
    "session": 1,
    "session_time": "2024-03-09T18:30:00",
    "speaker": "Ana",
    "text": "Hello.",
}


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def mini_conversation() -> dict[str, Any]:
    doc = json.loads((SAMPLES / "locomo-mini.json").read_text(encoding="utf-8"))
    return dict(doc["conversation"])


def raises_input_error(path: Path, *parts: str, fmt: str | None = None) -> InputError:
    with pytest.raises(InputError) as info:
        load(path, fmt)
    message = str(info.value)
    assert path.name in message
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"
    return info.value


# --- LoCoMo ------------------------------------------------------------------


def test_locomo_dev_conversations(locomo_dir: Path) -> None:
    files = sorted(locomo_dir.glob("conv-*.json"))
    assert files
    malformed = {}
    for f in files:
        raw = json.loads(f.read_text(encoding="utf-8"))
        [conv] = load(f)
        assert detect_format(f) == "locomo"
        assert conv.conversation_id == f.stem
        assert conv.speakers == (raw["speaker_a"], raw["speaker_b"])
        n_sessions = len([k for k in raw if re.fullmatch(r"session_\d+", k)])
        assert len(conv.sessions) == n_sessions >= 10
        assert [s.index for s in conv.sessions] == sorted(s.index for s in conv.sessions)
        assert conv.n_turns == sum(len(raw[f"session_{s.index}"]) for s in conv.sessions) > 300
        for s in conv.sessions:
            assert s.date_time is not None
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00", s.date_time)
            assert s.date_time_raw == raw[f"session_{s.index}_date_time"]
            assert [t.position for t in s.turns] == list(range(len(s.turns)))
            assert all(t.turn_id.startswith(f"D{s.index}:") for t in s.turns)
        dates = [s.date_time for s in conv.sessions]
        assert dates == sorted(dates)  # type: ignore[type-var]
        assert len(conv.questions) == len(raw["qa"])
        assert {q.category for q in conv.questions} <= {1, 2, 3, 4, 5}
        assert all(q.answer for q in conv.questions if q.category == 5)
        malformed[f.stem] = sum(q.malformed_evidence for q in conv.questions)
    if "conv-42" in malformed:
        assert malformed["conv-42"] == 1  # "D" alone
    if "conv-26" in malformed:  # "D8:6; D9:17" split, not counted
        [conv] = load(locomo_dir / "conv-26.json")
        q = next(q for q in conv.questions if q.question == "What did Melanie paint recently?")
        assert q.evidence == ("D8:6", "D9:17")
        assert malformed["conv-26"] == 0
        assert conv.sessions[0].date_time == "2023-05-08T13:56:00"


def test_locomo_annotations_not_ingested(locomo_dir: Path) -> None:
    f = locomo_dir / "conv-26.json"
    raw = json.loads(f.read_text(encoding="utf-8"))
    [conv] = load(f)
    texts = {t.text for s in conv.sessions for t in s.turns}
    assert raw["session_1_summary"] not in texts
    turn_texts = {t["text"] for k, v in raw.items() if re.fullmatch(r"session_\d+", k) for t in v}
    assert texts == turn_texts


def test_locomo10_list_form(locomo_dir: Path, tmp_path: Path) -> None:
    samples = []
    singles = []
    for name in ("conv-26", "conv-30"):
        f = locomo_dir / f"{name}.json"
        raw = json.loads(f.read_text(encoding="utf-8"))
        qa = raw.pop("qa")
        samples.append({"sample_id": name, "conversation": raw, "qa": qa, "event_summary": {}})
        singles.extend(load(f))
    path = tmp_path / "locomo10.json"
    path.write_text(json.dumps(samples), encoding="utf-8")
    assert detect_format(path) == "locomo"
    convs = load(path)
    assert [c.conversation_id for c in convs] == ["conv-26", "conv-30"]
    for got, want in zip(convs, singles, strict=True):
        assert got.sessions == want.sessions
        assert got.speakers == want.speakers
        assert got.questions == want.questions


def test_locomo_mini_sample() -> None:
    [conv] = load(SAMPLES / "locomo-mini.json")
    assert conv.conversation_id == "locomo-mini"
    assert conv.speakers == ("Lena", "Omar")
    assert [len(s.turns) for s in conv.sessions] == [6, 6]
    assert conv.sessions[1].date_time == "2023-04-02T19:05:00"
    assert conv.sessions[0].turns[2].caption
    assert [q.evidence for q in conv.questions] == [("D1:1",), ("D1:4", "D1:6"), ("D2:1",)]
    assert conv.questions[2].answer == "The Berlin half marathon"


def test_locomo_top_level_and_conversation_key(tmp_path: Path) -> None:
    conv = mini_conversation()
    top = tmp_path / "conv-99.json"
    top.write_text(json.dumps(conv), encoding="utf-8")
    wrapped = tmp_path / "conv-98.json"
    wrapped.write_text(json.dumps({"conversation": conv}), encoding="utf-8")
    [a], [b] = load(top), load(wrapped)
    assert (a.conversation_id, b.conversation_id) == ("conv-99", "conv-98")
    assert a.sessions == b.sessions
    assert a.questions == ()


def test_locomo_session_order_and_missing_date(tmp_path: Path) -> None:
    conv = mini_conversation()
    conv["session_10"] = conv.pop("session_2")
    conv.pop("session_2_date_time")
    path = tmp_path / "c.json"
    path.write_text(json.dumps(conv), encoding="utf-8")
    [c] = load(path)
    assert [s.index for s in c.sessions] == [1, 10]
    assert c.sessions[1].date_time is None


def test_parse_locomo_datetime() -> None:
    assert parse_locomo_datetime("1:56 pm on 8 May, 2023") == "2023-05-08T13:56:00"
    assert parse_locomo_datetime("12:09 am on 13 September, 2023") == "2023-09-13T00:09:00"
    assert parse_locomo_datetime("12:30 pm on 1 Jan, 2022") == "2022-01-01T12:30:00"
    assert parse_locomo_datetime("2023-05-08T13:56:00") == "2023-05-08T13:56:00"
    for bad in ("yesterday", "13:10 pm on 8 May, 2023", "1:56 pm on 31 June, 2023", ""):
        with pytest.raises(ValueError):
            parse_locomo_datetime(bad)


def test_repair_evidence() -> None:
    assert repair_evidence(["D8:6; D9:17"]) == (("D8:6", "D9:17"), 0)
    assert repair_evidence(["D"]) == ((), 1)
    assert repair_evidence(["D:11:26", "D 3 :4", "D3:4"]) == (("D11:26", "D3:4"), 0)
    assert repair_evidence(["D1:2 and more"]) == (("D1:2",), 1)
    assert repair_evidence([]) == ((), 0)


@pytest.mark.parametrize(
    ("mutate", "parts"),
    [
        (
            lambda c: c.update(session_2_date_time="sometime in May"),
            ["field 'session_2_date_time'", "sometime in May"],
        ),
        (lambda c: c["session_1"][1].pop("text"), ["session_1[1] (D1:2)", "field 'text'"]),
        (lambda c: c["session_1"][1].update(text="  "), ["session_1[1] (D1:2)", "field 'text'"]),
        (
            lambda c: c["session_2"][0].update(speaker=3),
            ["session_2[0] (D2:1)", "field 'speaker'", "wrong type"],
        ),
        (
            lambda c: c["session_2"][0].update(dia_id="D1:1"),
            ["session_2[0] (D1:1)", "field 'dia_id'", "duplicate"],
        ),
        (lambda c: c.pop("speaker_b"), ["field 'speaker_b'", "missing"]),
        (lambda c: c.update(session_1="hi"), ["field 'session_1'", "wrong type"]),
        (lambda c: c["qa"][0].update(evidence="D1:1"), ["qa[0]", "field 'evidence'"]),
    ],
)
def test_locomo_bad_input(tmp_path: Path, mutate: Any, parts: list[str]) -> None:
    doc = json.loads((SAMPLES / "locomo-mini.json").read_text(encoding="utf-8"))
    conv = doc.pop("conversation")
    conv["qa"] = doc.pop("qa")
    mutate(conv)
    path = tmp_path / "conv-1.json"
    path.write_text(json.dumps(conv), encoding="utf-8")
    raises_input_error(path, *parts)


def test_locomo_odd_session_keys(tmp_path: Path) -> None:
    conv = mini_conversation()
    conv["session_02"] = conv.pop("session_2")
    conv["session_02_date_time"] = conv.pop("session_2_date_time")
    path = tmp_path / "c.json"
    path.write_text(json.dumps(conv), encoding="utf-8")
    [c] = load(path)
    assert [(s.index, s.date_time) for s in c.sessions][1] == (2, "2023-04-02T19:05:00")
    conv["session_2"] = conv["session_02"]
    path.write_text(json.dumps(conv), encoding="utf-8")
    raises_input_error(path, "appears twice")


def test_locomo_sample_level_qa_validated(tmp_path: Path) -> None:
    doc = json.loads((SAMPLES / "locomo-mini.json").read_text(encoding="utf-8"))
    doc["qa"][2]["category"] = "five"
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    raises_input_error(path, "qa[2]", "field 'category'", "wrong type")


def test_locomo_list_form_location(tmp_path: Path) -> None:
    doc = json.loads((SAMPLES / "locomo-mini.json").read_text(encoding="utf-8"))
    doc["conversation"]["session_2"][3]["text"] = ""
    path = tmp_path / "locomo10.json"
    path.write_text(json.dumps([doc]), encoding="utf-8")
    raises_input_error(path, "[0].conversation.session_2[3] (D2:4)", "field 'text'")
    doc["conversation"]["session_2"][3]["text"] = "ok"
    path.write_text(json.dumps([doc, doc]), encoding="utf-8")
    raises_input_error(path, "[1]", "duplicate conversation id", "field 'sample_id'")


# --- JSONL -------------------------------------------------------------------


def test_jsonl_demo_sample() -> None:
    [conv] = load(SAMPLES / "demo.jsonl")
    assert conv.conversation_id == "demo"
    assert conv.speakers == ("Maya", "Tom")
    assert [s.index for s in conv.sessions] == [1, 2, 3]
    assert conv.n_turns >= 30
    assert conv.sessions[0].turns[0].turn_id == "S1:1"
    assert conv.sessions[2].date_time == "2024-05-18T10:05:00"
    assert any(t.caption for s in conv.sessions for t in s.turns)


def to_rows(conv: RawConversation) -> list[dict[str, Any]]:
    rows = []
    for s in conv.sessions:
        for t in s.turns:
            row = {
                "conversation": conv.conversation_id,
                "session": s.index,
                "session_time": s.date_time,
                "speaker": t.speaker,
                "text": t.text,
                "turn_id": t.turn_id,
            }
            if t.caption is not None:
                row["caption"] = t.caption
            rows.append(row)
    return rows


def strip_raw(conv: RawConversation) -> list[tuple[Any, ...]]:
    return [(s.index, s.date_time, s.turns) for s in conv.sessions]


def test_jsonl_roundtrip(tmp_path: Path) -> None:
    for source in (SAMPLES / "demo.jsonl", SAMPLES / "locomo-mini.json"):
        convs = load(source)
        out = write_jsonl(tmp_path / f"{source.stem}.jsonl", [r for c in convs for r in to_rows(c)])
        again = load(out)
        assert [strip_raw(c) for c in again] == [strip_raw(c) for c in convs]
        if source.suffix == ".jsonl":
            assert [c.sessions for c in again] == [c.sessions for c in convs]
        assert [c.speakers for c in again] == [c.speakers for c in convs]


def test_jsonl_grouping(tmp_path: Path) -> None:
    rows = [
        {**TURN, "conversation": "a", "session": "morning", "speaker": "Ana"},
        {**TURN, "conversation": "b", "session": 2, "speaker": "Bo"},
        {
            **TURN,
            "conversation": "a",
            "session": "evening",
            "speaker": "Cy",
            "session_time": "2024-03-09T20:00:00+01:00",
        },
        {**TURN, "conversation": "b", "session": 1, "speaker": "Bo", "turn_id": "x"},
        {**TURN, "conversation": "a", "session": "morning", "speaker": "Ana", "caption": "a cat"},
    ]
    path = write_jsonl(tmp_path / "g.jsonl", rows)
    path.write_text("\n  \n" + path.read_text(encoding="utf-8") + "\n\n", encoding="utf-8")
    a, b = load(path)
    assert [(s.index, len(s.turns)) for s in a.sessions] == [(1, 2), (2, 1)]
    assert [t.turn_id for t in a.sessions[0].turns] == ["Smorning:1", "Smorning:2"]
    assert a.sessions[0].turns[1].position == 1
    assert a.sessions[0].turns[1].caption == "a cat"
    assert a.sessions[1].date_time == "2024-03-09T20:00:00+01:00"
    assert a.speakers == ("Ana", "Cy")
    assert [s.index for s in b.sessions] == [1, 2]  # numbered sessions sorted
    assert b.sessions[0].turns[0].turn_id == "x"


@pytest.mark.parametrize(
    ("rows", "parts"),
    [
        ([TURN, {**TURN, "turn_id": "S1:1"}], ["line 2", "field 'turn_id'", "duplicate"]),
        (
            [TURN, {**TURN, "session_time": "2024-03-10T09:00:00"}],
            ["line 2", "field 'session_time'", "line 1"],
        ),
        ([TURN, {**TURN, "session_time": "9 March 2024"}], ["line 2", "field 'session_time'"]),
        (
            [TURN, {**TURN, "session_time": "2024-02-30T10:00:00"}],
            ["line 2", "field 'session_time'"],
        ),
        ([{**TURN, "txt": "typo"}], ["line 1", "field 'txt'", "unknown field"]),
        ([TURN, {**TURN, "session": 0}], ["line 2", "field 'session'"]),
        ([TURN, {**TURN, "session": None}], ["line 2", "field 'session'", "wrong type"]),
        ([TURN, {**TURN, "caption": 5}], ["line 2", "field 'caption'", "wrong type"]),
    ],
)
def test_jsonl_bad_rows(tmp_path: Path, rows: list[dict[str, Any]], parts: list[str]) -> None:
    raises_input_error(write_jsonl(tmp_path / "t.jsonl", rows), *parts)


def test_jsonl_line_not_object(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(TURN) + "\n[1, 2]\n", encoding="utf-8")
    raises_input_error(path, "line 2", "wrong type")


# --- bad input files ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("malformed.jsonl", ["line 2", "malformed JSON", "column"]),
        ("missing_field.jsonl", ["line 2", "field 'speaker'", "missing"]),
        ("wrong_type.jsonl", ["line 2", "field 'text'", "wrong type"]),
        ("empty_text.jsonl", ["line 2", "field 'text'", "empty"]),
        ("not_utf8.jsonl", ["line 2", "field 'text'", "UTF-8", "byte offset 223"]),
        ("malformed.json", ["line 7", "malformed JSON", "column 3"]),
    ],
)
def test_bad_sample_files(name: str, parts: list[str]) -> None:
    raises_input_error(BAD / name, *parts)


def test_not_utf8_in_json(tmp_path: Path) -> None:
    data = (SAMPLES / "locomo-mini.json").read_bytes().replace(b"Nice!", b"Nic\xe9!")
    path = tmp_path / "conv-1.json"
    path.write_bytes(data)
    raises_input_error(path, "byte offset", "session_1[1].text", "line ")


@pytest.mark.parametrize("fmt", ["jsonl", "locomo"])
def test_one_megabyte_turn_fails(tmp_path: Path, fmt: str) -> None:
    big = "word " * 200_000  # 1 MB
    if fmt == "jsonl":
        path = write_jsonl(tmp_path / "big.jsonl", [TURN, {**TURN, "text": big}])
        where = "line 2"
    else:
        conv = mini_conversation()
        conv["session_2"][1]["text"] = big
        path = tmp_path / "big.json"
        path.write_text(json.dumps(conv), encoding="utf-8")
        where = "session_2[1] (D2:2)"
    raises_input_error(path, where, "field 'text'", "MAX_TURN_BYTES", str(MAX_TURN_BYTES))


def test_turn_at_limit_is_accepted(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "ok.jsonl", [{**TURN, "text": "x" * MAX_TURN_BYTES}])
    assert load(path)[0].n_turns == 1


def test_missing_directory_and_empty_files(tmp_path: Path) -> None:
    raises_input_error(tmp_path / "nope.jsonl", "not found")
    (tmp_path / "dir.json").mkdir()
    raises_input_error(tmp_path / "dir.json", "directory")
    for name, content in (("empty.jsonl", ""), ("blank.json", " \n\n\t\n")):
        (tmp_path / name).write_text(content, encoding="utf-8")
        raises_input_error(tmp_path / name, "empty")
        with pytest.raises(InputError):
            detect_format(tmp_path / name)


# --- detection and load() -----------------------------------------------------


def test_detect_format(tmp_path: Path) -> None:
    assert FORMATS == ("locomo", "jsonl")
    assert detect_format(SAMPLES / "demo.jsonl") == "jsonl"
    assert detect_format(SAMPLES / "locomo-mini.json") == "locomo"
    txt = tmp_path / "turns.txt"
    txt.write_bytes((SAMPLES / "demo.jsonl").read_bytes())
    assert detect_format(txt) == "jsonl"
    assert load(txt)[0].sessions == load(SAMPLES / "demo.jsonl")[0].sessions
    conv = tmp_path / "conv.data"
    conv.write_text(json.dumps(mini_conversation()), encoding="utf-8")
    assert detect_format(conv) == "locomo"
    listed = tmp_path / "l.json"
    listed.write_text(json.dumps([{"conversation": mini_conversation()}]), encoding="utf-8")
    assert detect_format(listed) == "locomo"
    for content in ('{"foo": 1}', "just some text", "[1, 2]"):
        other = tmp_path / "other.txt"
        other.write_text(content, encoding="utf-8")
        err = raises_input_error(other, "locomo", "jsonl")
        assert "unrecognised" in str(err)


def test_load_explicit_and_unknown_format() -> None:
    assert load(SAMPLES / "demo.jsonl", "jsonl") == load(SAMPLES / "demo.jsonl")
    with pytest.raises(InputError, match="locomo, jsonl") as info:
        load(SAMPLES / "demo.jsonl", "xml")
    assert "field 'format'" in str(info.value)
    with pytest.raises(InputError):  # JSONL file forced as LoCoMo: not one JSON document
        load(SAMPLES / "demo.jsonl", "locomo")
    with pytest.raises(InputError, match="line 1"):  # LoCoMo forced as JSONL
        load(SAMPLES / "locomo-mini.json", "jsonl")


# --- schemas and resources ------------------------------------------------------


@pytest.mark.parametrize("name", ["turns", "locomo"])
def test_schema_files_are_valid(name: str) -> None:
    schema = json.loads((resource_dir("schemas") / f"{name}.schema.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema.get("description")


def test_samples_match_schemas() -> None:
    turns = Draft202012Validator(
        json.loads((resource_dir("schemas") / "turns.schema.json").read_text("utf-8"))
    )
    for line in (SAMPLES / "demo.jsonl").read_text("utf-8").splitlines():
        turns.validate(json.loads(line))
    locomo = Draft202012Validator(
        json.loads((resource_dir("schemas") / "locomo.schema.json").read_text("utf-8"))
    )
    locomo.validate(mini_conversation())


def test_resource_dir() -> None:
    assert resource_dir("schemas") == REPO / "schemas"
    with pytest.raises(ConfigError, match="no-such-resource"):
        resource_dir("no-such-resource")
