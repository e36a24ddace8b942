"""The Neo4j store: the memory graph in a Neo4j 5.26+ server, through the official driver.

Why this design
---------------
* **Parameterised Cypher only.** Every query text is a literal of
  :mod:`~kg_memory.store.neo4j.cypher`; values travel as parameters. The only
  interpolated names are node labels and relationship types, and only after
  :func:`~kg_memory.model.check_label` / :func:`~kg_memory.model.check_edge_type`
  (closed allow-lists).
* **One node per id, two labels.** Every node carries ``:Memory`` (the uniqueness
  constraint, the range indexes and the full-text index hang off it) and its own
  label. Props Neo4j holds exactly are plain properties, the rest one JSON
  string (:mod:`~kg_memory.store.neo4j.rows`). Relationships likewise; their
  namespace is that of their ends.
* **Batched writes** (:mod:`~kg_memory.store.neo4j.writes`): ``UNWIND`` batches,
  ``CREATE`` for new ids, ``MERGE`` for the others, edge ends found by element id.
* **Batched reads.** :meth:`Neo4jStore.search_many` runs a question's searches
  as one statement, and :meth:`Neo4jStore.reading` keeps one read transaction
  for all the reads of a question.
* **Identical ranking** to the embedded store (:mod:`~kg_memory.store.neo4j.search`).

The package: :mod:`.connection` (driver, sessions, transactions, retries),
:mod:`.schema` (DDL), :mod:`.rows` (row and property conversion),
:mod:`.cypher` (statement texts), :mod:`.fulltext` (Lucene queries),
:mod:`.writes`, :mod:`.reads`, :mod:`.search`, :mod:`.explorer` (read-only
Cypher); this module is the facade, whose contract methods
:class:`~kg_memory.store.facade.ModuleStore` delegates to them. Measurements: ``NOTES.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from kg_memory.config import Neo4jConfig
from kg_memory.model import Hit
from kg_memory.store.base import Search
from kg_memory.store.facade import BackendModules, ModuleStore, db_errors
from kg_memory.store.neo4j import explorer, reads, search, writes
from kg_memory.store.neo4j.connection import Connection
from kg_memory.store.neo4j.connection import _convert as convert_error


class Neo4jStore(ModuleStore[Connection]):
    """The memory in a Neo4j server (Bolt URI, user, password, database from ``config``).

    Construction checks that the server answers and accepts the credentials
    (else :class:`~kg_memory.errors.StoreUnavailableError` naming the URI),
    then applies ``schemas/neo4j.cypher`` idempotently and waits for its indexes.
    Thread-safe: the driver pools connections; each thread has its own
    ``transaction()``. :meth:`cypher` always runs in its own read session and does
    not see writes of an open transaction, and the vector index does not see them
    either (Neo4j indexes vectors at commit).
    """

    name: ClassVar[str] = "neo4j"
    config_class: ClassVar[type[Neo4jConfig]] = Neo4jConfig
    supports_cypher: ClassVar[bool] = True
    modules: ClassVar[BackendModules] = BackendModules(writes, reads, search, convert_error)

    def __init__(self, config: Neo4jConfig) -> None:
        self.check_config(config)
        self.config = config
        self.uri = config.uri
        self.database = config.database or None
        self._db = Connection(config)

    def __repr__(self) -> str:
        return f"Neo4jStore({self.uri!r}, database={self.database!r})"

    def reading(self) -> AbstractContextManager[None]:
        """Run the calling thread's reads in one read transaction (see :meth:`Store.reading`)."""
        return self._db.reading()

    # -- search ----------------------------------------------------------
    @db_errors
    def search_many(
        self, namespace: str, searches: Sequence[Search], *, conversation: str | None = None
    ) -> list[list[Hit]]:
        """Every search in one Cypher statement: one round trip (:func:`.search.search_many`)."""

        def one_search(s: Search) -> list[Hit]:
            return self._one_search(namespace, s, conversation)

        return search.search_many(self._db, namespace, searches, conversation, one_search)

    # -- Cypher ----------------------------------------------------------
    @db_errors
    def cypher(
        self,
        query: str,
        params: dict[str, Any] | None = None,
        *,
        read_only: bool = True,
        namespace: str | None = None,
    ) -> list[dict[str, Any]]:
        """Run Cypher; rows as dicts (nodes/relationships as property dicts, no vectors).

        With ``read_only`` (the CLI's only mode) the query's ``EXPLAIN`` plan is
        checked before it runs in READ access mode; with ``namespace`` every node
        it reads must be kept to it (:func:`.explorer.cypher`, :mod:`.guard`).
        """
        return explorer.cypher(self._db, query, params, read_only, namespace)


__all__ = ["Neo4jStore"]
