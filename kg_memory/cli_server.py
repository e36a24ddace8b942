"""``kg-memory serve`` and ``kg-memory mcp``: the long-running server (:mod:`kg_memory.server`).

FastAPI, uvicorn, the MCP SDK and the models are imported inside the commands, so
``kg-memory --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kg_memory.cli_common import Neo4jOpt, StoreOpt, clean_errors

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


@server_app.command()
@clean_errors
def serve(
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    namespace: ToolNamespaceOpt = None,
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
    torch_threads: TorchThreadsOpt = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the HTTP JSON API (docs at /docs) and MCP (streamable HTTP at /mcp), models loaded once.

    Example: kg-memory serve --store build/demo-store --port 8765
    """
    from kg_memory.server.run import ServeOptions
    from kg_memory.server.run import serve as run_server

    run_server(
        ServeOptions(
            store_dir=store,
            neo4j_uri=neo4j,
            namespace=namespace,
            stages=stages,
            readers=readers,
            torch_threads=torch_threads,
            host=host,
            port=port,
            tokens=token or [],
            tokens_file=tokens_file,
            log_level=log_level,
        )
    )


@server_app.command()
@clean_errors
def mcp(
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    namespace: ToolNamespaceOpt = None,
    stages: StagesOpt = "all",
) -> None:
    """Serve the MCP tools over stdio (the command an agent's MCP client starts).

    Example: kg-memory mcp --store build/demo-store --namespace default
    """
    from kg_memory.server.run import ServeOptions, run_stdio

    run_stdio(ServeOptions(store_dir=store, neo4j_uri=neo4j, namespace=namespace, stages=stages))
