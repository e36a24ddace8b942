"""Shared parts of the reliability tests (issue 16: kill points, Neo4j faults, concurrency).

* :func:`locomo_part` writes the first sessions of a small LoCoMo conversation
  (turns and dates only) to a temporary file: big enough for every stage, small
  enough for twenty kills per store in CI.
* :class:`Child` runs ``kg-memory ingest`` (or any command) in a subprocess whose
  stdout also carries two markers of the write phase: ``KG-WRITE`` when the
  ingest is about to open its write transaction, ``KG-COMMITTED`` when it has
  committed. The markers only observe (they wrap the pipeline's ``_gc_paused``,
  entered right before ``store.transaction()``); the command runs unchanged.
* :func:`snapshot` is what "exactly a clean ingest" compares: counts per label
  and edge type, every node id and every edge key of the namespace.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kg_memory import Memory
from kg_memory.export import iter_graph

REPO = Path(__file__).resolve().parents[2]
#: The smallest LoCoMo conversation of the development split, and how many sessions of it.
CONVERSATION = "conv-30.json"
SESSIONS = 3

#: The child: the ``kg-memory`` CLI with write-phase markers on stdout.
_HARNESS = """
import contextlib, sys
from kg_memory.ingest import pipeline

_paused = pipeline._gc_paused

@contextlib.contextmanager
def _marked():
    print("KG-WRITE", flush=True)
    with _paused():
        yield
    print("KG-COMMITTED", flush=True)

pipeline._gc_paused = _marked
from kg_memory.cli import app
app(sys.argv[1:], prog_name="kg-memory")
"""


def locomo_part(locomo_dir: Path, out: Path, sessions: int = SESSIONS) -> Path:
    """The first ``sessions`` sessions of :data:`CONVERSATION` (turns and dates only)."""
    data = json.loads((locomo_dir / CONVERSATION).read_text(encoding="utf-8"))
    keep: dict[str, Any] = {"speaker_a": data["speaker_a"], "speaker_b": data["speaker_b"]}
    for k in range(1, sessions + 1):
        keep[f"session_{k}"] = data[f"session_{k}"]
        keep[f"session_{k}_date_time"] = data[f"session_{k}_date_time"]
    out.write_text(json.dumps(keep), encoding="utf-8")
    return out


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child command: the hash embedder, this checkout first."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env["KG_MEMORY_EMBEDDER"] = "hash"
    env.update(extra)
    return env


@dataclass
class Child:
    """A ``kg-memory`` command in a subprocess; its stdout lines with their times."""

    args: Sequence[str]
    env: dict[str, str] = field(default_factory=child_env)
    lines: list[tuple[float, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _HARNESS, *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.monotonic() - self.started, line.rstrip("\n")))

    def seen(self, marker: str) -> float | None:
        """When ``marker`` was printed (seconds after the start), if it was."""
        return next((t for t, line in self.lines if line == marker), None)

    @property
    def phase(self) -> str:
        """Where the child is: ``start`` (before the write), ``write``, ``committed``."""
        if self.seen("KG-COMMITTED") is not None:
            return "committed"
        return "write" if self.seen("KG-WRITE") is not None else "start"

    def wait_for(self, marker: str, timeout: float = 300) -> float:
        deadline = time.monotonic() + timeout
        while (t := self.seen(marker)) is None:
            if self.proc.poll() is not None:
                self._reader.join(timeout=60)
                if (t := self.seen(marker)) is not None:
                    return t
                raise AssertionError(f"child exited before {marker}: {self.stderr()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {marker} within {timeout}s")
            time.sleep(0.005)
        return t

    def finish(self, timeout: float = 300) -> tuple[int, str, str]:
        """Wait for the exit; ``(returncode, stdout, stderr)``."""
        rc = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=60)
        out = "\n".join(line for _, line in self.lines if not line.startswith("KG-"))
        return rc, out, self.stderr()

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read() if self.proc.poll() is not None else ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=60)
        self._reader.join(timeout=60)


def snapshot(mem: Memory) -> dict[str, Any]:
    """Counts per label and edge type, node ids and edge keys of the memory's namespace."""
    nodes, edges = iter_graph(mem.store, mem.namespace)
    return {
        "counts": mem.stats().as_dict(),
        "nodes": sorted(n.id for n in nodes),
        "edges": sorted(e.key for e in edges),
    }


def store_args(kind: str, where: str) -> list[str]:
    """CLI options naming the store: ``where`` is a directory (embedded) or a namespace."""
    if kind == "embedded":
        return ["--store", where]
    return ["--neo4j", os.environ["KG_MEMORY_NEO4J_URI"], "--namespace", where]


def open_memory(kind: str, where: str) -> Memory:
    """The memory :func:`store_args` names, opened in this process (hash embedder)."""
    if kind == "embedded":
        return Memory.open(store_dir=where, embedder="hash")
    return Memory.open(
        namespace=where, neo4j_uri=os.environ["KG_MEMORY_NEO4J_URI"], embedder="hash"
    )


#: Both stores; the Neo4j one on the shared test server.
KINDS = [pytest.param("embedded"), pytest.param("neo4j", marks=pytest.mark.neo4j)]
