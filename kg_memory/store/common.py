"""Helpers every store backend shares.

Batching (:func:`chunks`), props as canonical JSON (:func:`dump_props`), the
text and vector columns (:func:`tokenized`, :func:`encode_vector`,
:func:`decode_vector`), the batch semantics of an upsert (:func:`latest_nodes`),
the errors both stores raise alike, a decorator turning driver errors into
kg-memory errors (:func:`translate_errors`), and the per-namespace write
counters behind the read caches (:class:`Generations`).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, ParamSpec, TypeVar

import numpy as np

from kg_memory.errors import KGMemoryError, QueryError, StoreError
from kg_memory.model import Node, check_label
from kg_memory.text import tokenize

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

#: How both stores hold a vector: little-endian float32 bytes.
F32 = np.dtype("<f4")

_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class Scope(NamedTuple):
    """What a search or a label read covers: the nodes of ``label`` in ``namespace``
    (only those of ``conversation`` when it is set)."""

    namespace: str
    label: str
    conversation: str | None = None


def chunks(seq: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of ``seq`` of at most ``size`` items.

    >>> [list(c) for c in chunks([1, 2, 3, 4, 5], 2)]
    [[1, 2], [3, 4], [5]]
    """
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def dump_props(props: Mapping[str, Any], what: str | Callable[[], str]) -> str:
    """``props`` as canonical JSON (sorted keys, compact); ``what`` names the owner in an
    error (a callable is called only then).

    >>> dump_props({"b": 1, "a": [True, None]}, "node x")
    '{"a":[true,null],"b":1}'
    """
    if not props:
        return "{}"
    try:
        return _JSON.encode(props if isinstance(props, dict) else dict(props))
    except (TypeError, ValueError) as exc:
        owner = what() if callable(what) else what
        raise StoreError(f"{owner}: props are not JSON-serialisable: {exc}") from exc


def tokenized(text: str) -> tuple[str, int]:
    """The full-text column of ``text`` (kg-memory's tokens joined by spaces) and its token count.

    >>> tokenized("Caroline's dog!")
    ('caroline s dog', 3)
    """
    toks = tokenize(text)
    return " ".join(toks), len(toks)


def term_tokens(term: str) -> str | None:
    """One query term as the full-text index sees it (tokens joined by spaces), ``None`` if empty.

    Tokens are ``[0-9a-z]+``: a backend quotes the result as a phrase of its query syntax.

    >>> term_tokens("Caroline's"), term_tokens("!!")
    ('caroline s', None)
    """
    toks = tokenize(term)
    return " ".join(toks) if toks else None


def encode_vector(vector: np.ndarray) -> bytes:
    """A vector as stored: its float32 values as little-endian bytes."""
    return np.ascontiguousarray(vector, dtype=F32).ravel().tobytes()


def decode_vector(raw: bytes) -> np.ndarray:
    """The float32 vector of :func:`encode_vector` bytes (a writable copy)."""
    return np.frombuffer(raw, dtype=F32).astype(np.float32)


def latest_nodes(nodes: Iterable[Node]) -> dict[str, Node]:
    """One node per id, as if ``nodes`` were upserted one by one (labels checked).

    The last write of an id wins; it keeps an earlier write's vector when it has none.
    """
    last: dict[str, Node] = {}
    for n in nodes:
        check_label(n.label)
        prev = last.get(n.id)
        if prev is not None and n.embedding is None and prev.embedding is not None:
            n = Node(n.id, n.label, n.namespace, n.conversation, n.text, n.props, prev.embedding)
        last[n.id] = n
    return last


def missing_ends_error(missing: Sequence[tuple[str, str]]) -> StoreError:
    """The error for edges whose ends ``(id, namespace)`` are not stored (first five named).

    >>> str(missing_ends_error([("a", "ns")]))
    "cannot write edges: node(s) not found: a (namespace 'ns')"
    """
    shown = ", ".join(f"{i} (namespace {ns!r})" for i, ns in missing[:5])
    more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
    return StoreError(f"cannot write edges: node(s) not found: {shown}{more}")


def mixed_dimensions_error(label: str, namespace: str, dims: Iterable[int]) -> StoreError:
    """The error for a scope whose stored vectors differ in length."""
    return StoreError(
        f"{label} vectors in namespace {namespace!r} have different dimensions "
        f"{sorted(dims)}; re-embed them with one model"
    )


def query_dimension_error(query_dim: int, label: str, stored_dim: int) -> QueryError:
    """The error for a query vector whose length is not the stored vectors'."""
    return QueryError(
        f"query vector has {query_dim} dimensions, stored {label} vectors have {stored_dim}"
    )


def translate_errors(
    convert: Callable[[Any, Exception], KGMemoryError | None],
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A decorator for a store's public methods: ``convert(store, exc)`` turns an exception
    escaping the method into a kg-memory error (``None``: let it through as it is).
    kg-memory's own errors always pass unchanged."""

    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except KGMemoryError:
                raise
            except Exception as exc:
                err = convert(args[0], exc)
                if err is None:
                    raise
                raise err from exc

        return wrapper

    return decorate


class Generations:
    """Per-namespace counters of this process's writes to one database (thread-safe).

    A cached read of a namespace stays valid while its counter is unchanged;
    a write bumps it before and after it runs.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def __getitem__(self, namespace: str) -> int:
        with self._lock:
            return self._counts.get(namespace, 0)

    def bump(self, namespaces: Iterable[str]) -> None:
        with self._lock:
            for ns in namespaces:
                self._counts[ns] = self._counts.get(ns, 0) + 1


_SHARED_GENERATIONS: dict[tuple[str, ...], Generations] = {}
_SHARED_LOCK = threading.Lock()


def shared_generations(*database: str) -> Generations:
    """The write counters of every store object of this process on ``database``.

    Several store objects may open one database in a process (the server's writer
    and its readers): a write through any of them must drop the others' cached reads.
    """
    with _SHARED_LOCK:
        return _SHARED_GENERATIONS.setdefault(database, Generations())
