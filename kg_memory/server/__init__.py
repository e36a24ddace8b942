"""kg-memory as a long-running server: an HTTP JSON API and MCP tools over one service.

* :mod:`~kg_memory.server.service` -- the operations (remember, recall, forget,
  stats, conversations, cypher) over :class:`kg_memory.Memory`, with the models
  loaded once, one writer and a pool of readers;
* :mod:`~kg_memory.server.app` -- the FastAPI app (OpenAPI at ``/docs``) with
  the MCP streamable HTTP transport mounted at ``/mcp``;
* :mod:`~kg_memory.server.mcp_server` -- the MCP tools (also served over stdio
  by ``kg-memory mcp``);
* :mod:`~kg_memory.server.auth` -- bearer tokens limited to namespaces;
* :mod:`~kg_memory.server.run` -- what ``kg-memory serve`` and ``kg-memory mcp`` run.

Nothing here is imported by ``import kg_memory``: FastAPI, uvicorn and the MCP
SDK load only when a server starts.
"""
