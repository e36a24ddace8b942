"""The storage contract every backend implements.

A store holds typed nodes and edges (:mod:`kg_memory.model`) for many
namespaces. Every read takes the namespace explicitly: nothing crosses from one
user's memory into another's.

Writes are batched upserts keyed by node id / ``(src, type, dst)``: writing the
same node twice leaves one node with the latest properties. Inside
``with store.transaction():`` all writes commit together on a clean exit and
roll back on any exception; outside it, each call is its own transaction.

Keyword search is split so that every backend ranks identically: a backend
returns the candidate documents from its native full-text index
(:meth:`Store.keyword_candidates`) and the corpus statistics
(:meth:`Store.text_stats`); :func:`kg_memory.bm25.bm25_rank` scores them.
Vector search likewise ranks with :func:`rank_by_cosine` over the stored
float32 vectors, whatever index found the candidates.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from kg_memory.bm25 import bm25_rank
from kg_memory.config import StoreConfig
from kg_memory.errors import ConfigError, QueryError
from kg_memory.model import Edge, Hit, Node, Stats, check_edge_type
from kg_memory.text import query_terms

Direction = Literal["out", "in", "both"]

#: Decimals cosine scores are rounded to before ranking (see :func:`rank_by_cosine`).
SCORE_DECIMALS = 12

#: Upper bound on keyword candidates fetched per query.
MAX_KEYWORD_CANDIDATES = 5000


def rank_by_cosine(query: np.ndarray, ids: Sequence[str], matrix: np.ndarray, k: int) -> list[Hit]:
    """Exact cosine top-``k`` of unit vectors, computed in float64, ties by id.

    >>> m = np.array([[1, 0], [0, 1], [0.6, 0.8]], dtype=np.float32)
    >>> [h.id for h in rank_by_cosine(np.array([1.0, 0.0]), ["a", "b", "c"], m, 2)]
    ['a', 'c']
    """
    if len(ids) == 0 or k <= 0:
        return []
    q = np.asarray(query, dtype=np.float64)
    qn = np.linalg.norm(q)
    if qn > 0:
        q = q / qn
    # Rounded so that equal vectors tie exactly whatever BLAS kernel summed them
    # (the last bits of a dot product depend on the matrix's shape); ties break by id,
    # so every store ranks the same candidates identically.
    scores = np.round(np.asarray(matrix, dtype=np.float64) @ q, SCORE_DECIMALS)
    ranked = sorted(zip((-scores).tolist(), ids, strict=True))  # best first, ties by id
    return [Hit(i, -neg) for neg, i in ranked[:k]]


def mean_length(count: int, total: int | None) -> float:
    """Mean token count from an exact integer sum, the same float in every store.

    >>> mean_length(3, 8), mean_length(0, None)
    (2.6666666666666665, 0.0)
    """
    return int(total or 0) / count if count else 0.0


@dataclass(frozen=True)
class Search:
    """One search of :meth:`Store.search_many`: BM25 over ``query`` or cosine to ``vector``.

    >>> Search("Turn", 5, query="support group").kind
    'keyword'
    """

    label: str
    k: int
    query: str | None = None
    vector: np.ndarray | None = None

    def __post_init__(self) -> None:
        if (self.query is None) == (self.vector is None):
            raise QueryError("a Search takes exactly one of query (keyword) or vector (dense)")

    @property
    def kind(self) -> Literal["keyword", "vector"]:
        return "keyword" if self.query is not None else "vector"


class Store(ABC):
    """Abstract base of the memory stores (embedded SQLite, Neo4j).

    Every backend is opened the same way: ``Backend(config)`` with an instance of
    its :attr:`config_class` (see :func:`kg_memory.store.open_store`).
    """

    #: Registry name of the backend (``"embedded"``, ``"neo4j"``), as in ``store.BACKENDS``.
    name: ClassVar[str]
    #: The configuration the backend is opened with (its ``backend`` equals :attr:`name`).
    config_class: ClassVar[type[StoreConfig]]
    #: Whether :meth:`cypher` runs queries (callers ask this, not for a class).
    supports_cypher: ClassVar[bool] = False

    # -- lifecycle -------------------------------------------------------
    @abstractmethod
    def __init__(self, config: StoreConfig) -> None:
        """Open the store ``config`` describes (an instance of :attr:`config_class`)."""

    @classmethod
    def check_config(cls, config: StoreConfig) -> None:
        """Raise :class:`~kg_memory.errors.ConfigError` unless ``config`` is this backend's."""
        if not isinstance(config, cls.config_class):
            raise ConfigError(
                f"the {cls.name} store is opened with {cls.config_class.__name__}, "
                f"not {type(config).__name__}"
            )

    @abstractmethod
    def close(self) -> None:
        """Release connections and file handles."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Group writes: commit on clean exit, roll back on any exception."""

    def reading(self) -> AbstractContextManager[None]:
        """Group the calling thread's reads (one search) in one read transaction.

        A hint for server backends, where each read is otherwise a transaction
        of its own; a no-op where reads are cheap, or inside ``transaction()``.
        """
        return nullcontext()

    # -- writes ----------------------------------------------------------
    @abstractmethod
    def upsert_nodes(self, nodes: Sequence[Node]) -> None:
        """Insert or replace nodes by id (props replaced whole, embedding kept if None)."""

    @abstractmethod
    def upsert_edges(self, edges: Sequence[Edge]) -> None:
        """Insert or replace edges by ``(src, type, dst)``. Both ends must exist."""

    @abstractmethod
    def delete_conversation(self, namespace: str, conversation: str) -> int:
        """Delete one conversation; return the number of nodes deleted.

        Deletes every node whose ``conversation`` is this one, with its edges,
        then namespace-level nodes (``conversation`` is ``None``, e.g. shared
        entities) that are left without any edge; shared entities it touched
        keep only what other conversations support (:mod:`kg_memory.store.shared`).
        """

    @abstractmethod
    def delete_nodes(self, namespace: str, ids: Sequence[str]) -> int:
        """Delete these nodes of ``namespace`` with their edges; return nodes deleted."""

    @abstractmethod
    def delete_edges(self, namespace: str, keys: Sequence[tuple[str, str, str]]) -> int:
        """Delete these ``(src, type, dst)`` edges of ``namespace``; return edges deleted."""

    @abstractmethod
    def delete_namespace(self, namespace: str) -> int:
        """Delete a whole namespace (every node and edge); return nodes deleted."""

    @abstractmethod
    def lock_namespace(self, namespace: str) -> None:
        """Inside ``transaction()``: hold ``namespace``'s write lock until the transaction ends.

        A transaction of another thread or process that asks for it meanwhile waits.
        Ingest takes it before it re-reads what is stored and writes, so two ingests
        into one namespace take turns (the second finds the first's conversations).
        A backend whose transactions already hold an exclusive write lock need not
        do more. Outside a transaction: :class:`~kg_memory.errors.StoreError`.
        """

    # -- reads -----------------------------------------------------------
    @abstractmethod
    def get_nodes(
        self, namespace: str, ids: Sequence[str], *, with_embeddings: bool = False
    ) -> list[Node]:
        """Nodes with these ids in this namespace, in the order of ``ids`` (missing ones skipped)."""

    @abstractmethod
    def find_nodes(
        self,
        namespace: str,
        label: str,
        *,
        conversation: str | None = None,
        limit: int | None = None,
        with_embeddings: bool = False,
    ) -> list[Node]:
        """Nodes of one label (optionally one conversation), ordered by id."""

    @abstractmethod
    def neighbours(
        self,
        namespace: str,
        ids: Sequence[str],
        *,
        edge_types: Sequence[str] | None = None,
        direction: Direction = "both",
    ) -> list[Edge]:
        """Edges incident to any of ``ids`` (filtered by type and direction), sorted by key."""

    def expand(
        self,
        namespace: str,
        seeds: Sequence[str],
        hops: int,
        *,
        edge_types: Sequence[str] | None = None,
        direction: Direction = "both",
        max_nodes: int = 10_000,
    ) -> dict[str, int]:
        """Breadth-first k-hop expansion: node id -> hop distance (seeds at 0)."""
        dist: dict[str, int] = {s: 0 for s in seeds}
        frontier = list(dict.fromkeys(seeds))
        for hop in range(1, hops + 1):
            if not frontier or len(dist) >= max_nodes:
                break
            nxt: list[str] = []
            fset = set(frontier)
            for e in self.neighbours(
                namespace, frontier, edge_types=edge_types, direction=direction
            ):
                for other in _other_ends(e, fset, direction):
                    if other not in dist and len(dist) < max_nodes:
                        dist[other] = hop
                        nxt.append(other)
            frontier = nxt
        return dist

    @abstractmethod
    def existing_ids(self, namespace: str, ids: Sequence[str]) -> set[str]:
        """The subset of ``ids`` already stored in this namespace."""

    @abstractmethod
    def vector_search(
        self,
        namespace: str,
        label: str,
        vector: np.ndarray,
        k: int,
        *,
        conversation: str | None = None,
    ) -> list[Hit]:
        """Top-``k`` nodes of ``label`` by cosine similarity (ranked by :func:`rank_by_cosine`)."""

    @abstractmethod
    def keyword_candidates(
        self,
        namespace: str,
        label: str,
        terms: Sequence[str],
        *,
        conversation: str | None = None,
        limit: int = MAX_KEYWORD_CANDIDATES,
    ) -> list[tuple[str, str]]:
        """``(id, text)`` of every node of ``label`` whose text contains any of ``terms``."""

    @abstractmethod
    def text_stats(
        self, namespace: str, label: str, *, conversation: str | None = None
    ) -> tuple[int, float]:
        """``(number of nodes with text, mean token count)`` over the scope.

        The mean is the exact integer sum of the token counts divided by the
        count (:func:`mean_length`), never a database's running average: BM25
        scores depend on it, and a last-bit difference between stores reorders
        documents whose scores tie.
        """

    def keyword_search(
        self,
        namespace: str,
        label: str,
        query: str,
        k: int,
        *,
        conversation: str | None = None,
    ) -> list[Hit]:
        """Top-``k`` nodes of ``label`` for ``query`` by BM25 (:mod:`kg_memory.bm25`)."""
        terms = query_terms(query)
        if not terms:
            return []
        cands, tokenized = self.scoring_candidates(namespace, label, terms, conversation)
        n, avgdl = self.text_stats(namespace, label, conversation=conversation)
        return bm25_rank(terms, cands, n, avgdl, k, tokenized=tokenized)

    def scoring_candidates(
        self, namespace: str, label: str, terms: Sequence[str], conversation: str | None
    ) -> tuple[list[tuple[str, str]], bool]:
        """What :meth:`keyword_search` scores: :meth:`keyword_candidates`, and whether their
        text is already tokenized (a backend that stores the indexed text returns it: a
        search reads hundreds of candidates, and tokenizing them was most of its time)."""
        return self.keyword_candidates(namespace, label, terms, conversation=conversation), False

    def search_many(
        self, namespace: str, searches: Sequence[Search], *, conversation: str | None = None
    ) -> list[list[Hit]]:
        """Several independent searches, results in order: each as its own
        :meth:`keyword_search` / :meth:`vector_search` would return it.

        A server backend overrides this to answer them in one round trip.
        """
        return [self._one_search(namespace, s, conversation) for s in searches]

    def _one_search(self, namespace: str, s: Search, conversation: str | None) -> list[Hit]:
        if s.query is not None:
            return self.keyword_search(namespace, s.label, s.query, s.k, conversation=conversation)
        assert s.vector is not None
        return self.vector_search(namespace, s.label, s.vector, s.k, conversation=conversation)

    @abstractmethod
    def counts(self, namespace: str | None = None) -> Stats:
        """Counts per node label and edge type (all namespaces if ``None``)."""

    @abstractmethod
    def namespaces(self) -> list[str]:
        """Namespaces present in the store, sorted."""

    @abstractmethod
    def conversations(self, namespace: str) -> list[str]:
        """Conversation ids stored in a namespace, sorted."""

    def cypher(
        self,
        query: str,
        params: dict[str, Any] | None = None,
        *,
        read_only: bool = True,
        namespace: str | None = None,
    ) -> list[dict[str, Any]]:
        """Run Cypher (backends with :attr:`supports_cypher` only); with ``namespace``,
        ``$namespace`` is bound to it and the query may read nothing outside it."""
        raise QueryError(f"the {self.name} store has no Cypher engine; use --neo4j for Cypher")


def neighbour_args(
    ids: Sequence[str], edge_types: Sequence[str] | None, direction: str
) -> tuple[list[str], list[str] | None] | None:
    """Checked :meth:`Store.neighbours` arguments: the distinct ids and the edge types
    (``None``: every type); ``None`` when no edge can match (no ids, or no types).

    >>> neighbour_args(["a", "b", "a"], ["MENTIONS"], "out")
    (['a', 'b'], ['MENTIONS'])
    >>> neighbour_args(["a"], [], "both") is None
    True
    """
    if direction not in ("out", "in", "both"):
        raise QueryError(f"direction must be 'out', 'in' or 'both', not {direction!r}")
    types = [check_edge_type(t) for t in edge_types] if edge_types is not None else None
    wanted = list(dict.fromkeys(ids))
    if (types is not None and not types) or not wanted:
        return None
    return wanted, types


def _other_ends(e: Edge, frontier: set[str], direction: Direction) -> Iterator[str]:
    if direction in ("out", "both") and e.src in frontier:
        yield e.dst
    if direction in ("in", "both") and e.dst in frontier:
        yield e.src
