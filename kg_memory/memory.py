"""The Python API: :class:`Memory` is one namespace of one store.

>>> from kg_memory import Memory
>>> with Memory.open(store_dir=getfixture("tmp_path") / "m", embedder="hash") as mem:
...     report = mem.ingest(["ingest/samples/demo.jsonl"], stages="turns")
...     answer = mem.ask("Where did they go hiking?", k=3)
>>> len(answer.evidence)
3
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Unpack

from kg_memory.config import Location, Settings
from kg_memory.embed import Embedder, get_embedder
from kg_memory.errors import KGMemoryError, with_committed
from kg_memory.forget import ForgetReport, ForgetTarget, forget
from kg_memory.formats.model import RawConversation
from kg_memory.ingest.pipeline import IngestReport, Pipeline, Progress
from kg_memory.model import Stats
from kg_memory.retrieval.evidence import Answer
from kg_memory.retrieval.presets import DEFAULT_PRESET, search
from kg_memory.retrieval.request import SearchRequest, SearchScope
from kg_memory.store import open_store
from kg_memory.store.base import Store

if TYPE_CHECKING:
    from kg_memory.append import RememberReport


class Memory:
    """Long-term memory of one namespace.

    Parameters
    ----------
    store:
        An open :class:`~kg_memory.store.base.Store` (embedded or Neo4j).
    namespace:
        Whose memory this is; every read and write is scoped to it.
    embedder:
        An :class:`~kg_memory.embed.Embedder` or its name (``minilm``, ``hash``).
    """

    def __init__(
        self,
        store: Store,
        *,
        namespace: str = "default",
        embedder: Embedder | str = "minilm",
    ) -> None:
        self.store = store
        self.namespace = namespace
        self.embedder = get_embedder(embedder) if isinstance(embedder, str) else embedder

    @classmethod
    def open(
        cls,
        store_dir: str | Path | None = None,
        *,
        embedder: Embedder | str | None = None,
        **where: Unpack[Location],
    ) -> Memory:
        """Open the memory described by arguments (``namespace``, ``neo4j_uri``, ``create``:
        see :class:`~kg_memory.config.Location`), then environment, then defaults.
        ``create=False`` refuses an embedded store path that holds no store."""
        name = embedder if isinstance(embedder, str) else None
        settings = Settings.resolve(store_dir, embedder=name, **where)
        store = open_store(settings.store)
        emb = (
            embedder
            if embedder is not None and not isinstance(embedder, str)
            else settings.embedder
        )
        return cls(store, namespace=settings.namespace, embedder=emb)

    # -- lifecycle --------------------------------------------------------
    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- ingest -----------------------------------------------------------
    def pipeline(self, stages: Sequence[str] | str | None = None) -> Pipeline:
        return Pipeline(self.store, self.embedder, self.namespace, stages)

    def ingest(
        self,
        paths: Iterable[str | Path],
        *,
        format: str | None = None,
        stages: Sequence[str] | str | None = None,
        force: bool = False,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Ingest files; each is validated whole, then stored in one transaction."""
        import time

        pipe = self.pipeline(stages)
        report = IngestReport()
        t0 = time.perf_counter()
        todo = [str(p) for p in paths]
        for i, path in enumerate(todo):
            try:
                pipe.ingest_file(path, report, format=format, force=force, progress=progress)
            except KGMemoryError as exc:
                raise with_committed(exc, report.files, todo[i + 1 :]) from exc
        report.seconds = time.perf_counter() - t0
        return report

    def ingest_conversations(
        self,
        convs: Sequence[RawConversation],
        *,
        stages: Sequence[str] | str | None = None,
        force: bool = False,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Ingest already-parsed conversations (one transaction)."""
        import time

        report = IngestReport()
        t0 = time.perf_counter()
        self.pipeline(stages).ingest_conversations(convs, report, force=force, progress=progress)
        report.seconds = time.perf_counter() - t0
        return report

    def remember(
        self, turns: Any, *, stages: Sequence[str] | str | None = None, consolidate: bool = True
    ) -> RememberReport:
        """Add turns (objects of the JSONL turn format) to their conversations.

        Idempotent per turn id. A new conversation is ingested whole; turns
        added to a stored one run through the stages alone and are linked to
        what is stored (:mod:`kg_memory.ingest.incremental`); with ``consolidate``
        the first turns of a new session re-process it whole
        (:func:`kg_memory.append.consolidates`).
        """
        from kg_memory.append import remember

        return remember(self, turns, stages=stages, consolidate=consolidate)

    def forget(
        self, target: ForgetTarget | str, *, stages: Sequence[str] | str | None = None
    ) -> ForgetReport:
        """Forget ``target`` (a conversation id: the whole conversation), with everything
        derived only from it (see :mod:`kg_memory.forget`)."""
        if isinstance(target, str):
            target = ForgetTarget(target)
        return forget(self, target, stages=stages)

    def forget_turn(
        self, conversation: str, turn_id: str, *, stages: Sequence[str] | str | None = None
    ) -> int:
        """Remove one turn and everything derived only from it; return the turns left."""
        return self.forget(ForgetTarget(conversation, turn_id=turn_id), stages=stages).turns_left

    # -- query ------------------------------------------------------------
    @property
    def scope(self) -> SearchScope:
        """Where this memory's searches run (store, embedder, namespace)."""
        return SearchScope(self.store, self.embedder, self.namespace)

    def search(self, request: SearchRequest, *, preset: str = DEFAULT_PRESET) -> Answer:
        """Ranked evidence for ``request`` with provenance and a trace.

        ``preset`` names a search strategy in :mod:`kg_memory.retrieval.presets`.
        """
        return search(self.scope, request, preset)

    def ask(
        self,
        question: str,
        *,
        k: int = 10,
        conversation: str | None = None,
        preset: str = DEFAULT_PRESET,
    ) -> Answer:
        """:meth:`search` for ``SearchRequest(question, k, conversation)``."""
        return self.search(SearchRequest(question, k, conversation), preset=preset)

    def stats(self) -> Stats:
        return self.store.counts(self.namespace)

    def conversations(self) -> list[str]:
        return self.store.conversations(self.namespace)

    def delete_conversation(self, conversation: str) -> int:
        return self.store.delete_conversation(self.namespace, conversation)

    def cypher(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Read-only Cypher (Neo4j store). ``$namespace`` is bound to this memory's namespace
        (a ``namespace`` parameter is refused), and the query must keep every node it
        matches to it (``WHERE n.namespace = $namespace``), else
        :class:`~kg_memory.errors.QueryError` (see :mod:`kg_memory.store.neo4j.guard`)."""
        return self.store.cypher(query, params, read_only=True, namespace=self.namespace)
