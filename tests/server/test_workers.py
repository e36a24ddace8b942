"""``kg-memory serve --read-workers 2``: recall answered in worker processes, on both stores.

Each worker process keeps its own read caches (vector matrices, text statistics,
on Neo4j scope counts). A write through the server must reach every one of them:
after each write, concurrent recalls (so that both workers answer) must return
exactly what a fresh in-process search of the same store returns.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from kg_memory import Memory
from kg_memory.retrieval.request import SearchRequest
from kg_memory.server.recall import Filters, recall
from tests.server.helpers import ADMIN, Server, demo_turns, running_server

QUESTIONS = ["Where did Maya go hiking?", "What does Maya cook?", "Who adopted a dog?"]
#: Concurrent recalls per check (more than the workers: every worker answers some).
CONCURRENT = 6


@pytest.fixture(scope="module")
def workers_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp(f"workers-{backend}")
    args = ["--stages", "turns", "--token", ADMIN, "--read-workers", "2", "--create"]
    with running_server(backend, tmp, args) as srv:
        yield srv


def _in_process(srv: Server, namespace: str, question: str) -> list[dict[str, Any]]:
    """The evidence a fresh Memory on the server's store finds (no cache of any worker)."""
    if srv.store_args[0] == "--neo4j":
        mem = Memory.open(neo4j_uri=srv.store_args[1], namespace=namespace, embedder="hash")
    else:
        mem = Memory.open(Path(srv.store_args[1]), namespace=namespace, embedder="hash")
    with mem:
        answer = recall(mem, SearchRequest(question, 5, None), Filters())
    return [e.as_dict() for e in answer.evidence]


def _check_every_worker(srv: Server, namespace: str) -> list[list[dict[str, Any]]]:
    """Concurrent recalls of each question equal the in-process search; the evidence."""

    def ask(question: str) -> list[dict[str, Any]]:
        with srv.client() as c:
            r = c.post(srv.api(namespace, "recall"), json={"question": question, "k": 5})
            assert r.status_code == 200, r.text
            return list(r.json()["evidence"])

    out = []
    for q in QUESTIONS:
        with ThreadPoolExecutor(CONCURRENT) as pool:
            answers = list(pool.map(ask, [q] * CONCURRENT))
        expected = _in_process(srv, namespace, q)
        assert all(a == expected for a in answers), (q, answers, expected)
        out.append(expected)
    return out


def test_every_worker_reads_each_write(workers_server: Server, namespace: str) -> None:
    srv = workers_server
    turns = [dict(t, turn_id=f"t{i}") for i, t in enumerate(demo_turns())]
    assert not any(_check_every_worker(srv, namespace))  # empty: what each worker caches
    with srv.client() as c:
        for start, stop in ((0, 4), (4, 5), (5, len(turns))):
            r = c.post(srv.api(namespace, "remember"), json={"turns": turns[start:stop]})
            assert r.status_code == 200, r.text
            found = _check_every_worker(srv, namespace)
            stored = {t["turn_id"] for t in turns[:stop]}
            seen = {tid for ev in found for e in ev for tid in e["turn_ids"]}
            assert seen and seen <= stored
        r = c.post(srv.api(namespace, "forget"), json={"conversation": turns[0]["conversation"]})
        assert r.status_code == 200, r.text
    assert not any(_check_every_worker(srv, namespace))


def test_workers_are_processes_of_the_server(workers_server: Server) -> None:
    """The server runs two worker processes (its children), not threads."""
    children = Path(f"/proc/{workers_server.proc.pid}/task/{workers_server.proc.pid}/children")
    if not children.exists():
        pytest.fail(f"{children} is missing: /proc is needed to list the workers")
    pids = children.read_text().split()
    cmdlines = [
        Path(f"/proc/{p}/cmdline").read_bytes() for p in pids if os.path.exists(f"/proc/{p}")
    ]
    assert sum(b"multiprocessing" in c and b"spawn" in c for c in cmdlines) == 2, cmdlines
