"""What every ``kg-memory`` command shares: consoles, option types, error mapping.

Commands live in :mod:`kg_memory.cli` (the memory), :mod:`kg_memory.cli_bench`
(benchmarks) and :mod:`kg_memory.cli_server` (the server); all build on these
pieces. A command that opens a memory takes one ``where: Where`` parameter and
is registered with :func:`memory_command`, which gives it the ``--store``,
``--namespace``, ``--neo4j`` and ``--backend`` options (:func:`where_options`).

Whether a command creates a store that does not exist is declared once, in its
registration: ``@memory_command(app, creates=True)`` for the commands that write
what they are given (``ingest``, ``import``); every other command (reads,
``delete``, ``forget``, ``serve``, ``mcp``) refuses a path without a store in one
line naming the path and the commands that create one, unless given ``--create``.
A store that lives on a server (Neo4j) is never created by kg-memory, only its
schema (idempotently); the rule is about stores at a path.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from kg_memory.errors import KGMemoryError, StoreNotFoundError
from kg_memory.memory import Memory

out = Console()
err = Console(stderr=True)

# The Neo4j driver logs each retry of a transaction as a warning; without a handler Python
# would print those lines on stderr beside the one error line (the store's retries and
# their final error are what the user sees).
logging.getLogger("neo4j").addHandler(logging.NullHandler())

StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store", help="Embedded store directory [env: KG_MEMORY_STORE].", show_default=False
    ),
]
NamespaceOpt = Annotated[
    str | None,
    typer.Option(
        "--namespace", "-n", help="Whose memory [env: KG_MEMORY_NAMESPACE; default: default]."
    ),
]
Neo4jOpt = Annotated[
    str | None,
    typer.Option("--neo4j", help="Use Neo4j at this Bolt URI [env: KG_MEMORY_NEO4J_URI]."),
]
CreateOpt = Annotated[
    bool,
    typer.Option("--create", help="Create an empty store if there is none at the path."),
]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help="Store backend by registered name (embedded, neo4j, ...) [env: KG_MEMORY_BACKEND;"
        " default: neo4j with a URI, else embedded].",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ParamOpt = Annotated[
    list[str] | None, typer.Option("--param", "-p", help="key=value parameter (repeatable).")
]
LocomoDirArg = Annotated[
    Path, typer.Argument(help="Directory of LoCoMo conv-*.json files (or locomo10.json).")
]
LimitOpt = Annotated[int | None, typer.Option(help="Only the first N conversations (smoke runs).")]

F = TypeVar("F", bound=Callable[..., Any])


def clean_errors(fn: F) -> F:
    """Turn kg-memory errors into one clear line on stderr and exit code 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KGMemoryError as exc:
            # One line, even when a driver's message spans several (Neo4j's connection errors).
            line = re.sub(r"\s*\n\s*", " ", str(exc).strip())
            err.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


@dataclass(frozen=True)
class Where:
    """Which memory a command opens: its ``--store``, ``--namespace``, ``--neo4j`` and
    ``--backend`` options (``None``: the environment, then the default; see
    :mod:`kg_memory.config`), and whether a missing store is created (the command's
    ``creates``, or ``--create``; a mistyped ``--store`` must not silently become a
    new, empty store)."""

    store: Path | None = None
    namespace: str | None = None
    neo4j: str | None = None
    backend: str | None = None
    create: bool = False

    @contextmanager
    def opened(self) -> Iterator[Memory]:
        """The memory these options name, closed after."""
        mem = Memory.open(
            self.store,
            namespace=self.namespace,
            neo4j_uri=self.neo4j,
            backend=self.backend,
            create=self.create,
        )
        try:
            yield mem
        finally:
            mem.close()


#: the options :func:`where_options` adds, one per :class:`Where` field
WHERE_OPTIONS: dict[str, Any] = {
    "store": StoreOpt,
    "namespace": NamespaceOpt,
    "neo4j": Neo4jOpt,
    "backend": BackendOpt,
}


def where_options(namespace: Any = NamespaceOpt, *, creates: bool = False) -> Callable[[F], F]:
    """Give a command taking ``where: Where`` the options of :data:`WHERE_OPTIONS` instead
    (``namespace``: another ``--namespace`` option type, e.g. with its own help), and
    ``--create`` unless it ``creates`` a missing store anyway.

    typer reads a command's parameters from its signature: the wrapper's signature
    has the options where ``where`` stood, and it calls the command with them
    gathered into one :class:`Where`.
    """
    options = {**WHERE_OPTIONS, "namespace": namespace}
    if not creates:
        options["create"] = CreateOpt

    def decorate(fn: F) -> F:
        sig = inspect.signature(fn, eval_str=True)
        params = []
        for p in sig.parameters.values():
            if p.name != "where":
                params.append(p)
                continue
            for name, annotation in options.items():
                default = False if name == "create" else None
                params.append(p.replace(name=name, annotation=annotation, default=default))

        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            given = {name: kwargs.pop(name) for name in options}
            given.setdefault("create", creates)  # a command that creates has no --create
            where = Where(**given)
            return fn(*args, where=where, **kwargs)

        wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        return wrapper  # type: ignore[return-value]

    return decorate


def print_json(obj: Any) -> None:
    """``obj`` as indented JSON on stdout."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


#: what the error for a missing store adds on the command line
CREATE_HINT = "`kg-memory ingest` or `kg-memory import` creates one, --create an empty one"


def refuse_missing_store(fn: F) -> F:
    """A missing store's error (:class:`~kg_memory.errors.StoreNotFoundError`) with
    :data:`CREATE_HINT`: what creates one."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except StoreNotFoundError as exc:
            raise StoreNotFoundError(f"{exc}; {CREATE_HINT}") from exc

    return wrapper  # type: ignore[return-value]


def memory_command(
    app: typer.Typer,
    name: str | None = None,
    *,
    namespace: Any = NamespaceOpt,
    creates: bool = False,
) -> Callable[[F], F]:
    """Register a command that opens a memory on ``app``: its ``where: Where`` parameter
    becomes the options of :func:`where_options` and its errors one line
    (:func:`clean_errors`).

    ``creates``: the command creates a store missing at the path (``ingest``,
    ``import``); any other refuses one, naming what creates it, unless given
    ``--create`` (then ``where.create`` is true).
    """

    def decorate(fn: F) -> F:
        options = where_options(namespace, creates=creates)
        app.command(name)(clean_errors(refuse_missing_store(options(fn))))
        return fn

    return decorate
