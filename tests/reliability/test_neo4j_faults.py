"""Neo4j faults (issue 16, item 3): the server stops or restarts under a running command.

The restarts run on a Neo4j server of this test's own (its own home in a
temporary directory and its own port, started with ``scripts/neo4j-server``),
never on the shared test server. Under a restart a command must either finish
(the store's retries) or fail with one clear line that names the URI; running
it again must then finish with exactly what a clean ingest stores. Wrong or
unreachable URIs get one clear line, never a traceback.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.helpers import REPO, Child, child_env, locomo_part, snapshot

SCRIPT = REPO / "scripts" / "neo4j-server"
NS = "faults"
#: The ``kg-memory`` command of this checkout.
KG_MEMORY = [sys.executable, "-m", "kg_memory.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OwnServer:
    """A Neo4j server only this test uses: ``scripts/neo4j-server`` with its own home and port."""

    def __init__(self, home: Path) -> None:
        self.port = _free_port()
        self.uri = f"bolt://127.0.0.1:{self.port}"
        built = Path(os.environ.get("KG_MEMORY_NEO4J_HOME", REPO / "build" / "neo4j"))
        home.mkdir(parents=True, exist_ok=True)
        for part in ("lib", "classes"):  # reuse the jars and the compiled server, if built
            if (built / part / ".stamp").is_file():
                (home / part).symlink_to((built / part).resolve())
        self.env = {
            **os.environ,
            "KG_MEMORY_NEO4J_HOME": str(home),
            "KG_MEMORY_NEO4J_PORT": str(self.port),
            "KG_MEMORY_NEO4J_HEAP_MAX": "512m",
            "KG_MEMORY_NEO4J_PAGECACHE_MB": "64",
            "KG_MEMORY_NEO4J_CDS": "0",
        }

    def run(self, command: str) -> None:
        out = subprocess.run(
            [str(SCRIPT), command], env=self.env, capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 0, out.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnServer]:
    own = OwnServer(tmp_path_factory.mktemp("neo4j-faults") / "home")
    own.run("start")
    try:
        yield own
    finally:
        own.run("stop")


def _args(server: OwnServer, *args: str) -> list[str]:
    return [*args, "--neo4j", server.uri, "--namespace", NS]


def _clean_failure(server: OwnServer, rc: int, err: str) -> bool:
    """Exit code 2 and one line on stderr that names the server's URI."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    return rc == 2 and len(lines) == 1 and server.uri in lines[0] and "Traceback" not in err


def _outcome(server: OwnServer, rc: int, err: str) -> str:
    """How a command the server failed under ended: completed, one clear line, or BAD."""
    if rc == 0:
        return "completed"
    return "one clear line" if _clean_failure(server, rc, err) else "BAD"


def _memory(server: OwnServer) -> Any:
    from kg_memory import Memory

    return Memory.open(namespace=NS, neo4j_uri=server.uri, embedder="hash")


def _clean_ingest(server: OwnServer, data: Path) -> Any:
    """The snapshot of ``data`` ingested undisturbed (it stays stored)."""
    with _memory(server) as mem:
        mem.ingest([data])
        return snapshot(mem)


@pytest.mark.neo4j
@pytest.mark.slow
def test_restart_mid_ingest_then_rerun(server: OwnServer, locomo_dir: Path, tmp_path: Path) -> None:
    data = locomo_part(locomo_dir, tmp_path / "conv.json")
    clean = _clean_ingest(server, data)
    with _memory(server) as mem:
        mem.store.delete_namespace(NS)

    child = Child(_args(server, "ingest", str(data), "--json"))
    child.wait_for("KG-WRITE")
    server.run("restart")
    rc, _, err = child.finish()
    outcome = _outcome(server, rc, err)
    again = Child(_args(server, "ingest", str(data), "--json"))
    rc2, _, err2 = again.finish()
    with _memory(server) as mem:
        after = snapshot(mem)
    print(
        f"\nNeo4j restarted mid-ingest: the ingest {outcome} (exit {rc}); "
        f"the re-run exit {rc2}, store {'identical to' if after == clean else 'DIFFERS from'} "
        "a clean ingest"
    )
    assert outcome != "BAD", err
    assert rc2 == 0, err2
    assert after == clean


@pytest.mark.neo4j
@pytest.mark.slow
def test_stop_mid_ask_then_rerun(server: OwnServer, locomo_dir: Path, tmp_path: Path) -> None:
    clean = _clean_ingest(server, locomo_part(locomo_dir, tmp_path / "conv.json"))
    questions = tmp_path / "q.jsonl"
    words = ("dance", "store", "job", "studio", "competition", "Paris", "family", "business")
    questions.write_text(
        "".join(
            json.dumps({"id": i, "question": f"What about {words[i % 8]}?"}) + "\n"
            for i in range(400)
        ),
        encoding="utf-8",
    )
    child = Child(_args(server, "ask", "--batch", str(questions), "--k", "5"))
    while sum(1 for _, ln in child.lines if ln.startswith("{")) < 3:
        assert child.proc.poll() is None, child.stderr()
        time.sleep(0.01)
    server.run("stop")
    rc, out, err = child.finish(timeout=600)
    answered = sum(1 for ln in out.splitlines() if ln.startswith("{"))
    server.run("start")
    outcome = _outcome(server, rc, err)
    again = subprocess.run(
        [*KG_MEMORY, *_args(server, "ask", "--batch", str(questions))],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    with _memory(server) as mem:
        after = snapshot(mem)
    print(
        f"\nNeo4j stopped mid-ask: the batch {outcome} after {answered} of 400 answers "
        f"(exit {rc}: {err.strip()[:200]}); the re-run exit {again.returncode}, "
        f"{len(again.stdout.splitlines())} answers"
    )
    assert outcome != "BAD", err
    assert again.returncode == 0 and len(again.stdout.splitlines()) == 400, again.stderr
    assert after == clean


@pytest.mark.neo4j
def test_wrong_uris_are_one_clear_line(neo4j_config: Any) -> None:
    """A closed port, a non-Bolt scheme, wrong credentials: one line, no traceback, no secret."""
    secret = "wr0ng-s3cret-pw"
    closed = f"bolt://127.0.0.1:{_free_port()}"
    cases = [
        (closed, {}, closed),
        ("http://127.0.0.1:7474", {}, "http://127.0.0.1:7474"),
        (neo4j_config.uri, {"KG_MEMORY_NEO4J_PASSWORD": secret}, neo4j_config.uri),
        (neo4j_config.uri, {"KG_MEMORY_NEO4J_USER": "nobody"}, "rejected the credentials"),
    ]
    for uri, env, says in cases:
        out = subprocess.run(
            [*KG_MEMORY, "stats", "--neo4j", uri],
            env=child_env(**env),
            capture_output=True,
            text=True,
            timeout=120,
        )
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
        assert out.returncode == 2, (uri, out.stderr)
        assert len(lines) == 1 and says in lines[0], (uri, out.stderr)
        assert "Traceback" not in out.stderr and secret not in out.stderr + out.stdout
