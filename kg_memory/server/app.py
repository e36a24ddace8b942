"""The HTTP JSON API (FastAPI) with the MCP streamable HTTP transport mounted at ``/mcp``.

Routes (all JSON; the namespace is part of the path)::

    GET  /health                                    liveness, no token needed
    POST /v1/namespaces/{namespace}/remember        {"turns": [...]}
    POST /v1/namespaces/{namespace}/recall          {"question": ..., "k": 10, ...}
    POST /v1/namespaces/{namespace}/forget          {"conversation": ..., "turn_id": null, "session": null}
    GET  /v1/namespaces/{namespace}/stats
    GET  /v1/namespaces/{namespace}/conversations
    POST /v1/namespaces/{namespace}/cypher          {"query": ..., "params": {}}
    POST /mcp                                       MCP (streamable HTTP)
    GET  /docs, /openapi.json                       the OpenAPI documentation

Errors are ``{"error", "message", "field", "where"}`` with status 400 (bad
input, names the field), 401 (no or wrong bearer token), 403 (the token may
not use this namespace), 409 (a turn id stored with other content), 503 (the
store is unreachable) or 500.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from kg_memory import __version__
from kg_memory.errors import (
    ConflictError,
    InputError,
    KGMemoryError,
    QueryError,
    StoreUnavailableError,
)
from kg_memory.server import schemas as s
from kg_memory.server.auth import AuthError, TokenTable, check_namespace_allowed
from kg_memory.server.mcp_server import build_mcp
from kg_memory.server.service import MemoryService

#: Paths served without a token.
OPEN_PATHS = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"})

API = "/v1/namespaces/{namespace}"


class BearerAuth:
    """ASGI middleware: every path but :data:`OPEN_PATHS` needs a known bearer token."""

    def __init__(self, app: ASGIApp, tokens: TokenTable) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.tokens.enabled and scope["path"] not in OPEN_PATHS:
            try:
                self.tokens.authorise(Headers(scope=scope).get("authorization"))
            except AuthError as exc:
                await _error(exc.status, exc, type(exc).__name__)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _error(status: int, exc: Exception, name: str, field: str | None = None) -> JSONResponse:
    where = None
    if isinstance(exc, InputError):
        field = exc.field
        where = exc.line if isinstance(exc.line, str) else None
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"error": name, "message": str(exc), "field": field, "where": where}
    return JSONResponse(body, status_code=status, headers=headers)


def _status(exc: KGMemoryError) -> int:
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, InputError | QueryError):
        return 400
    if isinstance(exc, StoreUnavailableError):
        return 503
    return 500


def _install_error_handlers(app: FastAPI) -> None:
    async def on_auth(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AuthError)
        return _error(exc.status, exc, "AuthError")

    async def on_kgm(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, KGMemoryError)
        return _error(_status(exc), exc, type(exc).__name__)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0]
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "path", "query")]
        field = ".".join(loc) or None
        msg = f"field '{field}': {first.get('msg')}" if field else str(first.get("msg"))
        return _error(400, ValueError(msg), "InputError", field)

    app.add_exception_handler(AuthError, on_auth)
    app.add_exception_handler(KGMemoryError, on_kgm)
    app.add_exception_handler(RequestValidationError, on_validation)


def create_app(service: MemoryService, tokens: TokenTable, *, host: str = "127.0.0.1") -> FastAPI:
    """The FastAPI app over ``service``; MCP streamable HTTP at ``/mcp``."""
    mcp = build_mcp(service, tokens)
    mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, host=host)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with mcp.session_manager.run():
            yield

    app = FastAPI(
        title="kg-memory",
        version=__version__,
        summary="Graph-structured long-term memory for conversational agents.",
        lifespan=lifespan,
        responses={code: {"model": s.ErrorOut} for code in (400, 401, 403)},
    )
    app.add_middleware(BearerAuth, tokens=tokens)
    _install_error_handlers(app)
    app.state.tokens = tokens
    _add_routes(app, service)
    app.mount("/", mcp_app)  # after the API routes: it only answers /mcp
    return app


def _namespace(
    request: Request, namespace: Annotated[str, Path(description="Whose memory.")]
) -> str:
    """The path's namespace, if the request's token may use it (else 401/403)."""
    tokens: TokenTable = request.app.state.tokens
    scope = tokens.authorise(request.headers.get("authorization"))
    return check_namespace_allowed(scope, namespace)


Namespace = Annotated[str, Depends(_namespace)]


def _add_routes(app: FastAPI, service: MemoryService) -> None:
    @app.get("/health", tags=["server"])
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "backend": service.backend,
            "store": service.location,
            "namespace": service.default_namespace,
            "read_workers": service.workers.processes if service.workers else 0,
        }

    @app.post(f"{API}/remember", response_model=s.Remembered, tags=["memory"])
    def remember(ns: Namespace, body: s.RememberRequest) -> dict[str, Any]:
        """Add turns; idempotent per turn_id. Nothing is written if any turn is invalid."""
        return service.remember(ns, body.turns)

    @app.post(f"{API}/recall", response_model=s.Answer, tags=["memory"])
    def recall(ns: Namespace, body: s.RecallRequest) -> dict[str, Any]:
        """Ranked evidence with provenance (the object `kg-memory ask --json` prints)."""
        return service.recall(ns, **body.model_dump())

    @app.post(f"{API}/forget", response_model=s.Forgotten, tags=["memory"])
    def forget(ns: Namespace, body: s.ForgetRequest) -> dict[str, Any]:
        """Delete a conversation, or one turn with everything derived only from it."""
        return service.forget(ns, body.target())

    @app.get(f"{API}/stats", response_model=s.StatsOut, tags=["memory"])
    def stats(ns: Namespace) -> dict[str, Any]:
        return service.stats(ns)

    @app.get(f"{API}/conversations", response_model=s.Conversations, tags=["memory"])
    def conversations(ns: Namespace) -> dict[str, Any]:
        return service.conversations(ns)

    @app.post(f"{API}/cypher", response_model=s.CypherOut, tags=["memory"])
    def cypher(ns: Namespace, body: s.CypherRequest) -> dict[str, Any]:
        """Read-only Cypher (Neo4j store); `$namespace` is bound to the path's namespace."""
        return service.cypher(ns, body.query, body.params)
