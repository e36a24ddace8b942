"""Fuzzed input (issue 16 item 4): every malformed file is refused with one clear line,
and the store is byte-for-byte unchanged, on both stores.

The files come from :mod:`tests.fuzz.malformed` (a valid demo file broken by one
mutation). The embedded store runs each example through the CLI (``kg-memory
ingest``: exit 2, one ``error:`` line naming the file and a line or field, no
traceback) and compares
the sha256 of every file of the store and a dump of its graph. The Neo4j store
runs them through :meth:`Memory.ingest` (an :class:`InputError` naming the file
and a line or field) and compares a dump of the namespace's nodes and edges.
Validation refuses before any write, so neither needs a fresh store per example.

Profiles (``tests/fuzz/conftest.py``): ``ci`` runs 500 examples per store;
``KG_MEMORY_FUZZ_PROFILE=nightly`` runs 5,000.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from typer.testing import CliRunner

from kg_memory import Memory
from kg_memory.cli import app
from kg_memory.errors import MAX_MESSAGE_CHARS, InputError, KGMemoryError
from tests.fuzz.malformed import DEMO, malformed_files
from tests.graph_dump import dump_hash, file_hashes

#: What the examples broke, and how many were refused cleanly (printed at the end).
TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    TALLY.clear()
    yield
    if TALLY:
        print(f"\nfuzz: {dict(sorted(TALLY.items()))}")


def _write(root: Path, name: str, data: bytes) -> Path:
    path = root / name
    path.write_bytes(data)
    return path


def test_malformed_files_are_refused_by_the_cli_store_unchanged(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KG_MEMORY_EMBEDDER", "hash")
    root = tmp_path_factory.mktemp("fuzz-cli")
    store = root / "store"
    runner = CliRunner()
    first = runner.invoke(app, ["ingest", str(DEMO), "--stages", "turns", "--store", str(store)])
    assert first.exit_code == 0, first.output
    before = file_hashes(store)
    with Memory.open(store, embedder="hash") as mem:
        graph = dump_hash(mem.store, mem.namespace)

    @given(malformed_files())
    def check(example: tuple[str, str, bytes, str]) -> None:
        fmt, name, data, what = example
        path = _write(root, name, data)
        res = runner.invoke(app, ["ingest", str(path), "--store", str(store)])
        lines = res.stderr.strip().splitlines()
        assert res.exit_code == 2, (what, res.exit_code, res.output, repr(res.exception))
        assert len(lines) == 1 and lines[0].startswith("error: "), (what, res.stderr)
        # "error: <file>, line 3, field 'text': ..." or "error: <file>, session_1[2] ...": a place
        assert lines[0].startswith(f"error: {path}, ") and "Traceback" not in res.output, (
            what,
            lines,
        )
        assert len(lines[0]) <= MAX_MESSAGE_CHARS + 10, (what, len(lines[0]))
        assert file_hashes(store) == before, what
        TALLY[f"cli {fmt} {what}"] += 1

    check()
    with Memory.open(store, embedder="hash") as mem:
        assert dump_hash(mem.store, mem.namespace) == graph


@pytest.mark.neo4j
def test_malformed_files_are_refused_on_neo4j_namespace_unchanged(
    neo4j_config: object, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from kg_memory.store.neo4j.store import Neo4jStore

    root = tmp_path_factory.mktemp("fuzz-neo4j")
    mem = Memory(Neo4jStore(neo4j_config), namespace=namespace, embedder="hash")  # type: ignore[arg-type]
    try:
        mem.ingest([DEMO], stages="turns")
        graph = dump_hash(mem.store, namespace)

        @given(malformed_files())
        def check(example: tuple[str, str, bytes, str]) -> None:
            fmt, name, data, what = example
            path = _write(root, name, data)
            with pytest.raises(KGMemoryError) as caught:
                mem.ingest([path])
            exc = caught.value
            assert isinstance(exc, InputError), (what, repr(exc))
            assert exc.path == str(path) and (exc.line is not None or exc.field is not None), (
                what,
                str(exc),
            )
            assert "\n" not in str(exc) and len(str(exc)) <= MAX_MESSAGE_CHARS, what
            assert dump_hash(mem.store, namespace) == graph, what
            TALLY[f"neo4j {fmt} {what}"] += 1

        check()
    finally:
        mem.store.delete_namespace(namespace)
        mem.close()
