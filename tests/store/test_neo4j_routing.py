"""The Neo4j store over a ``neo4j://`` routing URI (what a cluster or Aura is reached by).

Only a single server exists here: the driver asks it for a routing table (it
names itself as writer, reader and router), so this checks that the store
works through the routing driver, and that its reads go out as read sessions
(which a cluster sends to a follower or read replica), its writes as write
sessions (to the leader).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import neo4j
import pytest

from kg_memory import Memory
from kg_memory.embed import HashEmbedder
from kg_memory.store import backend_class
from kg_memory.store.neo4j.connection import Connection

MINI = Path(__file__).resolve().parents[2] / "ingest" / "samples" / "locomo-mini.json"

pytestmark = pytest.mark.neo4j


def routing_uri(uri: str) -> str:
    """``uri`` with the ``neo4j://`` scheme (same host and port).

    >>> routing_uri("bolt://127.0.0.1:17687")
    'neo4j://127.0.0.1:17687'
    """
    return urlunsplit(urlsplit(uri)._replace(scheme="neo4j"))


@pytest.fixture
def routed(neo4j_config, namespace: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple]:  # type: ignore[no-untyped-def,type-arg]
    modes: list[str] = []
    plain = Connection.session

    def session(self: Connection, access: str = neo4j.WRITE_ACCESS) -> object:
        modes.append(access)
        return plain(self, access)

    monkeypatch.setattr(Connection, "session", session)
    cfg = replace(neo4j_config, uri=routing_uri(neo4j_config.uri))
    store = backend_class("neo4j")(cfg)
    try:
        yield store, modes
    finally:
        store.delete_namespace(namespace)
        store.close()


def test_store_works_through_a_routing_uri(routed: tuple, namespace: str) -> None:  # type: ignore[type-arg]
    store, modes = routed
    assert store._db._driver is not None
    assert isinstance(store._db._driver, neo4j.Neo4jDriver)  # the routing driver
    mem = Memory(store, namespace=namespace, embedder=HashEmbedder())
    report = mem.ingest([MINI], stages="turns")
    assert report.turns > 0
    assert neo4j.WRITE_ACCESS in modes
    modes.clear()
    ans = mem.ask("What did Lena do?", k=5, preset="hybrid")
    assert ans.evidence and all(e.conversation for e in ans.evidence)
    assert modes and set(modes) == {neo4j.READ_ACCESS}  # an ask only reads
    assert mem.stats().nodes.get("Turn") == report.turns
