"""What every ``kg-memory`` command shares: consoles, option types, error mapping.

Commands live in :mod:`kg_memory.cli` (the memory), :mod:`kg_memory.cli_bench`
(benchmarks) and :mod:`kg_memory.cli_server` (the server); all build on these
pieces. A command that opens a memory takes one ``where: Where`` parameter and
is registered with :func:`memory_command`, which gives it the ``--store``,
``--namespace``, ``--neo4j`` and ``--backend`` options (:func:`where_options`).
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from kg_memory.errors import KGMemoryError
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
    typer.Option("--create", help="Create an empty embedded store if there is none at the path."),
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
    :mod:`kg_memory.config`)."""

    store: Path | None = None
    namespace: str | None = None
    neo4j: str | None = None
    backend: str | None = None

    @contextmanager
    def opened(self, create: bool = False) -> Iterator[Memory]:
        """The memory these options name, closed after.

        An embedded store that does not exist is an error unless ``create`` (a mistyped
        ``--store`` must not silently become a new, empty store).
        """
        mem = Memory.open(
            self.store,
            namespace=self.namespace,
            neo4j_uri=self.neo4j,
            backend=self.backend,
            create=create,
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


def where_options(namespace: Any = NamespaceOpt) -> Callable[[F], F]:
    """Give a command taking ``where: Where`` the options of :data:`WHERE_OPTIONS` instead
    (``namespace``: another ``--namespace`` option type, e.g. with its own help).

    typer reads a command's parameters from its signature: the wrapper's signature
    has the four options where ``where`` stood, and it calls the command with them
    gathered into one :class:`Where`.
    """
    options = {**WHERE_OPTIONS, "namespace": namespace}

    def decorate(fn: F) -> F:
        sig = inspect.signature(fn, eval_str=True)
        params = []
        for p in sig.parameters.values():
            if p.name != "where":
                params.append(p)
                continue
            for name, annotation in options.items():
                params.append(p.replace(name=name, annotation=annotation, default=None))
        names = [f.name for f in fields(Where)]

        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            where = Where(**{name: kwargs.pop(name) for name in names})
            return fn(*args, where=where, **kwargs)

        wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        return wrapper  # type: ignore[return-value]

    return decorate


def print_json(obj: Any) -> None:
    """``obj`` as indented JSON on stdout."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def memory_command(
    app: typer.Typer, name: str | None = None, *, namespace: Any = NamespaceOpt
) -> Callable[[F], F]:
    """Register a command that opens a memory on ``app``: its ``where: Where`` parameter
    becomes the options of :func:`where_options` and its errors one line
    (:func:`clean_errors`)."""

    def decorate(fn: F) -> F:
        app.command(name)(clean_errors(where_options(namespace)(fn)))
        return fn

    return decorate
