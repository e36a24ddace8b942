"""The facade both backends share: the store contract, delegated to a backend's modules.

A backend package splits its work into a ``writes``, a ``reads`` and a ``search``
module whose functions take the backend's database object first and then the
method's arguments positionally, a label's scope as one
:class:`~kg_memory.store.common.Scope` (``reads.find_nodes(db, scope, limit,
with_embeddings)``). :class:`ModuleStore` implements every
abstract method of :class:`~kg_memory.store.base.Store` by calling them, and turns
errors escaping them into kg-memory errors with the backend's ``convert_error``.
Checks that do not depend on the backend (labels, ``neighbours`` arguments) run
here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import numpy as np

from kg_memory.errors import KGMemoryError
from kg_memory.model import Edge, Hit, Node, Stats, check_label
from kg_memory.store.base import MAX_KEYWORD_CANDIDATES, Direction, Store, neighbour_args
from kg_memory.store.common import Generations, Scope, translate_errors
from kg_memory.store.shared import conversation_node_ids, linked_shared, refresh_shared


class DatabaseHandle(Protocol):
    """What the facade itself asks of a backend's database object."""

    #: This process's write counters of the database: bumping one drops the cached reads.
    generations: Generations

    def close(self) -> None: ...

    def transaction(self) -> AbstractContextManager[None]: ...


DB = TypeVar("DB", bound=DatabaseHandle)


@dataclass(frozen=True)
class BackendModules:
    """A backend's modules, and how its database errors become kg-memory errors."""

    writes: ModuleType
    reads: ModuleType
    search: ModuleType
    #: ``convert(store, exc)`` as for :func:`~kg_memory.store.common.translate_errors`.
    convert_error: Callable[[Any, Exception], KGMemoryError | None]


#: Turns an error escaping a delegated method into the backend's kg-memory error.
db_errors = translate_errors(lambda store, exc: store.modules.convert_error(store, exc))


class ModuleStore(Store, Generic[DB]):
    """A :class:`~kg_memory.store.base.Store` whose methods call a backend's modules.

    A subclass sets :attr:`modules`, and ``self._db`` (its database object, which the
    module functions take first) in its constructor.
    """

    modules: ClassVar[BackendModules]
    _db: DB

    # -- lifecycle -------------------------------------------------------
    def close(self) -> None:
        self._db.close()

    def transaction(self) -> AbstractContextManager[None]:
        """Group writes in one transaction; nested calls join the outer one."""
        return self._db.transaction()

    # -- writes ----------------------------------------------------------
    @db_errors
    def upsert_nodes(self, nodes: Sequence[Node]) -> None:
        self.modules.writes.upsert_nodes(self._db, nodes)

    @db_errors
    def upsert_edges(self, edges: Sequence[Edge]) -> None:
        self.modules.writes.upsert_edges(self._db, edges)

    @db_errors
    def delete_conversation(self, namespace: str, conversation: str) -> int:
        """Delete the conversation, then bring the shared entities it touched in line with
        what is left (:mod:`kg_memory.store.shared`), in one transaction."""
        with self.transaction():
            ids = conversation_node_ids(self, namespace, conversation)
            linked = linked_shared(self, namespace, ids)
            deleted = int(
                self.modules.writes.delete_conversation(self._db, namespace, conversation)
            )
            return deleted + refresh_shared(self, namespace, linked)

    @db_errors
    def delete_nodes(self, namespace: str, ids: Sequence[str]) -> int:
        return int(self.modules.writes.delete_nodes(self._db, namespace, ids))

    @db_errors
    def delete_edges(self, namespace: str, keys: Sequence[tuple[str, str, str]]) -> int:
        return int(self.modules.writes.delete_edges(self._db, namespace, keys))

    @db_errors
    def delete_namespace(self, namespace: str) -> int:
        return self.modules.writes.delete_namespace(self._db, namespace)

    @db_errors
    def lock_namespace(self, namespace: str) -> None:
        self.modules.writes.lock_namespace(self._db, namespace)

    # -- reads -----------------------------------------------------------
    @db_errors
    def get_nodes(
        self, namespace: str, ids: Sequence[str], *, with_embeddings: bool = False
    ) -> list[Node]:
        return self.modules.reads.get_nodes(self._db, namespace, ids, with_embeddings)

    @db_errors
    def find_nodes(
        self,
        namespace: str,
        label: str,
        *,
        conversation: str | None = None,
        limit: int | None = None,
        with_embeddings: bool = False,
    ) -> list[Node]:
        check_label(label)
        scope = Scope(namespace, label, conversation)
        return self.modules.reads.find_nodes(self._db, scope, limit, with_embeddings)

    @db_errors
    def existing_ids(self, namespace: str, ids: Sequence[str]) -> set[str]:
        return self.modules.reads.existing_ids(self._db, namespace, list(dict.fromkeys(ids)))

    @db_errors
    def neighbours(
        self,
        namespace: str,
        ids: Sequence[str],
        *,
        edge_types: Sequence[str] | None = None,
        direction: Direction = "both",
    ) -> list[Edge]:
        args = neighbour_args(ids, edge_types, direction)
        if args is None:
            return []
        wanted, types = args
        return self.modules.reads.neighbours(self._db, namespace, wanted, types, direction)

    @db_errors
    def counts(self, namespace: str | None = None) -> Stats:
        return self.modules.reads.counts(self._db, namespace)

    @db_errors
    def namespaces(self) -> list[str]:
        return self.modules.reads.namespaces(self._db)

    @db_errors
    def conversations(self, namespace: str) -> list[str]:
        return self.modules.reads.conversations(self._db, namespace)

    # -- search ----------------------------------------------------------
    @db_errors
    def vector_search(
        self,
        namespace: str,
        label: str,
        vector: np.ndarray,
        k: int,
        *,
        conversation: str | None = None,
    ) -> list[Hit]:
        scope = Scope(namespace, label, conversation)
        return self.modules.search.vector_search(self._db, scope, vector, k)

    @db_errors
    def keyword_candidates(
        self,
        namespace: str,
        label: str,
        terms: Sequence[str],
        *,
        conversation: str | None = None,
        limit: int = MAX_KEYWORD_CANDIDATES,
    ) -> list[tuple[str, str]]:
        check_label(label)
        if limit <= 0:
            return []
        scope = Scope(namespace, label, conversation)
        return self.modules.search.keyword_candidates(self._db, scope, terms, limit)

    @db_errors
    def scoring_candidates(
        self, namespace: str, label: str, terms: Sequence[str], conversation: str | None
    ) -> tuple[list[tuple[str, str]], bool]:
        """The candidates' indexed text (``ftext``: tokens joined by spaces)."""
        check_label(label)
        scope = Scope(namespace, label, conversation)
        search = self.modules.search
        return search.keyword_candidates(
            self._db, scope, terms, MAX_KEYWORD_CANDIDATES, tokenized=True
        ), True

    @db_errors
    def text_stats(
        self, namespace: str, label: str, *, conversation: str | None = None
    ) -> tuple[int, float]:
        check_label(label)
        return self.modules.search.text_stats(self._db, namespace, label, conversation)


__all__ = ["BackendModules", "DatabaseHandle", "ModuleStore", "db_errors"]
