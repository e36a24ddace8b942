"""``kg-memory serve`` and ``kg-memory mcp``: the long-running server (:mod:`kg_memory.server`).

FastAPI, uvicorn, the MCP SDK and the models are imported inside the commands, so
``kg-memory --help`` stays fast. Neither creates a store missing at the path unless
given ``--create`` (a mistyped ``--store`` would otherwise serve, and fill, a new one);
see :func:`~kg_memory.cli_common.memory_command`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kg_memory.cli_common import Where, memory_command

if TYPE_CHECKING:
    from kg_memory.server.run import ServeOptions

server_app = typer.Typer()

# -- server --------------------------------------------------------------------
StagesOpt = Annotated[
    str, typer.Option(help="Ingest stages for remembered turns: comma-separated, 'all' or 'turns'.")
]
TorchThreadsOpt = Annotated[
    int,
    typer.Option(
        min=0, help="Torch threads per request (0: one per core); 1 lets requests run side by side."
    ),
]
ToolNamespaceOpt = Annotated[
    str | None, typer.Option("--namespace", "-n", help="Default namespace of the MCP tools.")
]


def _options(where: Where, **rest: Any) -> ServeOptions:
    """The server's options: where the memory is, and the rest of the command's."""
    from kg_memory.server.run import ServeOptions

    return ServeOptions(
        store_dir=where.store,
        neo4j_uri=where.neo4j,
        namespace=where.namespace,
        backend=where.backend,
        create=where.create,
        **rest,
    )


@memory_command(server_app, namespace=ToolNamespaceOpt)
def serve(
    where: Where = Where(),
    host: Annotated[
        str, typer.Option(help="Address to bind; anything but 127.0.0.1 needs --token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8765,
    token: Annotated[
        list[str] | None,
        typer.Option(
            help="Bearer token TOKEN or TOKEN:ns1,ns2 (only those namespaces); repeatable."
        ),
    ] = None,
    tokens_file: Annotated[
        Path | None, typer.Option(help="File of tokens, one TOKEN[:ns1,ns2] per line.")
    ] = None,
    stages: StagesOpt = "all",
    readers: Annotated[int, typer.Option(min=1, help="Concurrent read connections.")] = 4,
    read_workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Processes answering recall side by side (0: in the server process);"
            " default one per core, up to 4.",
        ),
    ] = None,
    torch_threads: TorchThreadsOpt = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the HTTP JSON API (docs at /docs) and MCP (streamable HTTP at /mcp), models loaded once.

    A path without a store is refused unless given --create (an empty store to remember into).

    Example: kg-memory serve --store build/demo-store --port 8765
    """
    from kg_memory.server.run import serve as run_server

    run_server(
        _options(
            where,
            torch_threads=torch_threads,
            host=host,
            port=port,
            tokens=token or [],
            tokens_file=tokens_file,
            stages=stages,
            readers=readers,
            read_workers=read_workers,
            log_level=log_level,
        )
    )


@memory_command(server_app, namespace=ToolNamespaceOpt)
def mcp(where: Where = Where(), stages: StagesOpt = "all") -> None:
    """Serve the MCP tools over stdio (the command an agent's MCP client starts).

    A path without a store is refused unless given --create (an empty store to remember into).

    Example: kg-memory mcp --store build/demo-store --namespace default --create
    """
    from kg_memory.server.run import run_stdio

    run_stdio(_options(where, stages=stages))
