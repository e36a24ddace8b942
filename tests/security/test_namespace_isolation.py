"""Namespace isolation (issue 16, finding 6): nothing of one namespace reaches another.

Two namespaces hold the same conversation plus turns of their own with a secret
marker. A leak is an id of the other namespace's nodes or its marker anywhere in
an answer. Probes: hostile hand-written Cypher, every named query run from both
sides, and 1,000 generated questions through ``ask`` on each store.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from kg_memory.errors import QueryError
from kg_memory.queries import list_queries

DEMO = Path(__file__).resolve().parents[2] / "ingest" / "samples" / "demo.jsonl"

#: Hand-written attempts to read the other namespace (``$other`` is its name,
#: ``$marker`` its secret). Each must be refused or return nothing of it.
PROBES: list[str] = [
    "MATCH (n) RETURN n.text AS t",
    "MATCH (n:Turn) RETURN n.text AS t",
    "MATCH (n:Turn) WHERE n.namespace = $namespace OR true RETURN n.text AS t",
    "MATCH (n:Turn) WHERE n.namespace = $namespace OR n.namespace = $other RETURN n.text AS t",
    "MATCH (n:Turn) WHERE n.namespace <> $namespace RETURN n.text AS t",
    "MATCH (n:Turn) WHERE NOT n.namespace = $namespace RETURN n.text AS t",
    "MATCH (n:Turn) WHERE $namespace = $namespace RETURN n.text AS t",
    "MATCH (n:Turn) WHERE $namespace STARTS WITH 'sec' RETURN n.text AS t",
    "MATCH (n:Turn) WHERE n.namespace = $other RETURN n.text AS t",
    "MATCH (n:Turn) WHERE n.namespace IN [$namespace, $other] RETURN n.text AS t",
    "MATCH (n:Turn {namespace: $other}) RETURN n.text AS t",
    "MATCH (n:Turn) WHERE n.text CONTAINS $marker RETURN n.text AS t",
    "MATCH (s:Session) WHERE s.namespace = $namespace OPTIONAL MATCH (t:Turn) RETURN t.text AS t",
    "MATCH (a:Turn)-[r]->(b) WHERE a.namespace = $namespace RETURN b.text AS t",
    "MATCH (a:Turn)<-[r]-(b) WHERE a.namespace = $namespace RETURN b.text AS t",
    "MATCH (a:Turn)-[:NEXT_TURN]->(b:Turn) WHERE a.namespace = $namespace RETURN b.utterance AS t",
    "MATCH ()-[r]->() RETURN count(r) AS c",
    "MATCH (n) RETURN count(*) AS c",
    "MATCH (n:Turn) RETURN count(n) AS c",
    "MATCH (n) WITH count(n) AS c MATCH (m:Turn) WHERE m.namespace = $namespace RETURN c, m.text AS t",
    "MATCH (n:Turn) WITH n LIMIT 1000 WHERE n.namespace = $namespace RETURN count(n) AS c",
    "MATCH (n:Turn) WITH collect(n) AS ns UNWIND ns AS n WITH n WHERE n.namespace = $namespace RETURN count(n) AS c",
    "MATCH (n:Turn) WITH DISTINCT n.namespace AS ns RETURN ns",
    "MATCH (n:Turn) WHERE n.namespace = $namespace RETURN n.text AS t UNION MATCH (n:Turn) RETURN n.text AS t",
    "MATCH (n:Turn) WHERE n.namespace = $namespace AND EXISTS { MATCH (m:Turn) WHERE m.text CONTAINS $marker } RETURN n.text AS t",
    "MATCH (n:Turn) WHERE n.namespace = $namespace RETURN COUNT { (n)--() } AS c",
    "MATCH (n:Turn) WHERE n.namespace = $namespace CALL () { MATCH (m:Turn) RETURN count(m) AS c } RETURN c",
    "MATCH (n:Turn) WHERE n.namespace = $namespace CALL (n) { MATCH (n)-->(m) RETURN collect(m.text) AS t } RETURN t",
    "MATCH p = (a:Turn)-[*1..3]-(b) WHERE a.namespace = $namespace AND b.namespace = $namespace RETURN [x IN nodes(p) | x.text] AS t",
    "MATCH p = shortestPath((a:Turn)-[*]-(b:Turn)) WHERE a.namespace = $namespace AND b.namespace = $namespace RETURN p",
    "MATCH (a:Turn), (b:Turn) WHERE a.namespace = $namespace AND a.text = b.text RETURN b.id AS t",
    "MATCH (a:Turn) WHERE a.namespace = $namespace MATCH (b:Turn) WHERE b.text = a.text RETURN b.id AS t",
    "MATCH (n:Memory {id: $other_id}) RETURN n.text AS t",
    "MATCH (n) WHERE elementId(n) = $other_element RETURN n.text AS t",
    "CALL db.index.fulltext.queryNodes('memory_text', $marker) YIELD node RETURN node.text AS t",
    "CALL db.index.fulltext.queryNodes('memory_text', $marker) YIELD node, score WHERE node.namespace = $namespace OR score > 0 RETURN node.text AS t",
    "CALL db.propertyKeys() YIELD propertyKey RETURN propertyKey",
    "MATCH (n:Turn) WHERE n.namespace = $namespace WITH n MATCH (m) WHERE id(m) = id(n) + 1 RETURN m.text AS t",
    "MATCH (n:Turn) WHERE n.namespace = $namespace RETURN [(n)-->(m) | m.text] AS t",
    "MATCH (n:Turn) WHERE n.namespace = $namespace RETURN [(n)-->(m) WHERE m.namespace = $namespace | m.text] AS t",
    "MATCH (n:Turn) WHERE n.namespace = $namespace OPTIONAL MATCH (n)-[:NEXT_TURN]->(m) RETURN m.text AS t",
    "MATCH (n:Turn) WHERE n.namespace = $namespace OPTIONAL MATCH (n)-[`r WHERE m.namespace = $namespace`]->(m) RETURN m.text AS t",
    "MATCH (n:Turn) WHERE n.namespace = $namespace OPTIONAL MATCH (n)-->(`m WHERE m.namespace = $namespace`) RETURN `m WHERE m.namespace = $namespace`.text AS t",
    "MATCH (`n.namespace = $namespace AND n`:Turn) RETURN `n.namespace = $namespace AND n`.text AS t",
    # a name bound again after WITH dropped it (the plan keeps listing the old one)
    "MATCH (n:Turn) WHERE n.namespace = $namespace WITH n.text AS x LIMIT 1 MATCH (n:Turn) RETURN x, n.text AS t",
    "MATCH (n:Turn) WHERE n.namespace = $namespace WITH count(n) AS c MATCH (n:Turn) RETURN c, n.text AS t",
    "MATCH (n:Turn) WHERE n.namespace = $namespace WITH n.text AS x MATCH (m:Turn)-->(n) WHERE m.namespace = $namespace RETURN n.text AS t",
    "MATCH (n:Turn) WHERE n.namespace = $namespace WITH n.text AS x MATCH (n:Memory {id: $other_id}) RETURN n.text AS t",
    "MATCH (n:Turn) WHERE n.namespace = $namespace CALL () { MATCH (n:Turn)-->(m) RETURN m } WITH n, m WHERE n.namespace = $namespace AND m.namespace = $namespace RETURN m.text AS t",
    "MATCH (n:Turn) WITH n.text AS x MATCH (n:Turn) WHERE n.namespace = $namespace RETURN x AS t",
    "MATCH (n:Turn) WHERE n.namespace = $namespace MATCH (n)-[r]->(m) WHERE m.namespace = $namespace RETURN endNode(r).text AS t",
]  # fmt: skip


def _leaks(rows: Any, other: Any) -> list[str]:
    text = json.dumps(rows, default=str)
    found = [other.marker] if other.marker in text else []
    found += sorted(i for i in set(re.findall(r"[a-z_]+:[0-9a-f]{24}", text)) & other.ids)
    return found


@pytest.mark.neo4j
def test_hostile_cypher_cannot_cross(neo4j_pair: Any) -> None:
    alice, bob = neo4j_pair
    store = alice.memory.store
    # a corrupted graph: an edge from alice's turn to bob's secret turn (the store never
    # writes one; the guard must not rely on that)
    store.cypher(
        "MATCH (a:Turn {namespace: $a}), (b:Turn {namespace: $b}) WHERE b.text CONTAINS $m "
        "WITH a, b LIMIT 1 CREATE (a)-[:NEXT_TURN]->(b), (b)-[:NEXT_TURN]->(a)",
        {"a": alice.namespace, "b": bob.namespace, "m": bob.marker},
        read_only=False,
    )
    (foreign,) = store.cypher(
        "MATCH (n:Turn {namespace: $b}) WHERE n.text CONTAINS $m "
        "RETURN n.id AS id, elementId(n) AS el LIMIT 1",
        {"b": bob.namespace, "m": bob.marker},
    )
    tried = refused = 0
    leaks: list[tuple[str, list[str]]] = []
    for me, other in ((alice, bob), (bob, alice)):
        params = {
            "other": other.namespace,
            "marker": other.marker,
            "other_id": foreign["id"],
            "other_element": foreign["el"],
        }
        for query in PROBES:
            tried += 1
            try:
                rows = me.memory.cypher(query, params)
            except QueryError:
                refused += 1
                continue
            if found := _leaks(rows, other):
                leaks.append((query, found))
    # cleanup: the corrupted edges
    store.cypher(
        "MATCH (a:Turn {namespace: $a})-[r:NEXT_TURN]-(b:Turn {namespace: $b}) DELETE r",
        {"a": alice.namespace, "b": bob.namespace},
        read_only=False,
    )
    print(f"\nhostile isolation probes: {tried} tried, {refused} refused, {len(leaks)} leaks")
    assert leaks == []
    assert refused >= tried - 2 * 3  # only the properly scoped probes may run


@pytest.mark.neo4j
def test_namespace_parameter_cannot_be_overridden(neo4j_pair: Any) -> None:
    alice, bob = neo4j_pair
    with pytest.raises(QueryError, match="namespace is bound by kg-memory"):
        alice.memory.cypher(
            "MATCH (t:Turn) WHERE t.namespace = $namespace RETURN t.text AS t",
            {"namespace": bob.namespace},
        )
    from typer.testing import CliRunner

    from kg_memory.cli import app

    uri = alice.memory.store.uri  # type: ignore[attr-defined]
    out = CliRunner().invoke(
        app,
        ["queries", "run", "top_entities", "-p", "k=5", "-p", f"namespace={bob.namespace}",
         "--neo4j", uri, "-n", alice.namespace],
    )  # fmt: skip
    assert out.exit_code == 2 and "namespace is bound by kg-memory" in out.output


def _named_params(tenant: Any) -> list[dict[str, Any]]:
    """Parameter sets for the named queries, from the tenant's own data."""
    rows = tenant.memory.cypher(
        "MATCH (t:Turn) WHERE t.namespace = $namespace "
        "RETURN t.turn_id AS turn_id, t.conversation AS conversation, t.session AS session"
    )
    names = ["Maya", "Tom", "Biscuit", "Clara", "Lisbon", f"Agent {tenant.marker}"]
    out = []
    for r in rows[::4]:
        out.append({**r, "note": r["turn_id"], "k": 50, "name": names[len(out) % len(names)]})
    return out


@pytest.mark.neo4j
def test_named_queries_stay_in_their_namespace(neo4j_pair: Any) -> None:
    alice, bob = neo4j_pair
    runs = leaks = nonempty = 0
    for me, other in ((alice, bob), (bob, alice)):
        for q in list_queries():
            for params in _named_params(me) + _named_params(other):
                wanted = {k: v for k, v in params.items() if k in q.params}
                rows = me.memory.cypher(q.text, wanted)
                runs += 1
                nonempty += bool(rows)
                leaks += bool(_leaks(rows, other))
    print(f"\nnamed queries: {runs} runs ({nonempty} with rows), {leaks} leaks")
    assert leaks == 0 and nonempty > runs // 4


def _questions(a: Any, b: Any, n: int, seed: int = 16) -> list[str]:
    """``n`` questions built from both namespaces' texts (the other's secrets included)."""
    rng = random.Random(seed)
    words: list[str] = []
    for line in DEMO.read_text(encoding="utf-8").splitlines():
        words += json.loads(line)["text"].split()
    stems = ["What is", "Who told", "When did", "Where is", "Tell me about", "Which"]
    out = []
    for i in range(n):
        picked = rng.sample(words, rng.randint(2, 7))
        secret = [a.marker, b.marker][i % 2] if i % 3 == 0 else ""
        out.append(f"{rng.choice(stems)} {' '.join(picked)} {secret}?".replace("  ", " "))
    return out


def _ask_leaks(pair: Any, n: int) -> tuple[int, int]:
    a, b = pair
    asked = leaked = own = 0
    for q in _questions(a, b, n):
        for me, other in ((a, b), (b, a)):
            answer = me.memory.ask(q, k=10)
            asked += 1
            ids = [e.node_id for e in answer.evidence]
            texts = json.dumps([e.text for e in answer.evidence])
            if set(ids) - me.ids or other.marker in texts:
                leaked += 1
            own += me.marker in q and me.marker in texts
    # the control: asked for its own secret, a namespace finds it (the probe can see a leak)
    assert own > n // 10, own
    return asked, leaked


@pytest.mark.slow
def test_ask_never_crosses_embedded(embedded_pair: Any) -> None:
    asked, leaked = _ask_leaks(embedded_pair, 500)
    print(f"\nask isolation, embedded: {asked} questions, {leaked} leaks")
    assert asked == 1000 and leaked == 0


@pytest.mark.slow
@pytest.mark.neo4j
def test_ask_never_crosses_neo4j(neo4j_pair: Any) -> None:
    asked, leaked = _ask_leaks(neo4j_pair, 500)
    print(f"\nask isolation, neo4j: {asked} questions, {leaked} leaks")
    assert asked == 1000 and leaked == 0
