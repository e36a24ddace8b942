"""The read-only Cypher guard (issue 16, finding 2): hostile queries against a real server.

The text check this guard replaced let two tricks through: a ``//`` comment ended
by ``\\r`` and backticked procedure names; through them LOAD CSV read
/etc/passwd and ``dbms.*`` procedures showed the configuration. Every payload
below must be refused with a :class:`QueryError` (one clear line in the CLI),
and none may change stored data or return a file's or the server's secrets.
"""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from kg_memory.errors import QueryError
from kg_memory.store.neo4j.guard import check_plan, conjuncts

#: Hostile payloads: (what it tries, query). Each must be refused.
HOSTILE: list[tuple[str, str]] = [
    ("\\r ends a // comment", "WITH 1 AS x //\rLOAD CSV FROM 'file:///etc/passwd' AS row RETURN row"),
    ("\\r comment, then DETACH DELETE", "MATCH (n) // \r DETACH DELETE n"),
    ("LOAD CSV of a file", "LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row"),
    ("LOAD CSV, odd case and spaces", "load\tcsv   FROM 'file:///etc/hostname' AS row RETURN row"),
    ("LOAD CSV in a subquery", "CALL () { LOAD CSV FROM 'file:///etc/passwd' AS r RETURN r } RETURN r"),
    ("backticked dbms procedure", "CALL `dbms`.`listConfig`() YIELD name, value RETURN name, value"),
    ("backticked whole name", "CALL `dbms.listConfig`()"),
    ("unicode-escaped name", "CALL \\u0064bms.listConfig()"),
    ("dbms.listConfig", "CALL dbms.listConfig()"),
    ("JVM arguments over JMX", "CALL dbms.queryJmx('java.lang:type=Runtime') YIELD attributes RETURN attributes"),
    ("current user", "CALL dbms.showCurrentUser()"),
    ("server components", "CALL dbms.components()"),
    ("kill a transaction (4.x name)", "CALL dbms.killTransaction('neo4j-transaction-1')"),
    ("kill transactions", "TERMINATE TRANSACTIONS 'neo4j-transaction-1'"),
    ("list transactions", "SHOW TRANSACTIONS"),
    ("list settings", "SHOW SETTINGS YIELD name, value RETURN name, value"),
    ("list procedures", "SHOW PROCEDURES"),
    ("admin command", "CREATE USER evil SET PASSWORD 'evil-password'"),
    ("USE system", "USE system SHOW USERS"),
    ("db write procedure", "CALL db.createLabel('Evil')"),
    ("db write procedure, backticks", "CALL `db`.`createProperty`('evil')"),
    ("db cache procedure", "CALL db.clearQueryCaches()"),
    ("apoc procedure", "CALL apoc.create.node(['X'], {})"),
    ("apoc function", "RETURN apoc.text.join(['a'], ',') AS x"),
    ("CREATE", "CREATE (n:Memory {id: 'evil'}) RETURN n"),
    ("CREATE in nested CALL {}", "CALL () { CALL () { CREATE (x:Memory) RETURN x } RETURN x } RETURN x"),
    ("MERGE", "MERGE (n:Memory {id: 'evil'}) RETURN n"),
    ("SET", "MATCH (n:Turn) WHERE n.namespace = $namespace SET n.text = 'x' RETURN n"),
    ("REMOVE", "MATCH (n:Turn) WHERE n.namespace = $namespace REMOVE n.text RETURN n"),
    ("DETACH DELETE in a block comment", "MATCH (n:Turn) WHERE n.namespace = $namespace /* */ DETACH DELETE n"),
    ("FOREACH SET", "MATCH (n:Turn) WHERE n.namespace = $namespace FOREACH (x IN [1] | SET n.y = x)"),
    ("IN TRANSACTIONS", "CALL { MATCH (n) RETURN n } IN TRANSACTIONS RETURN 1"),
    ("schema DDL", "CREATE INDEX evil IF NOT EXISTS FOR (n:Turn) ON (n.evil)"),
    ("schema DDL, \\r", "DROP\rINDEX memory_text"),
    ("PROFILE executes", "PROFILE MATCH (n:Turn) WHERE n.namespace = $namespace DETACH DELETE n"),
    ("EXPLAIN prefix", "EXPLAIN MATCH (n) RETURN n"),
    ("write after UNION", "RETURN 1 AS x UNION CREATE (n:Memory) RETURN 2 AS x"),
]  # fmt: skip


@pytest.mark.neo4j
def test_hostile_cypher_is_refused(neo4j_pair: Any) -> None:
    alice, bob = neo4j_pair
    before = [t.memory.stats().as_dict() for t in (alice, bob)]
    refused: list[str] = []
    for what, query in HOSTILE:
        with pytest.raises(QueryError) as info:
            alice.memory.cypher(query)
        msg = str(info.value)
        assert "\n" not in msg.strip() or "Cypher error" in msg, (what, msg)
        assert "root:" not in msg and "dbms.security" not in msg.split("(")[0], (what, msg)
        refused.append(what)
    assert [t.memory.stats().as_dict() for t in (alice, bob)] == before
    assert alice.memory.store.existing_ids(alice.namespace, ["evil"]) == set()
    keys = alice.memory.store.cypher("CALL db.propertyKeys() YIELD propertyKey RETURN propertyKey")
    assert "evil" not in {r["propertyKey"] for r in keys}
    print(f"\nhostile Cypher payloads: {len(HOSTILE)} tried, {len(refused)} refused")


@pytest.mark.neo4j
def test_the_server_refuses_csv_from_files(neo4j_pair: Any) -> None:
    """Defence in depth: with the client guard switched off, the server still refuses."""
    alice, _ = neo4j_pair
    store = alice.memory.store
    with pytest.raises(QueryError, match="allow_csv_import_from_file_urls"):
        store.cypher("LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row", read_only=False)
    # (dbms.security.procedures.allowlist only filters procedures loaded from plugins:
    # the built-in db.* and dbms.* procedures stay callable, the client guard refuses them)


@pytest.mark.neo4j
def test_allowed_reads_run(neo4j_pair: Any) -> None:
    alice, _ = neo4j_pair
    mem = alice.memory
    assert mem.cypher("MATCH (t:Turn) WHERE t.namespace = $namespace RETURN count(t) AS n")[0]["n"]
    rows = mem.cypher(
        "CALL db.index.fulltext.queryNodes('memory_text', 'biscuit') YIELD node, score "
        "WHERE node.namespace = $namespace RETURN node.id AS id, score LIMIT 5"
    )
    assert rows and {r["id"] for r in rows} <= alice.ids
    assert mem.cypher("CALL db.labels() YIELD label RETURN count(label) AS n")[0]["n"] > 5
    assert mem.cypher("RETURN date.truncate('month', date('2024-05-17')) AS d")[0]["d"]


@pytest.mark.neo4j
def test_row_cap_and_memory_limit(neo4j_pair: Any) -> None:
    alice, _ = neo4j_pair
    with pytest.raises(QueryError, match="more than 10,000 rows"):
        alice.memory.cypher("UNWIND range(1, 20000) AS i RETURN i")
    # the server's per-transaction memory limit stops a query that would fill the heap
    with pytest.raises(QueryError, match="more memory than one transaction"):
        alice.memory.cypher("UNWIND range(1, 60000000) AS i WITH collect(i) AS c RETURN size(c)")
    assert alice.memory.cypher("RETURN 1 AS one") == [{"one": 1}]  # the server is up


@pytest.mark.neo4j
def test_cli_refuses_with_one_line(neo4j_pair: Any) -> None:
    from kg_memory.cli import app

    alice, _ = neo4j_pair
    uri = alice.memory.store.uri  # type: ignore[attr-defined]
    out = CliRunner().invoke(
        app, ["cypher", "CALL `dbms`.`listConfig`()", "--neo4j", uri, "-n", alice.namespace]
    )
    assert out.exit_code == 2
    assert out.output.strip().startswith("error: procedure dbms.listConfig is not allowed")
    assert "Traceback" not in out.output


# -- the plan walk itself (synthetic plans, no server) -------------------------------------


def _op(kind: str, details: str, idents: list[str], *children: dict[str, Any]) -> dict[str, Any]:
    return {
        "operatorType": f"{kind}@neo4j",
        "args": {"Details": details},
        "identifiers": idents,
        "children": list(children),
    }


@pytest.mark.parametrize(
    ("predicate", "scoped"),
    [
        ("n.namespace = $namespace", True),
        ("(n.namespace = $namespace AND n.x = $p)", True),
        ("NOT a = b AND (n.x = $p AND n.namespace = $namespace)", True),
        ("n.namespace = $namespace OR true", False),
        ("true OR n.namespace = $namespace AND n.namespace = $namespace", False),
        ("n.namespace <> $namespace", False),
        ("n.namespace = $autostring_0", False),
        ("m.namespace = $namespace", False),
        ("n.x = 'n.namespace = $namespace AND y'", False),
        ("NOT n.namespace = $namespace", False),
        ("(n.namespace = $namespace) = false", False),
    ],
)
def test_filter_proofs(predicate: str, scoped: bool) -> None:
    plan = _op(
        "ProduceResults",
        "n",
        ["n"],
        _op("Filter", predicate, ["n"], _op("AllNodesScan", "n", ["n"])),
    )
    if scoped:
        check_plan(plan, namespace=True)
    else:
        with pytest.raises(QueryError, match="without keeping them to the namespace"):
            check_plan(plan, namespace=True)


def test_conjuncts_respect_quotes_and_precedence() -> None:
    assert conjuncts("a = 'x AND y' AND b") == ["a = 'x AND y'", "b"]
    assert conjuncts("(a OR b) AND c") == ["a OR b", "c"]
    assert conjuncts("a XOR b AND c") == ["a XOR b AND c"]
