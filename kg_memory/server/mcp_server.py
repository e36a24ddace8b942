"""The MCP server: the service's operations as MCP tools (official Python SDK, ``MCPServer``).

Tools: ``remember``, ``recall``, ``forget``, ``stats``, ``conversations`` and
``cypher``. Each takes an optional ``namespace`` (default: the server's
``--namespace``). Over streamable HTTP (mounted at ``/mcp`` by
:mod:`kg_memory.server.app`) the bearer token of the request decides which
namespaces a tool may use; over stdio the client started the process, so
every namespace is allowed. A refused or invalid call returns an MCP tool
error whose text names the field (``turns[2], field 'text': ...``) and
nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from kg_memory import __version__
from kg_memory.errors import KGMemoryError
from kg_memory.forget import ForgetTarget
from kg_memory.server.auth import ALL, AuthError, TokenTable, check_namespace_allowed
from kg_memory.server.schemas import Turns
from kg_memory.server.service import MemoryService

T = TypeVar("T")

INSTRUCTIONS = (
    "Long-term memory of conversations. Call `remember` with new turns as they happen"
    " (give each a turn_id so that retries are safe), `recall` with a question to get"
    " ranked evidence with the source turn ids, `forget` to delete a conversation."
)

Namespace = Annotated[
    str | None, Field(description="Whose memory (default: the server's namespace).")
]
ConversationId = Annotated[str, Field(description="The conversation's id (as given to remember).")]
TurnId = Annotated[
    str | None, Field(description="Forget only this turn (its turn_id); not with session.")
]
SessionNumber = Annotated[
    int | None, Field(description="Forget only this session (its number); not with turn_id.")
]
_READ = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)


def build_mcp(service: MemoryService, tokens: TokenTable | None = None) -> MCPServer:
    """An MCP server whose tools call ``service``; ``tokens`` guard the HTTP transport."""
    server = MCPServer(name="kg-memory", version=__version__, instructions=INSTRUCTIONS)
    tools = Tools(service, tokens or TokenTable())
    write = ToolAnnotations(destructive_hint=True, idempotent_hint=True, open_world_hint=False)
    add = ToolAnnotations(destructive_hint=False, idempotent_hint=True, open_world_hint=False)
    server.add_tool(tools.remember, annotations=add)
    server.add_tool(tools.recall, annotations=_READ)
    server.add_tool(tools.forget, annotations=write)
    server.add_tool(tools.stats, annotations=_READ)
    server.add_tool(tools.conversations, annotations=_READ)
    server.add_tool(tools.cypher, annotations=_READ)
    return server


class Tools:
    """The MCP tools (sync: the SDK runs each call on a worker thread)."""

    def __init__(self, service: MemoryService, tokens: TokenTable) -> None:
        self.service = service
        self.tokens = tokens

    def _call(self, ctx: Context, namespace: str | None, op: Callable[[str], T]) -> T:
        """Check the caller's token and namespace, run ``op``, map errors to tool errors."""
        try:
            headers = ctx.headers
            scope = ALL if headers is None else self.tokens.authorise(headers.get("authorization"))
            ns = check_namespace_allowed(scope, namespace or self.service.default_namespace)
            return op(ns)
        except AuthError as exc:
            word = "forbidden" if exc.status == 403 else "unauthorized"
            raise ToolError(f"{exc.status} {word}: {exc}") from None
        except KGMemoryError as exc:
            raise ToolError(f"{type(exc).__name__}: {exc}") from None

    def remember(self, turns: Turns, ctx: Context, namespace: Namespace = None) -> dict[str, Any]:
        """Add turns (conversation, session, session_time, speaker, text, optional turn_id).

        Idempotent per turn_id: a turn already stored is left alone. Without a
        turn_id a turn gets S<session>:<n>, n its position in the stored session.
        The first turns of a new session consolidate their conversation (it is
        re-processed whole: seconds for a long one; the reply lists it).
        """
        return self._call(ctx, namespace, lambda ns: self.service.remember(ns, turns))

    def recall(
        self,
        question: str,
        ctx: Context,
        k: Annotated[int, Field(ge=1, le=100)] = 10,
        conversation: str | None = None,
        speaker: str | None = None,
        since: Annotated[str | None, Field(description="ISO date or date-time")] = None,
        until: Annotated[str | None, Field(description="ISO date or date-time")] = None,
        namespace: Namespace = None,
    ) -> dict[str, Any]:
        """Ranked evidence for a question, with the source turn_ids of each item."""
        return self._call(
            ctx,
            namespace,
            lambda ns: self.service.recall(
                ns,
                question,
                k=k,
                conversation=conversation,
                speaker=speaker,
                since=since,
                until=until,
            ),
        )

    def forget(
        self,
        conversation: ConversationId,
        ctx: Context,
        turn_id: TurnId = None,
        session: SessionNumber = None,
        namespace: Namespace = None,
    ) -> dict[str, Any]:
        """Delete a conversation (or only one of its sessions or turns) and everything
        derived only from it."""
        # Flat parameters are the tool's input schema (what agents see): the target is built here.
        return self._call(
            ctx,
            namespace,
            lambda ns: self.service.forget(ns, ForgetTarget(conversation, session, turn_id)),
        )

    def stats(self, ctx: Context, namespace: Namespace = None) -> dict[str, Any]:
        """Counts per node label and edge type."""
        return self._call(ctx, namespace, self.service.stats)

    def conversations(self, ctx: Context, namespace: Namespace = None) -> dict[str, Any]:
        """The conversation ids stored."""
        return self._call(ctx, namespace, self.service.conversations)

    def cypher(
        self,
        query: str,
        ctx: Context,
        params: dict[str, Any] | None = None,
        namespace: Namespace = None,
    ) -> dict[str, Any]:
        """Read-only Cypher (Neo4j store); $namespace is bound to the namespace."""
        return self._call(ctx, namespace, lambda ns: self.service.cypher(ns, query, params))
