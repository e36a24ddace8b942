"""The CLI's way to a running ``kg-memory serve``: :func:`find_server` and :class:`ServerClient`.

``kg-memory ask`` and ``kg-memory ingest`` go through a server when one is
configured, so that they do not load the models (seconds) for one question:

* ``KG_MEMORY_URL`` names it (``http://127.0.0.1:8765``; ``off`` turns the
  lookup off). Its store must be the one the command would open, else the
  command fails with a clear error rather than answer from another store.
* Otherwise a server on the default port (127.0.0.1:8765) is used when one
  answers ``/health`` within :data:`PROBE_SECONDS` and serves the same store
  (:func:`store_location`); if none does, the command runs in-process as before.

``KG_MEMORY_TOKEN`` is sent as the bearer token. This module imports only
httpx (no torch, no spaCy).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kg_memory.config import Settings
from kg_memory.errors import ConfigError, InputError, KGMemoryError
from kg_memory.formats.model import RawConversation, jsonl_turns
from kg_memory.security.uri import redact_uri

DEFAULT_PORT = 8765
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
#: How long the default port is tried before the command runs in-process.
PROBE_SECONDS = 0.3
#: Turns sent per ``remember`` request by ``ingest`` through a server.
REMEMBER_BATCH = 1000


def store_location(settings: Settings) -> str:
    """``neo4j <uri without credentials>`` or ``embedded <absolute path>``."""
    if settings.neo4j is not None:
        return f"neo4j {redact_uri(settings.neo4j.uri)}"
    return f"embedded {Path(settings.store_dir).expanduser().resolve()}"


class ServerClient:
    """The HTTP API of one server, for one namespace."""

    def __init__(self, url: str, namespace: str, token: str | None = None) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self.namespace = namespace
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=600)

    def close(self) -> None:
        self._http.close()

    def _post(self, op: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self._http.post(f"/v1/namespaces/{self.namespace}/{op}", json=body)
        if r.status_code >= 400:
            raise _error(r)
        out: dict[str, Any] = r.json()
        return out

    def ask(
        self, question: str, *, k: int, conversation: str | None, explain: bool = False
    ) -> dict[str, Any]:
        body = {"question": question, "k": k, "conversation": conversation, "explain": explain}
        return self._post("recall", body)

    def remember(self, turns: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return self._post("remember", {"turns": list(turns)})


def _error(r: Any) -> KGMemoryError:
    """The server's 4xx/5xx as the library's error (the message it sent)."""
    try:
        msg = r.json().get("message") or r.text
    except ValueError:
        msg = r.text
    cls = InputError if r.status_code in (400, 404, 409, 422) else KGMemoryError
    return cls(f"server {r.status_code}: {msg}")


def _health(url: str, timeout: float) -> dict[str, Any] | None:
    import httpx

    try:
        r = httpx.get(f"{url.rstrip('/')}/health", timeout=timeout)
        out: dict[str, Any] = r.json()
        return out if r.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None


def _port_open() -> bool:
    """A quick TCP connect to the default port (no HTTP client import when nothing listens)."""
    try:
        with socket.create_connection(("127.0.0.1", DEFAULT_PORT), timeout=PROBE_SECONDS):
            return True
    except OSError:
        return False


def find_server(
    store: Path | None, namespace: str | None, neo4j: str | None
) -> ServerClient | None:
    """The server ``ask``/``ingest`` should go through, or ``None`` (run in-process)."""
    url = os.environ.get("KG_MEMORY_URL", "").strip()
    if url.lower() == "off":
        return None
    settings = Settings.resolve(store, namespace=namespace, neo4j_uri=neo4j)
    want = store_location(settings)
    if url:
        info = _health(url, timeout=5)
        if info is None:
            raise ConfigError(f"KG_MEMORY_URL={url}: no kg-memory server answers there")
        if info.get("store") != want:
            raise ConfigError(
                f"KG_MEMORY_URL={url} serves {info.get('store')}, not {want}"
                " (unset KG_MEMORY_URL or set it to off to run in-process)"
            )
    else:
        if not _port_open():
            return None
        info = _health(DEFAULT_URL, timeout=PROBE_SECONDS * 3)
        if info is None or info.get("store") != want:
            return None
        url = DEFAULT_URL
    return ServerClient(url, settings.namespace, os.environ.get("KG_MEMORY_TOKEN"))


def turn_objects(convs: Sequence[RawConversation]) -> list[dict[str, Any]] | None:
    """Conversations as ``remember`` turns (``None`` if a session has no date to send)."""
    if any(not s.date_time for conv in convs for s in conv.sessions):
        return None
    return [t for conv in convs for t in jsonl_turns(conv)]
