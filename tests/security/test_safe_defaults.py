"""Safe defaults (issue 16, findings 4 and the lesser ones): the store cannot be
exported over itself, input files are not overwritten, stores are owner-only,
passwords in URIs are never echoed, a wrong scheme is one clear line."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg_memory.cli import app

DEMO = Path(__file__).resolve().parents[2] / "ingest" / "samples" / "demo.jsonl"


def _run(*args: str) -> tuple[int, str]:
    out = CliRunner().invoke(app, list(args))
    return out.exit_code, out.output


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    code, out = _run("ingest", str(DEMO), "--store", str(path), "--stages", "turns")
    assert code == 0, out
    return path


def _bytes(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}


def test_export_into_the_store_is_refused(store: Path) -> None:
    before = _bytes(store)
    for target in (store / "memory.sqlite3", store / "export.jsonl", store):
        code, out = _run("export", str(target), "--store", str(store))
        assert code == 2 and "refusing to export into the store directory" in out, out
    assert _bytes(store) == before
    code, out = _run("stats", "--store", str(store), "--json")
    assert code == 0 and json.loads(out)["nodes"]["Turn"] == 31, out


def test_export_over_an_input_file_is_refused(store: Path, tmp_path: Path) -> None:
    data = tmp_path / "input.jsonl"
    data.write_bytes(DEMO.read_bytes())
    code, out = _run("export", str(data), "--store", str(store))
    assert code == 2 and "refusing to overwrite" in out and "not a kg-memory jsonl export" in out
    assert data.read_bytes() == DEMO.read_bytes()
    # a previous export may be replaced
    exported = tmp_path / "out.jsonl"
    for _ in range(2):
        code, out = _run("export", str(exported), "--store", str(store))
        assert code == 0, out
    for fmt in ("graphml", "ttl"):
        again = tmp_path / f"out.{fmt}"
        for _ in range(2):
            code, out = _run("export", str(again), "--format", fmt, "--store", str(store))
            assert code == 0, out


def test_a_new_store_is_owner_only(store: Path) -> None:
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o700
    for f in store.iterdir():
        assert stat.S_IMODE(os.stat(f).st_mode) & 0o077 == 0, f


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("bolt://neo4j:s3cret-pw@127.0.0.1:7687", "credentials do not go in the URI"),
        ("neo4j://admin:s3cret-pw@127.0.0.1", "credentials do not go in the URI"),
        ("http://127.0.0.1:7474", "scheme 'http' is not a Bolt scheme"),
        ("https://user:s3cret-pw@db.example", "is not a Bolt scheme"),
        ("bolt://127.0.0.1:99999", "Port out of range"),
        ("127.0.0.1:7687", "is not a Bolt scheme"),
    ],
)
def test_bad_uris_are_one_line_without_secrets(uri: str, says: str) -> None:
    code, out = _run("stats", "--neo4j", uri)
    assert code == 2, out
    assert says in out and "s3cret-pw" not in out and "Traceback" not in out
    assert out.count("\n") == 1, out
