"""Neo4j Browser, served by scripts/neo4j-server, in a real headless Chromium.

Debian's ``chromium`` (installed by ``.ci/run``) driven by playwright: the page
loads from the server's HTTP connector, logs in over Bolt with the configured
password and runs one Cypher query; the result table must show the nodes this
test wrote. Nothing is downloaded at run time.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg_memory.config import Neo4jConfig
from kg_memory.model import Node
from kg_memory.store.neo4j import Neo4jStore

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_url() -> str:
    """The address ``scripts/neo4j-server browser`` prints for the running server."""
    out = subprocess.run(
        [str(REPO / "scripts" / "neo4j-server"), "browser"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture
def seeded(neo4j_config: Neo4jConfig, namespace: str) -> Iterator[list[str]]:
    texts = [f"browser probe {i} in {namespace}" for i in range(3)]
    store = Neo4jStore(neo4j_config)
    try:
        store.upsert_nodes(
            [
                Node(f"{namespace}:t{i}", "Turn", namespace, "c0", text, {"position": i})
                for i, text in enumerate(texts)
            ]
        )
        yield texts
    finally:
        store.delete_namespace(namespace)
        store.close()


@pytest.mark.neo4j
@pytest.mark.slow
def test_neo4j_browser_logs_in_and_runs_a_query(
    neo4j_config: Neo4jConfig, namespace: str, seeded: list[str]
) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian chromium is needed (apt-get install chromium)"
    url = browser_url()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/browser/")
    bolt = neo4j_config.uri.split("://", 1)[1]
    password = os.environ.get("KG_MEMORY_NEO4J_PASSWORD", "kgmemory-test")
    query = (
        f"MATCH (t:Turn) WHERE t.namespace = '{namespace}' "
        "RETURN t.text AS text ORDER BY t.position"
    )
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        try:
            page = context.new_page()
            page.goto(f"{url}?dbms=bolt://{bolt}", wait_until="domcontentloaded")
            page.get_by_test_id("username").fill("neo4j")
            page.get_by_test_id("password").fill(password)
            page.get_by_test_id("connect").click()
            page.get_by_text("You are connected as user").wait_for(timeout=60_000)
            page.get_by_test_id("activeEditor").click()
            page.keyboard.type(query)
            page.keyboard.press("Control+Enter")
            frame = page.get_by_test_id("frame").first  # the newest result is on top
            frame.get_by_text(seeded[-1]).wait_for(timeout=60_000)
            shown = frame.get_by_test_id("frame-loaded-contents").inner_text()
            status = frame.get_by_test_id("frameStatusbar").inner_text()
        finally:
            context.close()
    assert "Started streaming 3 records" in status, status
    positions = [shown.index(text) for text in seeded]  # every row, in ORDER BY order
    assert positions == sorted(positions), shown
