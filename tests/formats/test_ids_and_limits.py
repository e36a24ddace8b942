"""Issue 16's lesser input findings, on both stores: ids crafted with ``\\x1f``, the
multi-file ingest message, and size limits on speaker names and ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kg_memory import Memory
from kg_memory.cli import app
from kg_memory.errors import InputError
from kg_memory.formats.model import RawConversation, RawSession, RawTurn
from kg_memory.formats.validate import MAX_NAME_CHARS
from kg_memory.store.base import Store
from tests.graph_dump import dump_hash


def _turn(conversation: str, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "conversation": conversation,
        "session": 1,
        "session_time": "2024-01-02T10:00:00",
        "speaker": "Ana",
        "text": text,
        **extra,
    }


def _file(path: Path, *turns: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(t) + "\n" for t in turns), encoding="utf-8")
    return path


def _memory(store: Store, namespace: str) -> Memory:
    return Memory(store, namespace=namespace, embedder="hash")


def test_ids_crafted_with_x1f_cannot_overwrite_another_turn(
    store: Store, namespace: str, tmp_path: Path
) -> None:
    """("c", "x\\x1fy") and ("c\\x1fx", "y") once hashed to one turn id: the second
    conversation's turn silently replaced the first's. Both ways in are refused now."""
    mem = _memory(store, namespace)
    try:
        mem.ingest(
            [_file(tmp_path / "ok.jsonl", _turn("c", "first", turn_id="x|y"))], stages="turns"
        )
        before = dump_hash(store, namespace)
        crafted = _file(
            tmp_path / "crafted.jsonl",
            _turn("c", "kept", turn_id="x\x1fy"),
            _turn("c\x1fx", "overwrites it", turn_id="y"),
        )
        with pytest.raises(InputError, match="U\\+001F") as caught:
            mem.ingest([crafted], stages="turns")
        assert caught.value.line == 1 and caught.value.field == "turn_id"
        raw = RawConversation(
            "c\x1fx", ("Ana",), (RawSession(1, None, None, (RawTurn("y", "Ana", "hi", 0),)),)
        )
        with pytest.raises(InputError, match="U\\+001F"):
            mem.ingest_conversations([raw], stages="turns")
        assert dump_hash(store, namespace) == before
        # look-alike ids that are allowed stay two turns
        mem.ingest(
            [_file(tmp_path / "alike.jsonl", _turn("c|x", "second", turn_id="y"))], stages="turns"
        )
        assert mem.stats().nodes["Turn"] == 2
    finally:
        store.delete_namespace(namespace)


def test_multi_file_ingest_names_the_committed_files(
    store: Store, namespace: str, tmp_path: Path
) -> None:
    files = [
        _file(tmp_path / "a.jsonl", _turn("a", "one")),
        _file(tmp_path / "b.jsonl", _turn("b", "two")),
        _file(tmp_path / "bad.jsonl", _turn("bad", "")),
        _file(tmp_path / "c.jsonl", _turn("c", "three")),
    ]
    mem = _memory(store, namespace)
    try:
        with pytest.raises(InputError) as caught:
            mem.ingest(files, stages="turns")
        exc = caught.value
        assert exc.committed == (str(files[0]), str(files[1]))
        assert exc.path == str(files[2]) and exc.field == "text"
        assert f"committed before it: {files[0]}, {files[1]};" in str(exc)
        assert f"not ingested: this file, {files[3]})" in str(exc)
        assert mem.conversations() == ["a", "b"]
    finally:
        store.delete_namespace(namespace)


def test_multi_file_ingest_cli_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KG_MEMORY_EMBEDDER", "hash")
    good = _file(tmp_path / "a.jsonl", _turn("a", "one"))
    bad = _file(tmp_path / "bad.jsonl", _turn("bad", "two", speaker=""))
    store = str(tmp_path / "store")
    res = CliRunner().invoke(
        app, ["ingest", str(good), str(bad), "--stages", "turns", "--store", store]
    )
    assert res.exit_code == 2
    [line] = res.stderr.strip().splitlines()
    assert line.startswith(f"error: {bad}, line 1, field 'speaker': ")
    assert line.endswith(f"(committed before it: {good}; not ingested: this file)")


@pytest.mark.parametrize(
    ("field", "size"),
    [("speaker", 5_000_000), ("speaker", MAX_NAME_CHARS + 1), ("turn_id", MAX_NAME_CHARS + 1)],
)
def test_oversized_names_are_refused_the_same_way(
    store: Store, namespace: str, tmp_path: Path, field: str, size: int
) -> None:
    """A 5 MB speaker name once made a 153 MB embedded store while Neo4j refused the
    file: now both refuse it before writing, with the same message."""
    mem = _memory(store, namespace)
    path = _file(tmp_path / "big.jsonl", _turn("c", "hi", **{field: "N" * size}))
    try:
        with pytest.raises(InputError) as caught:
            mem.ingest([path], stages="turns")
        assert str(caught.value) == (
            f"{path}, line 1, field '{field}': is {size:,} characters long;"
            f" at most {MAX_NAME_CHARS} are allowed (MAX_NAME_CHARS)"
        )
        assert mem.conversations() == []
        at_limit = _turn("c", "hi", speaker="S" * MAX_NAME_CHARS, turn_id="T" * MAX_NAME_CHARS)
        mem.ingest([_file(tmp_path / "ok.jsonl", at_limit)], stages="turns")
        assert mem.stats().nodes["Turn"] == 1
    finally:
        store.delete_namespace(namespace)


@pytest.mark.parametrize(
    ("content", "line", "field", "says"),
    [
        ('{"\x7fsample_id": "demo", "speaker_a": "A"}', None, "\x7fsample_id", "the key"),
        ('{"speaker_a": "A\\u0000"}', None, "speaker_a", "U\\+0000"),
        ('{"speaker_a": "\\udc80"}', None, "speaker_a", "lone surrogate"),
        ('{"speaker_a": "A", "speaker_a": "B"}', None, "speaker_a", "twice"),
        ('{"speaker_a": NaN}', None, "speaker_a", "NaN"),
        ('{"speaker_a": ' + "[" * 40 + "]" * 40 + "}", None, "speaker_a" + "[0]" * 31, "nested"),
        ('{"speaker_a": ' + "[" * 5000 + "]" * 5000 + "}", 1, None, "nested"),
        ('{"session_1": ' + "9" * 5000 + "}", 1, None, "4,300 digits"),
    ],
)
def test_strict_json_names_the_place(
    tmp_path: Path, content: str, line: int | None, field: str | None, says: str
) -> None:
    from kg_memory.formats import load

    path = tmp_path / "conv.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=says) as caught:
        load(path)
    assert (caught.value.path, caught.value.line, caught.value.field) == (str(path), line, field)


def test_special_files_and_long_names_are_one_line(tmp_path: Path) -> None:
    """A FIFO once hung ingest forever, /dev/zero and a 300-character file name gave tracebacks."""
    import os

    from kg_memory.formats import load

    fifo = tmp_path / "turns.jsonl"
    os.mkfifo(fifo)
    long_name = tmp_path / ("x" * 300 + ".jsonl")
    for path, says in [
        (fifo, "not a regular file"),
        (Path("/dev/zero"), "not a regular file"),
        (long_name, "cannot read file: File name too long"),
        (tmp_path / "missing.jsonl", "file not found"),
        (tmp_path, "is a directory"),
    ]:
        with pytest.raises(InputError, match=says) as caught:
            load(path)
        assert caught.value.path == str(path)
