"""The HTTP API of a real ``kg-memory serve`` process, through httpx, on both stores."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.helpers import (
    ADMIN,
    ALICE,
    KGM,
    Server,
    demo_turns,
    free_port,
    server_env,
    start_server,
    stop_server,
    turn,
)


def stats(c: httpx.Client, srv: Server, ns: str) -> dict[str, int]:
    r = c.get(srv.api(ns, "stats"))
    assert r.status_code == 200, r.text
    return {"nodes": r.json()["total_nodes"], "edges": r.json()["total_edges"]}


# -- auth and namespaces ---------------------------------------------------------
def test_missing_or_wrong_token_is_401(server: Server, namespace: str) -> None:
    with server.client(token=None) as c:
        r = c.get(server.api(namespace, "stats"))
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert "bearer token" in r.json()["message"]
        assert c.post("/mcp", json={}).status_code == 401
        assert c.get("/health").status_code == 200
        assert c.get("/openapi.json").status_code == 200
    with server.client(token="not-a-known-token") as c:
        assert c.get(server.api(namespace, "stats")).status_code == 401


def test_token_limited_to_namespaces_gets_403_elsewhere(server: Server, namespace: str) -> None:
    with server.client(token=ALICE) as alice, server.client() as admin:
        r = alice.post(server.api(namespace, "remember"), json={"turns": [turn("Hi")]})
        assert r.status_code == 403
        assert namespace in r.json()["message"]
        assert stats(admin, server, namespace)["nodes"] == 0
        assert alice.get(server.api("alice", "stats")).status_code == 200
        assert admin.get(server.api("alice", "stats")).status_code == 200


def test_non_loopback_bind_needs_a_token(tmp_path: Path) -> None:
    port = str(free_port())
    proc = subprocess.run(
        [KGM, "serve", "--host", "0.0.0.0", "--port", port, "--store", str(tmp_path / "s")],
        env=server_env(tmp_path / "s"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "refusing to bind 0.0.0.0" in proc.stderr
    assert not (tmp_path / "s").exists()  # refused before opening anything


@pytest.mark.parametrize("command", ["serve", "mcp"])
def test_a_missing_store_is_refused_unless_create(tmp_path: Path, command: str) -> None:
    """``serve`` and ``mcp`` on a mistyped --store refuse in one line; --create makes it."""
    typo = tmp_path / "stroe"
    args = [KGM, command, "--store", str(typo), "--stages", "turns"]
    env = server_env(tmp_path / "elsewhere")
    proc = subprocess.run(
        args, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2, proc.stderr
    line = proc.stderr.strip()
    assert line.count("\n") == 0 and f"no kg-memory store at {typo}" in line, line
    assert "`kg-memory ingest` or `kg-memory import` creates one, --create an empty one" in line
    assert not typo.exists() and not (tmp_path / "elsewhere").exists()
    if command == "serve":  # the same command with --create starts on a new, empty store
        server = start_server(["--store", str(typo)], ["--create"], env, tmp_path / "log")
        try:
            with server.client(token=None) as c:
                assert stats(c, server, "default")["nodes"] == 0
        finally:
            stop_server(server.proc)
        assert (typo / "memory.sqlite3").is_file()


# -- bad requests ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "status", "field", "where"),
    [
        ({"turns": [turn("ok"), turn("   ")]}, 400, "text", "turns[1]"),
        ({"turns": [turn("ok", session_time="yesterday")]}, 400, "session_time", "turns[0]"),
        ({"turns": [turn("ok", mood="happy")]}, 400, "mood", "turns[0]"),
        ({"turns": [{"conversation": "c1", "text": "x"}]}, 400, "session", "turns[0]"),
        ({"turns": [turn("a", turn_id="x"), turn("b", turn_id="x")]}, 400, "turn_id", "turns[1]"),
        ({"turns": [turn("ok", session="morning")]}, 400, "session", "turns[0]"),
        ({"turns": []}, 400, "turns", None),
        ({"turns": ["not an object"]}, 400, None, "turns[0]"),
        ({"turn": [turn("ok")]}, 400, "turns", None),
    ],
)
def test_bad_remember_is_4xx_naming_the_field_and_writes_nothing(
    server: Server,
    namespace: str,
    body: dict[str, object],
    status: int,
    field: str | None,
    where: str | None,
) -> None:
    with server.client() as c:
        r = c.post(server.api(namespace, "remember"), json=body)
        assert r.status_code == status, r.text
        err = r.json()
        assert err["field"] == field
        assert err["where"] == where
        if field:
            assert field in err["message"]
        assert stats(c, server, namespace) == {"nodes": 0, "edges": 0}


def test_bad_recall_and_namespace(server: Server, namespace: str) -> None:
    with server.client() as c:
        cases = [
            ({"question": "x", "k": 0}, "k"),
            ({"question": ""}, "question"),
            ({"question": "x", "since": "last week"}, "since"),
            ({"question": "x", "since": "2024-05-01", "until": "2024-01-01"}, "since"),
            ({"question": "x", "colour": "red"}, "colour"),
        ]
        for body, field in cases:
            r = c.post(server.api(namespace, "recall"), json=body)
            assert r.status_code == 400, (body, r.text)
            assert r.json()["field"] == field
        r = c.get(server.api("no spaces allowed", "stats"))
        assert r.status_code == 400
        assert r.json()["field"] == "namespace"
        r = c.post(server.api(namespace, "forget"), json={"conversation": "c1", "turn_id": "x"})
        assert r.status_code == 400
        assert "no conversation 'c1'" in r.json()["message"]


def test_conflicting_turn_id_is_409_and_writes_nothing(server: Server, namespace: str) -> None:
    with server.client() as c:
        assert (
            c.post(
                server.api(namespace, "remember"), json={"turns": [turn("A", turn_id="t1")]}
            ).status_code
            == 200
        )
        before = stats(c, server, namespace)
        body = {"turns": [turn("new", turn_id="t2"), turn("changed", turn_id="t1")]}
        r = c.post(server.api(namespace, "remember"), json=body)
        assert r.status_code == 409
        assert r.json() | {"message": ""} == {
            "error": "ConflictError",
            "message": "",
            "field": "turn_id",
            "where": "turns[1]",
        }
        assert stats(c, server, namespace) == before


# -- remember, recall, forget -------------------------------------------------------
def test_remember_recall_round_trip(server: Server, namespace: str) -> None:
    turns = demo_turns(6)
    with server.client() as c:
        r = c.post(server.api(namespace, "remember"), json={"turns": turns})
        assert r.status_code == 200, r.text
        assert r.json()["added"] == 6
        assert r.json()["conversations"] == ["demo"]
        r = c.post(
            server.api(namespace, "recall"), json={"question": "What is the puppy's name?", "k": 3}
        )
        assert r.status_code == 200, r.text
        ans = r.json()
        assert set(ans) == {"question", "evidence", "trace", "seconds"}
        assert len(ans["evidence"]) == 3
        assert ["S1:1"] in [e["turn_ids"] for e in ans["evidence"]]
        assert all(e["conversation"] == "demo" and e["score"] > 0 for e in ans["evidence"])
        assert c.get(server.api(namespace, "conversations")).json()["conversations"] == ["demo"]


def test_remember_is_idempotent_per_turn_id(server: Server, namespace: str) -> None:
    turns = [dict(t, turn_id=f"m{i}") for i, t in enumerate(demo_turns(4))]
    with server.client() as c:
        first = c.post(server.api(namespace, "remember"), json={"turns": turns}).json()
        after_first = stats(c, server, namespace)
        again = c.post(server.api(namespace, "remember"), json={"turns": turns[1:3]}).json()
        assert (first["added"], again["added"], again["unchanged"]) == (4, 0, 2)
        assert stats(c, server, namespace) == after_first
        # a later turn is appended, the earlier ones are kept
        more = c.post(server.api(namespace, "remember"), json={"turns": demo_turns(5)[4:]}).json()
        assert more["added_turns"] == ["demo/S1:5"]
        ids = {
            tid
            for e in c.post(
                server.api(namespace, "recall"), json={"question": "Biscuit puppy crate", "k": 10}
            ).json()["evidence"]
            for tid in e["turn_ids"]
        }
        assert ids <= {"m0", "m1", "m2", "m3", "S1:5"} and "m0" in ids


def test_recall_filters_by_speaker_and_time(server: Server, namespace: str) -> None:
    with server.client() as c:
        c.post(server.api(namespace, "remember"), json={"turns": demo_turns()}).raise_for_status()
        url = server.api(namespace, "recall")
        body = {"question": "Biscuit", "k": 5}
        tom = c.post(url, json=body | {"speaker": "tom"}).json()["evidence"]
        assert tom and all(e["speaker"] == "Tom" for e in tom)
        dates = sorted(
            {e["session_date"][:10] for e in c.post(url, json=body | {"k": 20}).json()["evidence"]}
        )
        cut = dates[1]
        later = c.post(url, json=body | {"since": cut}).json()["evidence"]
        assert later and all(e["session_date"][:10] >= cut for e in later)
        upto = c.post(url, json=body | {"until": cut}).json()["evidence"]
        assert upto and all(e["session_date"][:10] <= cut for e in upto)


def test_forget_conversation_and_turn(server: Server, namespace: str) -> None:
    with server.client() as c:
        c.post(server.api(namespace, "remember"), json={"turns": demo_turns(8)}).raise_for_status()
        other = [turn("Biscuit is a beagle puppy.", conversation="keep", turn_id="k1")]
        c.post(server.api(namespace, "remember"), json={"turns": other}).raise_for_status()
        both = {"conversation": "demo", "turn_id": "S1:1", "session": 1}
        r = c.post(server.api(namespace, "forget"), json=both)
        assert r.status_code == 400 and r.json()["field"] == "turn_id"
        r = c.post(
            server.api(namespace, "forget"), json={"conversation": "demo", "turn_id": "S1:1"}
        )
        assert r.status_code == 200
        assert r.json()["turns_left"] == 7
        q = {"question": "Biscuit beagle puppy Oregon Humane Society", "k": 20}
        ids = [
            e["turn_ids"]
            for e in c.post(server.api(namespace, "recall"), json=q).json()["evidence"]
        ]
        assert ["S1:1"] not in ids and ["S1:2"] in ids
        later = turn("Zanzibar trip", conversation="keep", session=2, turn_id="k2")
        later["session_time"] = "2024-04-01T10:00:00"
        c.post(server.api(namespace, "remember"), json={"turns": [later]}).raise_for_status()
        r = c.post(server.api(namespace, "forget"), json={"conversation": "keep", "session": 2})
        assert r.status_code == 200 and r.json()["turns_left"] == 1 and r.json()["session"] == 2
        r = c.post(server.api(namespace, "forget"), json={"conversation": "demo"})
        assert r.status_code == 200 and r.json()["deleted_nodes"] > 0
        ev = c.post(server.api(namespace, "recall"), json=q).json()["evidence"]
        assert ev and {e["conversation"] for e in ev} == {"keep"}
        assert c.get(server.api(namespace, "conversations")).json()["conversations"] == ["keep"]


def test_turn_by_turn_equals_whole_ingest(server: Server, namespace: str) -> None:
    """Remembering a JSONL file one turn per request builds what ingesting it whole builds."""
    questions = ("Where did Maya adopt her puppy?", "Tom shoulder climbing", "pottery class")

    def snapshot(c: httpx.Client) -> tuple[dict[str, int], list[object]]:
        answers = [
            c.post(server.api(namespace, "recall"), json={"question": q, "k": 10}).json()
            for q in questions
        ]
        return stats(c, server, namespace), [a["evidence"] for a in answers]

    with server.client() as c:
        for t in demo_turns():
            c.post(server.api(namespace, "remember"), json={"turns": [t]}).raise_for_status()
        by_turn = snapshot(c)
        c.post(server.api(namespace, "forget"), json={"conversation": "demo"}).raise_for_status()
        assert stats(c, server, namespace)["nodes"] == 0
        c.post(server.api(namespace, "remember"), json={"turns": demo_turns()}).raise_for_status()
        assert snapshot(c) == by_turn


# -- concurrency ------------------------------------------------------------------
def test_reads_run_while_one_writer_adds_turns(server: Server, namespace: str) -> None:
    """Readers never fail or see a half-written conversation while turns are added."""
    turns = [dict(t, turn_id=f"w{i}") for i, t in enumerate(demo_turns())]
    errors: list[str] = []
    seen: list[int] = []
    done = threading.Event()

    def reader() -> None:
        with server.client() as c:
            while not done.is_set():
                r = c.post(server.api(namespace, "recall"), json={"question": "Biscuit", "k": 50})
                s = c.get(server.api(namespace, "stats"))
                if r.status_code != 200 or s.status_code != 200:
                    errors.append(r.text + s.text)
                    return
                nodes = s.json()["nodes"]
                # a conversation is written whole: turns and HAS_TURN edges always agree
                if nodes.get("Turn", 0) != s.json()["edges"].get("HAS_TURN", 0):
                    errors.append(f"half-written: {s.json()}")
                seen.append(nodes.get("Turn", 0))

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for th in threads:
        th.start()
    try:
        with server.client() as c:
            for i in range(0, len(turns), 3):
                r = c.post(server.api(namespace, "remember"), json={"turns": turns[i : i + 3]})
                assert r.status_code == 200, r.text
    finally:
        done.set()
        for th in threads:
            th.join(60)
    assert not errors, errors[:3]
    assert len(seen) > 3
    with server.client() as c:
        assert c.get(server.api(namespace, "stats")).json()["nodes"]["Turn"] == len(turns)


def test_openapi_lists_every_operation(server: Server) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    ops = {p.rsplit("/", 1)[-1] for p in spec["paths"] if p.startswith("/v1/")}
    assert ops == {"remember", "recall", "forget", "stats", "conversations", "cypher"}
    assert httpx.get(f"{server.url}/docs").status_code == 200
    assert ADMIN not in str(spec)


def _settled_recall(c: Any, url: str, body: dict[str, Any]) -> dict[str, Any]:
    """The recall answer once two calls 0.5 s apart agree (at most 15 s).

    The server's readers share its writer's write counters, so their cached reads
    drop at each commit; issue 16 also reports a short window after a commit in which
    a Neo4j reader may see a ranking matching neither before nor after. This test
    compares HTTP with the CLI, not that window.
    """
    last = c.post(url, json=body).json()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = c.post(url, json=body).json()
        if now["evidence"] == last["evidence"]:
            return now
        last = now
    return last


def test_recall_returns_what_ask_json_prints(server: Server, namespace: str, backend: str) -> None:
    q = "Where does Tom go climbing?"
    with server.client() as c:
        c.post(server.api(namespace, "remember"), json={"turns": demo_turns()}).raise_for_status()
        http = _settled_recall(c, server.api(namespace, "recall"), {"question": q, "k": 5})
    args = [KGM, "ask", q, "--k", "5", "--json", "--namespace", namespace]
    args += server.store_args
    cli = subprocess.run(args, env=server.env, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    printed = json.loads(cli.stdout)
    assert http["evidence"] == printed["evidence"]
    assert http["trace"] == printed["trace"]


def test_cypher_is_read_only_and_namespaced(server: Server, namespace: str, backend: str) -> None:
    with server.client() as c:
        c.post(server.api(namespace, "remember"), json={"turns": demo_turns(3)}).raise_for_status()
        q = {"query": "MATCH (t:Turn {namespace: $namespace}) RETURN count(t) AS turns"}
        r = c.post(server.api(namespace, "cypher"), json=q)
        if backend == "embedded":
            assert r.status_code == 400 and "no Cypher engine" in r.json()["message"]
            return
        assert r.status_code == 200, r.text
        assert r.json()["rows"] == [{"turns": 3}]
        write = {"query": "MATCH (t:Turn {namespace: $namespace}) DETACH DELETE t"}
        r = c.post(server.api(namespace, "cypher"), json=write)
        assert r.status_code == 400 and r.json()["error"] == "QueryError"
        assert c.get(server.api(namespace, "stats")).json()["nodes"]["Turn"] == 3
