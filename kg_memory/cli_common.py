"""What every ``kg-memory`` command shares: consoles, option types, error mapping.

Commands live in :mod:`kg_memory.cli` (the memory) and :mod:`kg_memory.cli_bench`
(benchmarks); both build on these pieces.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


@contextmanager
def opened(
    store: Path | None, namespace: str | None, neo4j: str | None, create: bool = False
) -> Iterator[Memory]:
    """The memory the options name (then the environment, then defaults), closed after.

    An embedded store that does not exist is an error unless ``create`` (a mistyped
    ``--store`` must not silently become a new, empty store).
    """
    mem = Memory.open(store, namespace=namespace, neo4j_uri=neo4j, create=create)
    try:
        yield mem
    finally:
        mem.close()


def print_json(obj: Any) -> None:
    """``obj`` as indented JSON on stdout."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")
