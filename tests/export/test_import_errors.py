"""Import refuses a bad file whole, naming the line and field, and stores nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kg_memory.config import EmbeddedConfig
from kg_memory.errors import InputError
from kg_memory.export import export, import_jsonl
from kg_memory.store import open_store
from kg_memory.store.base import Store

from .helpers import ingest_demo

Record = dict[str, Any]


@pytest.fixture
def exported(tmp_path: Path) -> list[Record]:
    store = open_store(EmbeddedConfig(path=tmp_path / "src"))
    try:
        ingest_demo(store, "default")
        export(store, "default", tmp_path / "m.jsonl")
    finally:
        store.close()
    lines = (tmp_path / "m.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture
def target(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = open_store(EmbeddedConfig(path=tmp_path / "dst"))
    yield store
    store.close()


def _write(tmp_path: Path, records: list[Record], raw: dict[int, str] | None = None) -> Path:
    lines = [json.dumps(r) for r in records]
    for i, text in (raw or {}).items():
        lines[i] = text
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _first(records: list[Record], kind: str) -> int:
    return next(i for i, r in enumerate(records) if r["type"] == kind)


def _refused(store: Store, path: Path, *needles: str) -> None:
    with pytest.raises(InputError) as info:
        import_jsonl(store, path)
    for needle in needles:
        assert needle in str(info.value), str(info.value)
    assert store.counts("default").total_nodes == 0  # nothing stored


CASES = {
    "not json": ("node", None, "{not json", ["line {n}", "not JSON"]),
    "label": ("node", ("label", "Person"), None, ["line {n}", "field 'label'", "'Person'"]),
    "props": ("node", ("props", [1]), None, ["line {n}", "field 'props'"]),
    "rel": ("edge", ("rel", "LIKES"), None, ["line {n}", "field 'rel'"]),
    "dangling": ("edge", ("dst", "entity:nowhere"), None, ["line {n}", "field 'dst'"]),
    "namespace": ("node", ("namespace", "other"), None, ["line {n}", "field 'namespace'"]),
    "vector": ("node", ("embedding", "%%%"), None, ["line {n}", "field 'embedding'"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_record_is_refused_naming_line_and_field(
    exported: list[Record],
    target: Store,
    tmp_path: Path,
    case: str,
) -> None:
    kind, change, raw, needles = CASES[case]
    i = _first(exported, kind) + 1  # not the first of its kind
    if change is not None:
        exported[i] = {**exported[i], change[0]: change[1]}
    path = _write(tmp_path, exported, {i: raw} if raw else None)
    _refused(target, path, str(path), *[n.format(n=i + 1) for n in needles])


def test_header_counts_must_match(exported: list[Record], target: Store, tmp_path: Path) -> None:
    path = _write(tmp_path, exported[:-1])
    _refused(target, path, "line 1", "field 'edges'")


def test_a_duplicate_node_is_refused(exported: list[Record], target: Store, tmp_path: Path) -> None:
    i = _first(exported, "node")
    path = _write(tmp_path, [*exported[: i + 1], exported[i], *exported[i + 1 :]])
    _refused(target, path, f"line {i + 2}", f"already given on line {i + 1}")


def test_another_namespace_is_refused(
    exported: list[Record], target: Store, tmp_path: Path
) -> None:
    path = _write(tmp_path, exported)
    with pytest.raises(InputError, match="holds namespace 'default', not 'bob'"):
        import_jsonl(target, path, "bob")
    assert target.counts().total_nodes == 0


def test_a_version_1_file_without_header_or_vectors_imports(
    exported: list[Record],
    target: Store,
    tmp_path: Path,
) -> None:
    old = [{k: v for k, v in r.items() if k != "embedding"} for r in exported[1:]]
    counts = import_jsonl(target, _write(tmp_path, old))
    assert counts == {"nodes": exported[0]["nodes"], "edges": exported[0]["edges"]}
    assert target.counts("default").total_nodes == exported[0]["nodes"]
