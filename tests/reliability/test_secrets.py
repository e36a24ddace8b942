"""Safe defaults (issue 16, item 7): no secret in an error, a log line or an export,
and a mistyped ``--store`` is reported instead of silently becoming an empty store.

The secrets are the Neo4j password (the test server's, and a wrong one), a
password written into a ``--neo4j`` URI, and the server's bearer tokens (a
valid one and a wrong one). Every CLI output, the server's log at debug level,
its error responses and every export format are grepped for them.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.helpers import KINDS, open_memory
from tests.server.helpers import DEMO, KGM, demo_turns, server_env, start_server, stop_server


def _kgm(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    out = subprocess.run(
        [KGM, *args], env=env or dict(os.environ), capture_output=True, text=True, timeout=300
    )
    return out.returncode, out.stdout + out.stderr


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_no_secret_in_errors_logs_or_exports(
    kind: str, tmp_path: Path, places: Any, monkeypatch: Any
) -> None:
    where = places(kind)
    store = (
        ["--store", where] if kind == "embedded" else ["--neo4j", os.environ["KG_MEMORY_NEO4J_URI"]]
    )
    ns = ["--namespace", "default" if kind == "embedded" else where]
    token, wrong_token = f"tok-{uuid.uuid4().hex}", f"bad-{uuid.uuid4().hex}"
    wrong_pw = f"pw-{uuid.uuid4().hex}"
    secrets = [token, wrong_token, wrong_pw]
    if kind == "neo4j":
        secrets.append(os.environ["KG_MEMORY_NEO4J_PASSWORD"])
    monkeypatch.setenv("KG_MEMORY_EMBEDDER", "hash")
    seen: dict[str, str] = {}

    code, seen["ingest"] = _cli("ingest", str(DEMO), *store, *ns)
    assert code == 0, seen["ingest"]
    for what in ("stats", "conversations"):
        code, seen[what] = _cli(what, *store, *ns)
        assert code == 0, seen[what]
    code, seen["ask"] = _cli("ask", "Where did Maya adopt the puppy?", "--trace", *store, *ns)
    assert code == 0, seen["ask"]
    for fmt in ("jsonl", "graphml", "ttl"):
        target = tmp_path / f"export.{fmt}"
        code, seen[f"export {fmt}"] = _cli("export", str(target), "-f", fmt, *store, *ns)
        assert code == 0, seen[f"export {fmt}"]
        seen[f"export file {fmt}"] = target.read_text(encoding="utf-8")
    if kind == "neo4j":
        uri = os.environ["KG_MEMORY_NEO4J_URI"]
        code, seen["wrong password"] = _kgm(
            "stats", "--neo4j", uri, env={**os.environ, "KG_MEMORY_NEO4J_PASSWORD": wrong_pw}
        )
        assert code == 2 and "rejected the credentials" in seen["wrong password"]
        with_pw = uri.replace("bolt://", f"bolt://neo4j:{wrong_pw}@")
        code, seen["password in URI"] = _cli("stats", "--neo4j", with_pw)
        assert code == 2 and "credentials do not go in the URI" in seen["password in URI"]

    log = tmp_path / "server.log"
    server = start_server(
        store, ["--token", token, "--log-level", "debug"], server_env(tmp_path / "unused"), log
    )
    try:
        api = server.api(ns[1], "")
        with server.client(token) as c:
            assert c.post(f"{api}remember", json={"turns": demo_turns(3)}).status_code == 200
            r = c.post(f"{api}recall", json={"question": "Who is Biscuit?", "k": 3})
            assert r.status_code == 200, r.text
            seen["recall"] = r.text
        with server.client(wrong_token) as c:
            r = c.get(f"{api}stats")
            assert r.status_code == 401
            seen["401"] = r.text
        with server.client(None) as c:
            r = c.get(f"{api}stats", headers={"Authorization": f"Basic {wrong_token}"})
            assert r.status_code == 401
            seen["401 basic"] = r.text
    finally:
        stop_server(server.proc)
    seen["server log"] = log.read_text(encoding="utf-8", errors="replace")
    assert "GET" in seen["server log"] or "POST" in seen["server log"]  # it did log requests

    leaks = [(name, s[:6]) for name, text in seen.items() for s in secrets if s in text]
    print(
        f"\nsecrets grepped on the {kind} store: {len(secrets)} secrets x {len(seen)} outputs, "
        f"{len(leaks)} found"
    )
    assert not leaks, leaks


def _cli(*args: str) -> tuple[int, str]:
    from typer.testing import CliRunner

    from kg_memory.cli import app

    out = CliRunner().invoke(app, list(args))
    return out.exit_code, out.output


def test_mistyped_store_is_reported_not_created(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("KG_MEMORY_EMBEDDER", "hash")
    real = tmp_path / "store"
    code, out = _cli("ingest", str(DEMO), "--store", str(real), "--stages", "turns")
    assert code == 0, out
    extra = {"ask": ["a question"], "export": [str(tmp_path / "x.jsonl")], "delete": ["demo"]}
    for command in ("stats", "ask", "conversations", "export", "delete"):
        typo = tmp_path / f"stroe-{command}"
        args = [command, *extra.get(command, []), "--store", str(typo)]
        code, out = _cli(*args)
        assert code == 2 and f"no kg-memory store at {typo}" in out, out
        assert out.count("\n") == 1 and not typo.exists()
        # an existing directory without a store is no store either
        typo.mkdir()
        code, out = _cli(*args)
        assert code == 2 and "no kg-memory store" in out and list(typo.iterdir()) == []
        # --create makes the empty store on purpose (ingest creates one anyway)
        code, out = _cli(*args, "--create")
        if command == "delete":  # the store is made, and holds no conversation to delete
            assert code == 2 and "no conversation 'demo' is stored" in out, out
        else:
            assert code == 0, (command, out)
        assert (typo / "memory.sqlite3").is_file()
    # the environment's store path is checked the same way
    monkeypatch.setenv("KG_MEMORY_STORE", str(tmp_path / "nowhere"))
    code, out = _cli("stats")
    assert code == 2 and "no kg-memory store at" in out and "nowhere" in out, out
    with open_memory("embedded", str(real)) as mem:
        assert mem.stats().nodes["Turn"] == 31
