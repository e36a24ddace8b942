"""What ``kg-memory serve`` and ``kg-memory mcp`` run."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kg_memory.server.auth import TokenTable, check_bind
from kg_memory.server.service import DEFAULT_READERS, MemoryService

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


@dataclass
class ServeOptions:
    """The options shared by ``serve`` and ``mcp``."""

    store_dir: Path | None = None
    neo4j_uri: str | None = None
    namespace: str | None = None
    backend: str | None = None
    #: create the store if there is none at the path (else that is an error: a mistyped path)
    create: bool = False
    embedder: str | None = None
    stages: str = "all"
    readers: int = DEFAULT_READERS
    #: Torch threads (0: torch's default); one per request lets concurrent requests share the cores.
    torch_threads: int = 1
    #: Processes answering ``recall`` (0: the server's own threads; ``None``: one per core).
    read_workers: int | None = 0
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    tokens: Sequence[str] = field(default_factory=list)
    tokens_file: Path | None = None
    log_level: str = "info"

    def open_service(self) -> MemoryService:
        from kg_memory.embed import set_threads

        set_threads(self.torch_threads or None)
        return MemoryService.open(
            self.store_dir,
            neo4j_uri=self.neo4j_uri,
            namespace=self.namespace,
            backend=self.backend,
            create=self.create,
            embedder=self.embedder,
            stages=self.stages,
            readers=self.readers,
            read_workers=default_workers() if self.read_workers is None else self.read_workers,
            torch_threads=self.torch_threads,
        )


def default_workers() -> int:
    """One read worker per core the process may use (up to 4); none on one core."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    n = min(cores or 1, 4)
    return n if n > 1 else 0


def serve(opts: ServeOptions) -> None:
    """Check the bind, load the models, serve HTTP + MCP until interrupted."""
    import uvicorn

    from kg_memory.server.app import create_app

    tokens = TokenTable.parse(opts.tokens, opts.tokens_file)
    check_bind(opts.host, tokens)
    with opts.open_service() as service:
        service.warm_up()
        app = create_app(service, tokens, host=opts.host)
        auth = f"{len(tokens.tokens)} token(s)" if tokens.enabled else "no token"
        workers = service.workers.processes if service.workers else 0
        print(
            f"kg-memory: {service.backend} store, namespace '{service.default_namespace}',"
            f" {auth}, {workers} read worker(s); API docs at http://{opts.host}:{opts.port}/docs, MCP at /mcp",
            file=sys.stderr,
            flush=True,
        )
        uvicorn.run(app, host=opts.host, port=opts.port, log_level=opts.log_level)


def run_stdio(opts: ServeOptions) -> None:
    """Serve the MCP tools over stdin/stdout (stdout carries only MCP messages)."""
    from kg_memory.server.mcp_server import build_mcp

    with opts.open_service() as service:
        service.warm_up()
        build_mcp(service).run("stdio")
