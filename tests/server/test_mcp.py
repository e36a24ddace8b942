"""The MCP tools through the MCP SDK's own client: over stdio (``kg-memory mcp``) and
over streamable HTTP (``/mcp`` of ``kg-memory serve``), on both stores."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from tests.server.helpers import (
    ADMIN,
    ALICE,
    KGM,
    Server,
    backend_args,
    demo_turns,
    server_env,
    turn,
)

TOOLS = {"remember", "recall", "forget", "stats", "conversations", "cypher"}

Session = Callable[[Client], Awaitable[None]]


def stdio_params(backend: str, tmp: Path) -> StdioServerParameters:
    args = ["mcp", *backend_args(backend, tmp / "store"), "--stages", "turns", "--create"]
    return StdioServerParameters(command=KGM, args=args, env=server_env(tmp / "store"))


def http_client(server: Server, token: str | None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60))
    return Client(streamable_http_client(f"{server.url}/mcp", http_client=http))


def run(client: Client, session: Session) -> None:
    async def main() -> None:
        async with client:
            await session(client)

    anyio.run(main)


def data(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    assert result.is_error
    return " ".join(getattr(c, "text", "") for c in result.content)


async def round_trip(c: Client, namespace: str) -> None:
    """The MCP contract: remember -> recall (with turn_ids) -> forget -> nothing recalled."""
    assert {t.name for t in (await c.list_tools()).tools} == TOOLS
    args = {"namespace": namespace}
    bad = await c.call_tool("remember", {"turns": [turn("ok"), turn("")], **args})
    assert "turns[1], field 'text'" in error_text(bad)
    assert data(await c.call_tool("stats", args))["total_nodes"] == 0
    added = data(await c.call_tool("remember", {"turns": demo_turns(6), **args}))
    assert added["added"] == 6
    again = data(await c.call_tool("remember", {"turns": demo_turns(6), **args}))
    assert again["added"] == 6  # no turn_id: appended again (S1:7..S1:12), as a JSONL file would
    ans = data(await c.call_tool("recall", {"question": "puppy Biscuit", "k": 3, **args}))
    assert set(ans) == {"question", "evidence", "trace", "seconds"}
    assert len(ans["evidence"]) == 3 and all(e["turn_ids"] for e in ans["evidence"])
    tom = data(await c.call_tool("recall", {"question": "Biscuit", "speaker": "Tom", **args}))
    assert tom["evidence"] and {e["speaker"] for e in tom["evidence"]} == {"Tom"}
    convs = data(await c.call_tool("conversations", args))
    assert convs["conversations"] == ["demo"]
    both = {"conversation": "demo", "session": 1, "turn_id": "S1:1", **args}
    assert "a session or a turn, not both" in error_text(await c.call_tool("forget", both))
    forgot = data(await c.call_tool("forget", {"conversation": "demo", **args}))
    assert forgot["deleted_nodes"] > 0
    ans = data(await c.call_tool("recall", {"question": "puppy Biscuit", **args}))
    assert ans["evidence"] == []


@pytest.mark.parametrize("backend", ["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def test_stdio_round_trip(backend: str, tmp_path: Path, namespace: str) -> None:
    run(Client(stdio_params(backend, tmp_path)), lambda c: round_trip(c, namespace))


def test_stdio_default_namespace_and_errors(tmp_path: Path) -> None:
    params = stdio_params("embedded", tmp_path)
    params.args += ["--namespace", "agent"]

    async def session(c: Client) -> None:
        data(await c.call_tool("remember", {"turns": [turn("Hello there", turn_id="a")]}))
        assert data(await c.call_tool("conversations", {})) == {
            "namespace": "agent",
            "conversations": ["c1"],
        }
        assert (
            data(await c.call_tool("conversations", {"namespace": "other"}))["conversations"] == []
        )
        conflict = await c.call_tool("remember", {"turns": [turn("changed", turn_id="a")]})
        assert "ConflictError" in error_text(conflict) and "turn_id" in error_text(conflict)
        bad_ns = await c.call_tool("stats", {"namespace": "no spaces"})
        assert "namespace" in error_text(bad_ns)
        refused = await c.call_tool("cypher", {"query": "MATCH (n) DETACH DELETE n"})
        assert refused.is_error

    run(Client(params), session)


def test_http_round_trip(server: Server, namespace: str) -> None:
    run(http_client(server, ADMIN), lambda c: round_trip(c, namespace))


def test_http_token_limits(server: Server, namespace: str) -> None:
    async def alice(c: Client) -> None:
        refused = await c.call_tool("remember", {"turns": [turn("hi")], "namespace": namespace})
        assert "403 forbidden" in error_text(refused)
        assert namespace in error_text(refused)
        assert data(await c.call_tool("stats", {"namespace": "alice"}))["namespace"] == "alice"

    run(http_client(server, ALICE), alice)
    with httpx2.Client(base_url=server.url) as plain:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        assert plain.post("/mcp", json=body).status_code == 401
        stats = plain.get(
            f"/v1/namespaces/{namespace}/stats", headers={"Authorization": f"Bearer {ADMIN}"}
        )
        assert stats.json()["total_nodes"] == 0

    async def no_token() -> None:
        async with http_client(server, None) as c:
            await c.list_tools()

    # the raw POST above got 401; the SDK's client surfaces it as an MCPError
    with pytest.raises(ExceptionGroup) as info:
        anyio.run(no_token)
    assert info.value.subgroup(lambda e: isinstance(e, MCPError)) is not None
