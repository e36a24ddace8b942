"""A lost write must never be reported as stored (issue 16, finding 3).

When the connection of an open write transaction died before COMMIT, the commit
could answer success without a bookmark and ``Neo4jStore.transaction()``
returned normally with nothing stored. The faults are injected by a real TCP
proxy between the driver and a real server (no mock driver):

* ``fake_next_commit``: the COMMIT never reaches the server (it rolls the
  transaction back) and the client is answered ``SUCCESS {}``, a success
  without a bookmark, exactly the reported symptom;
* ``cut``: every open connection dropped just before the commit, with an RST
  or an orderly close.

After each, either the writes are stored (the store replayed its log) or the
store raised a :class:`StoreError`: never a normal return with nothing stored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import struct
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from kg_memory.config import Neo4jConfig
from kg_memory.errors import StoreError
from kg_memory.model import Node

pytestmark = pytest.mark.neo4j


#: Bolt's COMMIT message (a structure of no fields, signature 0x12) as one chunk.
COMMIT_FRAME = b"\x00\x02\xb0\x12\x00\x00"
#: ``SUCCESS {}`` as one chunk: a success without a bookmark.
SUCCESS_NO_BOOKMARK = b"\x00\x03\xb1\x70\xa0\x00\x00"


class CutProxy:
    """Listen on 127.0.0.1 (a free port), forward to ``target``; :meth:`cut` drops every
    connection open now (new ones are still accepted)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._closed = False
        self._fake_commit = threading.Event()
        self.faked = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()

    def fake_next_commit(self) -> None:
        """Answer the next COMMIT with ``SUCCESS {}`` and drop it (and its connection)."""
        self._fake_commit.set()

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        """Client -> server; once armed, the COMMIT frame is swallowed and answered."""
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                at = data.find(COMMIT_FRAME) if self._fake_commit.is_set() else -1
                if at < 0:
                    upstream.sendall(data)
                    continue
                self._fake_commit.clear()
                self.faked += 1
                upstream.sendall(data[:at])
                client.sendall(SUCCESS_NO_BOOKMARK)
                break  # both ends closed: the server rolls the open transaction back
        for s in (client, upstream):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self, *, reset: bool = True) -> int:
        """Drop every open connection: with ``reset`` an RST (as a dying host or a
        firewall would), else an orderly close (FIN). Returns how many were open."""
        with self._lock:
            socks, self._open = self._open, []
        for s in socks:
            with contextlib.suppress(OSError):
                if reset:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
        return len(socks) // 2

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.cut()


@pytest.fixture
def proxied(neo4j_config: Neo4jConfig) -> Iterator[tuple[Any, CutProxy]]:
    from urllib.parse import urlparse

    from kg_memory.store.neo4j import Neo4jStore

    target = urlparse(neo4j_config.uri)
    proxy = CutProxy(target.hostname or "127.0.0.1", target.port or 7687)
    store = Neo4jStore(dataclasses.replace(neo4j_config, uri=proxy.uri))
    try:
        yield store, proxy
    finally:
        store.close()
        proxy.close()


def _nodes(ns: str) -> list[Node]:
    return [Node(id=f"{ns}:t{i}", label="Turn", namespace=ns, text=f"turn {i}") for i in range(5)]


def _outcome(store: Any, inject: Any) -> tuple[str, set[str]]:
    ns = "lost" + uuid.uuid4().hex[:10]
    nodes = _nodes(ns)
    try:
        with store.transaction():
            store.upsert_nodes(nodes)
            inject()
        outcome = "returned"
    except StoreError as exc:
        outcome = f"raised: {exc}"
    stored = store.existing_ids(ns, [n.id for n in nodes])
    store.delete_namespace(ns)
    return outcome, stored


def test_a_commit_without_bookmark_is_replayed(proxied: tuple[Any, CutProxy]) -> None:
    store, proxy = proxied
    outcome, stored = _outcome(store, proxy.fake_next_commit)
    assert proxy.faked == 1
    # the store saw no bookmark, replayed its log in a fresh transaction: all stored
    assert outcome == "returned" and len(stored) == 5, (outcome, stored)


def test_a_single_write_without_bookmark_is_run_again(proxied: tuple[Any, CutProxy]) -> None:
    store, proxy = proxied
    ns = "lost" + uuid.uuid4().hex[:10]
    nodes = _nodes(ns)
    proxy.fake_next_commit()
    store.upsert_nodes(nodes)  # no transaction(): one managed transaction
    assert proxy.faked == 1
    assert len(store.existing_ids(ns, [n.id for n in nodes])) == 5
    store.delete_namespace(ns)


@pytest.mark.parametrize("reset", [True, False], ids=["rst", "fin"])
def test_a_cut_connection_is_never_a_silent_loss(
    proxied: tuple[Any, CutProxy], reset: bool
) -> None:
    store, proxy = proxied
    outcomes = []
    for _ in range(3):
        outcome, stored = _outcome(store, lambda: proxy.cut(reset=reset))
        outcomes.append(outcome.split(":")[0])
        if outcome == "returned":
            assert len(stored) == 5, stored  # reported stored: it is
        else:
            assert "Neo4j store at" in outcome and proxy.uri.split("//")[1] in outcome
    print(f"\ncut ({'rst' if reset else 'fin'}) before COMMIT: {outcomes}")
