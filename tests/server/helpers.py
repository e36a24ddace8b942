"""Helpers of the server tests: real ``kg-memory serve`` processes, real clients.

:func:`start_server` runs the installed ``kg-memory`` command in a
subprocess, waits for ``/health`` and stops it afterwards. Servers are
module-scoped (one per store backend); tests keep apart by using a fresh
namespace each.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
KGM = str(Path(sys.executable).with_name("kg-memory"))
DEMO = REPO / "ingest" / "samples" / "demo.jsonl"

#: Tokens the shared servers accept.
ADMIN = "admin-token-0123"
ALICE = "alice-token-0123"  # only namespace "alice"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(store: Path, embedder: str = "hash") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_MEMORY_")}
    env.update(KG_MEMORY_EMBEDDER=embedder, KG_MEMORY_STORE=str(store))
    if os.environ.get("KG_MEMORY_NEO4J_PASSWORD"):
        env["KG_MEMORY_NEO4J_PASSWORD"] = os.environ["KG_MEMORY_NEO4J_PASSWORD"]
    return env


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]
    store_args: list[str]  # how a CLI command opens the same store

    def client(self, token: str | None = ADMIN, timeout: float = 60) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def api(self, namespace: str, op: str) -> str:
        return f"/v1/namespaces/{namespace}/{op}"


def start_server(
    store_args: list[str],
    args: Sequence[str],
    env: dict[str, str],
    log: Path,
    timeout: float = 120,
    cwd: Path | None = None,
) -> Server:
    """Start ``kg-memory serve ARGS`` on a free port; wait until ``/health`` answers.

    Recall is answered in the server process unless ARGS ask for read workers:
    tests/server/test_workers.py covers the workers, and every other test
    server would otherwise load the models once per core.
    """
    if "--read-workers" not in args:
        args = [*args, "--read-workers", "0"]
    port = free_port()
    out = log.open("wb")
    proc = subprocess.Popen(
        [KGM, "serve", "--port", str(port), *store_args, *args],
        stdout=out,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=cwd,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return Server(url, proc, log, env, store_args)
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    stop_server(proc)
    raise AssertionError(f"server did not start in {timeout} s: {log.read_text()}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def running_server(backend: str, tmp: Path, args: Sequence[str]) -> Iterator[Server]:
    """``kg-memory serve ARGS`` on ``backend`` (a store under ``tmp`` when embedded),
    stopped on exit."""
    store = backend_args(backend, tmp / "store")
    srv = start_server(store, args, server_env(tmp / "store"), tmp / "server.log")
    try:
        yield srv
    finally:
        stop_server(srv.proc)


def backend_args(backend: str, store: Path) -> list[str]:
    if backend == "neo4j":
        uri = os.environ.get("KG_MEMORY_NEO4J_URI")
        if not uri:
            pytest.fail("KG_MEMORY_NEO4J_URI is not set")
        return ["--neo4j", uri]
    return ["--store", str(store)]


def demo_turns(limit: int | None = None) -> list[dict[str, Any]]:
    lines = [json.loads(x) for x in DEMO.read_text(encoding="utf-8").splitlines() if x.strip()]
    return lines[:limit]


def turn(text: str, **over: Any) -> dict[str, Any]:
    base = {
        "conversation": "c1",
        "session": 1,
        "session_time": "2024-03-09T18:30:00",
        "speaker": "Maya",
        "text": text,
    }
    return {**base, **over}
