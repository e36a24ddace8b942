"""README.md's "Explore with Cypher and Neo4j Browser" runs as written on the test Neo4j.

* The bash block runs in bash with the test's server already up (``start`` then
  just prints its URI), in a fresh namespace (``KG_MEMORY_NAMESPACE``); its last
  line, ``scripts/neo4j-server stop``, is left out: the server is shared by the
  whole test run.
* Every ``cypher`` block runs as Neo4j Browser runs it (the driver, its
  ``:param`` lines as parameters, ``namespace`` set to the test's) and, when it
  binds ``$namespace``, also through kg-memory's namespace guard (``Memory.cypher``).
* Every named query of the guide's table runs with the parameters listed there.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kg_memory import Memory
from kg_memory.config import Neo4jConfig
from kg_memory.queries import get_query, parse_params
from kg_memory.store.neo4j import Neo4jStore

REPO = Path(__file__).resolve().parents[1]
TITLE = "## Explore with Cypher and Neo4j Browser"
STOP = "scripts/neo4j-server stop"


def section() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return text.split(TITLE, 1)[1].split("\n## ", 1)[0]


def blocks(lang: str) -> list[str]:
    return [t for lg, t in re.findall(r"```(\w+)\n(.*?)```", section(), flags=re.S) if lg == lang]


def browser_block(text: str) -> tuple[str, dict[str, Any]]:
    """A Browser block's query and the parameters its ``:param name => value`` lines set."""
    params: dict[str, Any] = {}
    lines = []
    for line in text.splitlines():
        m = re.fullmatch(r":param (\w+) => (.+)", line.strip())
        if m:
            params[m.group(1)] = ast.literal_eval(m.group(2))
        elif line.strip():
            lines.append(line)
    return "\n".join(lines), params


def named_rows() -> list[tuple[str, dict[str, object]]]:
    rows = re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", section(), flags=re.M)
    return [(name, parse_params(args.split())) for name, args in rows]


def test_the_guide_has_its_parts() -> None:
    assert len(blocks("bash")) == 1 and len(blocks("cypher")) >= 4
    assert any("db.schema.visualization()" in b for b in blocks("cypher"))
    assert {name for name, _ in named_rows()} == {
        p.stem for p in (REPO / "queries").glob("*.cypher")
    }
    assert "KG_MEMORY_NEO4J_PASSWORD" in blocks("bash")[0]


@pytest.mark.neo4j
@pytest.mark.slow
def test_the_guide_runs_as_written(neo4j_config: Neo4jConfig, namespace: str) -> None:
    import neo4j

    (script,) = blocks("bash")
    assert script.rstrip().endswith(STOP)
    script = script.rstrip()[: -len(STOP)]
    env = dict(os.environ, KG_MEMORY_NAMESPACE=namespace)
    env["PATH"] = f"{REPO / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    store = Neo4jStore(neo4j_config)
    try:
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        out = run.stdout
        assert re.search(r"http://127\.0\.0\.1:\d+/browser/", out), out
        assert "2024-03-09" in out and "Maya" in out  # the overview and the timeline
        assert store.counts(namespace).nodes["Turn"] == 31

        mem = Memory(store, namespace=namespace, embedder="hash")
        auth = (neo4j_config.user, neo4j_config.password)
        with neo4j.GraphDatabase.driver(neo4j_config.uri, auth=auth) as driver:
            for text in blocks("cypher"):
                query, params = browser_block(text)
                if "namespace" in params:
                    params["namespace"] = namespace
                records, _, _ = driver.execute_query(query, params, routing_="r")
                assert records, query
                if "$namespace" in query:
                    guarded = mem.cypher(
                        query, {k: v for k, v in params.items() if k != "namespace"}
                    )
                    assert len(guarded) == len(records), query
                else:
                    labels = {n["name"] for n in records[0]["nodes"]}
                    assert {"Turn", "Entity", "Session"} <= labels
        for name, params in named_rows():
            rows = store.cypher(get_query(name).text, dict(params), namespace=namespace)
            assert rows, f"{name} {params} returned nothing"
    finally:
        store.delete_namespace(namespace)
        store.close()
