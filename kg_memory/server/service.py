"""The operations the HTTP API and the MCP tools share, over :class:`kg_memory.Memory`.

One :class:`MemoryService` per server process holds the models (loaded once)
and the open stores:

* **one writer**: a store connection used only under the service's write lock,
  so writes (``remember``, ``forget``) queue up one at a time;
* **a pool of readers**: separate connections, one per concurrent read (on
  the embedded store each is its own SQLite connection in WAL mode), so reads
  go on while the writer processes new turns;
* optionally **read workers** (:mod:`.workers`): processes that answer
  ``recall``, each with its own models and store connection, so that
  concurrent questions run on every core (one process answers one question
  at a time: the search is Python and holds the GIL).

A read (one request: a search makes many store calls) must never see half
of a write. Neither store gives that on its own across several statements:
SQLite in autocommit mode takes a fresh snapshot per statement, and Neo4j's
read-committed isolation lets a read see a transaction while it commits. So
a :class:`ReadWriteGate` keeps commits and reads apart: reads share it for
their whole duration; the writer takes it alone only while it commits (the
store transaction of an ingest, a delete), not while it parses and embeds,
which is where a write spends its time. Writes from other processes (a CLI
``ingest`` into the same store) are not gated. A worker's question holds the
gate for reading here, in the server's process, while the worker answers it.

Every operation takes the namespace explicitly and returns plain JSON data.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Unpack

from kg_memory.config import Location, Settings
from kg_memory.embed import Embedder, get_embedder
from kg_memory.forget import ForgetTarget
from kg_memory.ingest.pipeline import resolve_stages
from kg_memory.memory import Memory
from kg_memory.retrieval.request import SearchRequest
from kg_memory.server.recall import Filters, recall
from kg_memory.server.workers import ReadWorkers, WorkerSetup
from kg_memory.store import open_store
from kg_memory.store.base import Store

#: Read connections kept open by default.
DEFAULT_READERS = 4


class ReadWriteGate:
    """Many readers or one committing writer; a waiting writer goes before new readers.

    >>> gate = ReadWriteGate()
    >>> with gate.read(), gate.read():
    ...     pass
    >>> with gate.write():
    ...     with gate.write():  # nested in the writing thread: one write
    ...         pass
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer: int | None = None  # thread id of the committing writer
        self._depth = 0
        self._waiting_writers = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: self._writer is None and not self._waiting_writers)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        """Exclusive; re-entrant in the writing thread (a store transaction may nest)."""
        me = threading.get_ident()
        with self._cond:
            if self._writer == me:
                self._depth += 1
            else:
                self._waiting_writers += 1
                self._cond.wait_for(lambda: self._writer is None and not self._readers)
                self._waiting_writers -= 1
                self._writer, self._depth = me, 1
        try:
            yield
        finally:
            with self._cond:
                self._depth -= 1
                if not self._depth:
                    self._writer = None
                    self._cond.notify_all()


class MemoryService:
    """Models loaded once, one writer and a pool of readers over one store."""

    def __init__(
        self,
        settings: Settings,
        *,
        stages: Sequence[str] | str | None = None,
        readers: int = DEFAULT_READERS,
        embedder: Embedder | None = None,
        read_workers: int = 0,
        torch_threads: int = 1,
    ) -> None:
        self.settings = settings
        self.default_namespace = settings.namespace
        self.stages = resolve_stages(stages)
        self.embedder = embedder or get_embedder(settings.embedder)
        self._write_lock = threading.Lock()
        self._gate = ReadWriteGate()
        self._writer = _gated(open_store(settings.store), self._gate)
        self._all: list[Store] = [self._writer]
        #: ``recall`` in worker processes (:mod:`.workers`); ``None``: on the readers
        self.workers: ReadWorkers | None = None
        # LIFO: sequential requests reuse the reader whose caches are warm
        self._readers: queue.LifoQueue[Store] = queue.LifoQueue()
        try:
            for _ in range(max(1, readers)):
                store = open_store(settings.store)
                self._all.append(store)
                self._readers.put(store)
            self.workers = self._workers(read_workers, torch_threads)
        except BaseException:
            self.close()
            raise

    def _workers(self, processes: int, torch_threads: int) -> ReadWorkers | None:
        if processes < 1:
            return None
        setup = WorkerSetup(self.settings.store, self.settings.embedder, torch_threads)
        return ReadWorkers(setup, processes)

    @classmethod
    def open(
        cls,
        store_dir: str | Path | None = None,
        *,
        embedder: str | None = None,
        stages: Sequence[str] | str | None = None,
        readers: int = DEFAULT_READERS,
        read_workers: int = 0,
        torch_threads: int = 1,
        **where: Unpack[Location],
    ) -> MemoryService:
        """Open the store described by arguments (``namespace``, ``neo4j_uri``: see
        :class:`~kg_memory.config.Location`), then environment, then defaults."""
        settings = Settings.resolve(store_dir, embedder=embedder, **where)
        return cls(
            settings,
            stages=stages,
            readers=readers,
            read_workers=read_workers,
            torch_threads=torch_threads,
        )

    @property
    def backend(self) -> str:
        return self._writer.name

    @property
    def location(self) -> str:
        """Which store it serves (:func:`kg_memory.client.store_location`); clients compare it."""
        from kg_memory.client import store_location

        return store_location(self.settings)

    def warm_up(self) -> None:
        """Load the models now (and start the read workers), so that the first request
        does not pay for it."""
        self.embedder.embed(["warm up"])
        if self.workers is not None:
            self.workers.start()
        if set(self.stages) - {"granularity"}:
            from kg_memory.nlp import load_nlp

            load_nlp()

    def close(self) -> None:
        if self.workers is not None:
            self.workers.close()
            self.workers = None
        for store in self._all:
            store.close()
        self._all.clear()

    def __enter__(self) -> MemoryService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- access ------------------------------------------------------------
    @contextmanager
    def reading(self, namespace: str) -> Iterator[Memory]:
        """A memory over a reader connection of its own, returned to the pool after use."""
        store = self._readers.get()
        try:
            with self._gate.read():
                yield Memory(store, namespace=namespace, embedder=self.embedder)
        finally:
            self._readers.put(store)

    @contextmanager
    def writing(self, namespace: str) -> Iterator[Memory]:
        """The writer's memory, held under the write lock (writes queue one at a time)."""
        with self._write_lock:
            yield Memory(self._writer, namespace=namespace, embedder=self.embedder)

    # -- operations -----------------------------------------------------------
    def remember(self, namespace: str, turns: Any) -> dict[str, Any]:
        with self.writing(namespace) as mem:
            report = mem.remember(turns, stages=self.stages)
        return {"namespace": namespace, **report.as_dict()}

    def recall(
        self,
        namespace: str,
        question: str,
        *,
        k: int = 10,
        conversation: str | None = None,
        speaker: str | None = None,
        since: str | None = None,
        until: str | None = None,
        explain: bool = False,
    ) -> dict[str, Any]:
        filters = Filters.parse(speaker, since, until)
        request = SearchRequest(question, k, conversation, explain)
        if self.workers is not None:
            with self._gate.read():  # no commit while a worker reads: it sees all or none
                return self.workers.recall(namespace, request, filters)
        with self.reading(namespace) as mem:
            answer = recall(mem, request, filters)
        return answer.as_dict()

    def forget(self, namespace: str, target: ForgetTarget) -> dict[str, Any]:
        out: dict[str, Any] = {"namespace": namespace, "conversation": target.conversation}
        with self.writing(namespace) as mem:
            if target.whole:
                with mem.store.transaction():  # gated: no read sees half a delete
                    deleted = mem.delete_conversation(target.conversation)
                return out | {"deleted_nodes": deleted}
            report = mem.forget(target, stages=self.stages)
        out["turns_left"] = report.turns_left
        if target.turn_id is not None:
            return out | {"turn_id": target.turn_id}
        return out | {"session": target.session}

    def stats(self, namespace: str) -> dict[str, Any]:
        with self.reading(namespace) as mem:
            return {"namespace": namespace, **mem.stats().as_dict()}

    def conversations(self, namespace: str) -> dict[str, Any]:
        with self.reading(namespace) as mem:
            return {"namespace": namespace, "conversations": mem.conversations()}

    def cypher(
        self, namespace: str, query: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Read-only Cypher through :meth:`kg_memory.Memory.cypher` (``$namespace`` bound)."""
        with self.reading(namespace) as mem:
            rows = mem.cypher(query, params)
        return {"namespace": namespace, "rows": json.loads(json.dumps(rows, default=str))}


def _gated(store: Store, gate: ReadWriteGate) -> Store:
    """``store`` whose transactions hold ``gate`` for writing while they run."""
    inner = store.transaction

    @contextmanager
    def transaction() -> Iterator[None]:
        with gate.write(), inner():
            yield

    store.transaction = transaction  # type: ignore[method-assign]
    return store
