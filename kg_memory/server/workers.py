"""Read workers: ``recall`` answered in worker processes, so concurrent asks use every core.

A ranked search spends most of its time in Python (BM25 over the candidates'
tokens, graph reads, the features; cProfile of 40 asks: about 75% of an ask,
the question's MiniLM embedding 13%, SQLite about 7%, LightGBM 5%), which
holds the GIL: threads of one
process answer one question at a time, whatever the cores. :class:`ReadWorkers`
is a pool of processes (``spawn``: no state inherited), each with its own
embedder, ranker model and store connection, and so its own read caches.

Those caches never outlive a write: the server writes in its own process, and
every store checks its cached reads against the database's own change marker
before it uses them (SQLite's ``data_version`` on the embedded store, the last
commit's bookmark on Neo4j), so a worker's next question after another
process's commit reads it. The server holds its
:class:`~kg_memory.server.service.ReadWriteGate` for reading while a worker
answers, so no commit runs meanwhile, as for an in-process read: the answer
sees all of a write or none of it.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from kg_memory.config import StoreConfig
from kg_memory.errors import KGMemoryError, StoreError
from kg_memory.retrieval.request import SearchRequest
from kg_memory.server.recall import Filters


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker process opens: the store, the embedder, its torch threads."""

    store: StoreConfig
    embedder: str = "minilm"
    torch_threads: int = 1


@dataclass
class _Worker:
    """A worker process's state: its store and its embedder."""

    store: Any
    embedder: Any


_STATE: _Worker | None = None


def _start(setup: WorkerSetup) -> None:
    """The pool's initializer: open the store and load the models once per process."""
    global _STATE
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops its workers itself
    from kg_memory.embed import get_embedder, set_threads
    from kg_memory.retrieval.rank.model import load_ranker
    from kg_memory.store import open_store

    set_threads(setup.torch_threads or None)
    embedder = get_embedder(setup.embedder)
    embedder.embed(["warm up"])
    load_ranker()
    _STATE = _Worker(open_store(setup.store), embedder)


@dataclass(frozen=True)
class _Raised:
    """A kg-memory error raised in a worker, rebuilt as it was in the server process."""

    cls: type[KGMemoryError]
    args: tuple[Any, ...]
    state: dict[str, Any]

    def rebuild(self) -> KGMemoryError:
        exc = self.cls.__new__(self.cls)
        Exception.__init__(exc, *self.args)
        exc.__dict__.update(self.state)
        return exc


def _recall(namespace: str, request: SearchRequest, filters: Filters) -> dict[str, Any] | _Raised:
    """One ``recall`` in a worker: the answer as JSON data, or the error it raised."""
    from kg_memory.memory import Memory
    from kg_memory.server.recall import recall

    assert _STATE is not None, "worker not started"
    try:
        mem = Memory(_STATE.store, namespace=namespace, embedder=_STATE.embedder)
        return recall(mem, request, filters).as_dict()
    except KGMemoryError as exc:
        return _Raised(type(exc), exc.args, dict(exc.__dict__))


def _ready() -> int:
    """Answered once the worker's initializer has run (its process id)."""
    import os

    return os.getpid()


class ReadWorkers:
    """``processes`` worker processes answering ``recall`` (see the module docstring)."""

    def __init__(self, setup: WorkerSetup, processes: int) -> None:
        self.setup = setup
        self.processes = processes
        self._lock = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(self.setup,),
        )

    def start(self) -> list[int]:
        """Start every process and wait until each has loaded its models; their pids.

        Each submitted task finds no idle process, so the pool starts one per task.
        """
        futures = [self._pool.submit(_ready) for _ in range(self.processes)]
        return [f.result() for f in futures]

    def recall(self, namespace: str, request: SearchRequest, filters: Filters) -> dict[str, Any]:
        """Answer in a worker (the caller holds the gate for reading: see the module)."""
        with self._lock:
            pool = self._pool
        future: Future[dict[str, Any] | _Raised]
        try:
            future = pool.submit(_recall, namespace, request, filters)
            out = future.result()
        except BrokenProcessPool as exc:
            with self._lock:
                if self._pool is pool:  # the first to notice starts a new pool
                    self._pool = self._new_pool()
            raise StoreError(f"a read worker died ({exc}); the workers were restarted") from exc
        if isinstance(out, _Raised):
            raise out.rebuild()
        return out

    def close(self) -> None:
        with self._lock:
            self._pool.shutdown(wait=True, cancel_futures=True)
