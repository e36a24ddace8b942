"""Neo4j-specific behaviour beyond the shared contract (tests/store/test_contract.py).

Schema application, the vector index path, write throughput, transactions
(rollback, retries), property mapping. Every test writes into its own fresh
namespace and deletes it afterwards, so the server can be shared.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kg_memory.config import EmbeddedConfig, Neo4jConfig
from kg_memory.errors import QueryError, StoreError
from kg_memory.ingest.registry import vector_labels
from kg_memory.model import NODE_LABELS, Edge, Node
from kg_memory.store.base import rank_by_cosine
from kg_memory.store.neo4j import Neo4jStore
from kg_memory.store.neo4j.cypher import vector_index_name
from kg_memory.store.neo4j.schema import apply_schema, schema_statements

DIM = 384


def unit_vectors(n: int, seed: int, dim: int = DIM) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def turns(ns: str, vectors: np.ndarray, *, conversations: int = 1, prefix: str = "t") -> list[Node]:
    return [
        Node(
            f"{ns}:{prefix}{i:05d}",
            "Turn",
            ns,
            f"c{i % conversations}",
            f"turn {i} about topic {i % 17}",
            {"turn_id": f"D1:{i}", "speaker": "A" if i % 2 else "B", "position": i},
            vec,
        )
        for i, vec in enumerate(vectors)
    ]


@pytest.fixture
def neo(neo4j_config: Neo4jConfig, namespace: str) -> Iterator[Neo4jStore]:
    s = Neo4jStore(neo4j_config)
    try:
        yield s
    finally:
        for ns in (namespace, namespace + "-b"):
            s.delete_namespace(ns)
        s.close()


class RunSpy:
    """Records the Cypher text of every query the driver runs in a transaction."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from neo4j._sync.work.transaction import TransactionBase

        self.queries: list[str] = []
        orig = TransactionBase.run

        def run(tx: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            self.queries.append(str(query))
            return orig(tx, query, *args, **kwargs)

        monkeypatch.setattr(TransactionBase, "run", run)


# -- schema ---------------------------------------------------------------------------


def test_schema_file_is_idempotent_ddl_for_every_label() -> None:
    stmts = schema_statements()
    assert stmts and all(("IF NOT EXISTS" in s) != ("IF EXISTS" in s) for s in stmts)
    vector = [s for s in stmts if s.startswith("CREATE VECTOR INDEX")]
    drops = {s for s in stmts if s.startswith("DROP INDEX")}
    for label in NODE_LABELS:
        name = vector_index_name(label)
        indexed = any(
            s.startswith(f"CREATE VECTOR INDEX {name} ") and f"(n:{label})" in s for s in vector
        )
        # an index only for the labels stages write with vectors; the others' are dropped
        assert indexed == (label in vector_labels())
        assert (f"DROP INDEX {name} IF EXISTS" in drops) == (not indexed)
    assert len(vector) == len(vector_labels())
    assert any("FULLTEXT INDEX memory_text" in s for s in stmts)
    assert any("REQUIRE n.id IS UNIQUE" in s for s in stmts)


@pytest.mark.neo4j
def test_schema_application_is_idempotent(neo4j_config: Neo4jConfig) -> None:
    def indexes(s: Neo4jStore) -> dict[str, tuple[str, str]]:
        rows = s.cypher("SHOW INDEXES YIELD name, type, state RETURN name, type, state")
        return {r["name"]: (r["type"], r["state"]) for r in rows}

    first = Neo4jStore(neo4j_config)
    try:
        before = indexes(first)
        errors: list[BaseException] = []

        def connect() -> None:
            try:
                Neo4jStore(neo4j_config).close()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=connect) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        apply_schema(first._db.session, first.uri)
        after = indexes(first)
    finally:
        first.close()
    assert after == before
    assert not {vector_index_name(lb) for lb in NODE_LABELS if lb not in vector_labels()} & set(
        after
    )
    expected = {vector_index_name(lb) for lb in vector_labels()} | {
        "memory_text",
        "memory_namespace",
        "memory_namespace_label",
        "memory_namespace_conversation",
        "memory_id",
    }
    assert expected <= set(after)
    assert {after[n][1] for n in expected} == {"ONLINE"}
    assert after["turn_embedding"][0] == "VECTOR" and after["memory_text"][0] == "FULLTEXT"


# -- vector search ------------------------------------------------------------------------


@pytest.mark.neo4j
def test_vector_search_uses_the_index_and_ranks_exactly(
    neo: Neo4jStore, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg_memory.store.embedded import EmbeddedStore

    vecs = unit_vectors(300, seed=1)
    nodes = turns(namespace, vecs, conversations=3)
    # a crowded label: another namespace holds 4x as many Turn vectors
    crowd = turns(namespace + "-b", unit_vectors(1200, seed=2))
    neo.upsert_nodes(crowd)
    neo.upsert_nodes(nodes)
    emb = EmbeddedStore(EmbeddedConfig(tmp_path / "emb"))
    emb.upsert_nodes(nodes)
    spy = RunSpy(monkeypatch)
    ids = [n.id for n in nodes]
    queries = unit_vectors(20, seed=3)
    try:
        for q in queries:
            expected = rank_by_cosine(q, ids, vecs, 10)
            got = neo.vector_search(namespace, "Turn", q, 10)
            assert [h.id for h in got] == [h.id for h in expected]
            assert np.allclose([h.score for h in got], [h.score for h in expected], atol=1e-6)
            assert [h.id for h in emb.vector_search(namespace, "Turn", q, 10)] == [
                h.id for h in got
            ]
        # scoped to one conversation (a third of the scope)
        for q in queries[:5]:
            got = neo.vector_search(namespace, "Turn", q, 5, conversation="c1")
            want = emb.vector_search(namespace, "Turn", q, 5, conversation="c1")
            assert [h.id for h in got] == [h.id for h in want]
    finally:
        emb.close()
    searches = [q for q in spy.queries if "db.index.vector.queryNodes" in q]
    assert len(searches) >= 25
    # the scope's vectors are never scanned: only the index yields embeddings
    assert not [q for q in spy.queries if "embedding" in q and "queryNodes" not in q]


@pytest.mark.neo4j
def test_vector_search_dimension_checks(neo: Neo4jStore, namespace: str) -> None:
    with pytest.raises(StoreError, match="16 dimensions"):
        neo.upsert_nodes(turns(namespace, unit_vectors(3, seed=4, dim=16)))
    neo.upsert_nodes(turns(namespace, unit_vectors(3, seed=4)))
    with pytest.raises(QueryError, match="8"):
        neo.vector_search(namespace, "Turn", unit_vectors(1, seed=5, dim=8)[0], 3)


# -- throughput and latency ------------------------------------------------------------------


@pytest.mark.neo4j
def test_batch_write_throughput_and_search_latency(
    neo: Neo4jStore, namespace: str, record_property: Callable[[str, object], None]
) -> None:
    n = 2000
    vecs = unit_vectors(n, seed=7)
    nodes = [Node(f"{namespace}:s0", "Session", namespace, "c0", None, {"index": 1})]
    nodes += turns(namespace, vecs)
    edges = [
        Edge(f"{namespace}:s0", "HAS_TURN", t.id, namespace, {"position": i})
        for i, t in enumerate(nodes[1:])
    ]
    edges += [
        Edge(a.id, "NEXT_TURN", b.id, namespace, {}) for a, b in itertools.pairwise(nodes[1:])
    ]
    t0 = time.perf_counter()
    with neo.transaction():
        neo.upsert_nodes(nodes)
        neo.upsert_edges(edges)
    seconds = time.perf_counter() - t0
    rate = n / seconds
    assert neo.counts(namespace).as_dict()["nodes"] == {"Session": 1, "Turn": n}
    assert neo.counts(namespace).total_edges == 2 * n - 1

    queries = unit_vectors(30, seed=8)
    neo.vector_search(namespace, "Turn", queries[0], 10)  # warm the query cache
    lat = []
    for q in queries:
        t = time.perf_counter()
        neo.vector_search(namespace, "Turn", q, 10)
        lat.append(time.perf_counter() - t)
    p50 = float(np.median(lat)) * 1000
    record_property("turns_per_second", round(rate))
    record_property("vector_search_p50_ms", round(p50, 1))
    print(
        f"\nneo4j store: {n} turns (384-d) + {len(edges)} edges in {seconds:.2f} s "
        f"= {rate:.0f} turns/s; vector_search k=10 p50 {p50:.1f} ms"
    )
    # a sanity floor only: the target (2,000 turns/s) depends on the machine and its load
    assert rate > 50


# -- transactions ----------------------------------------------------------------------------


def _nodes(ns: str, names: str) -> list[Node]:
    return [Node(f"{ns}:{c}", "Turn", ns, "c1", f"text {c}", {}) for c in names]


@pytest.mark.neo4j
def test_transaction_rollback_and_recovery_from_a_refused_edge(
    neo: Neo4jStore, namespace: str
) -> None:
    ns = namespace
    with pytest.raises(KeyError), neo.transaction():
        neo.upsert_nodes(_nodes(ns, "abc"))
        neo.delete_namespace(ns)
        neo.upsert_nodes(_nodes(ns, "de"))
        assert neo.existing_ids(ns, [f"{ns}:d", f"{ns}:a"]) == {f"{ns}:d"}
        raise KeyError("abort")
    assert neo.counts(ns).total_nodes == 0
    # a refused edge (missing end) does not poison the transaction: the caller may go on
    with neo.transaction():
        neo.upsert_nodes(_nodes(ns, "ab"))
        with pytest.raises(StoreError, match="nope"):
            neo.upsert_edges([Edge(f"{ns}:a", "NEXT_TURN", f"{ns}:nope", ns)])
        neo.upsert_edges([Edge(f"{ns}:a", "NEXT_TURN", f"{ns}:b", ns)])
    assert neo.counts(ns).as_dict()["edges"] == {"NEXT_TURN": 1}


def _transient() -> Exception:
    from neo4j.exceptions import Neo4jError

    return Neo4jError._hydrate_neo4j(
        code="Neo.TransientError.Transaction.DeadlockDetected", message="simulated deadlock"
    )


@pytest.mark.neo4j
def test_transient_errors_are_retried_by_replaying_the_transaction(
    neo: Neo4jStore, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neo4j import Transaction
    from neo4j._sync.work.transaction import TransactionBase

    ns = namespace
    orig_run, orig_commit = TransactionBase.run, Transaction.commit
    fail = {"run": 1, "commit": 1}

    def run(tx: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        # the first edge write in the explicit transaction hits a "deadlock"
        if isinstance(tx, Transaction) and "(a)-[r:" in str(query) and fail["run"]:
            fail["run"] -= 1
            raise _transient()
        return orig_run(tx, query, *args, **kwargs)

    def commit(tx: Any) -> None:
        if fail["commit"]:
            fail["commit"] -= 1
            tx.rollback()
            raise _transient()
        orig_commit(tx)

    monkeypatch.setattr(TransactionBase, "run", run)
    monkeypatch.setattr(Transaction, "commit", commit)
    with neo.transaction():
        neo.upsert_nodes(_nodes(ns, "abc"))
        neo.upsert_edges([Edge(f"{ns}:a", "NEXT_TURN", f"{ns}:b", ns)])
        neo.upsert_edges([Edge(f"{ns}:b", "NEXT_TURN", f"{ns}:c", ns)])
    assert fail == {"run": 0, "commit": 0}
    monkeypatch.undo()
    c = neo.counts(ns).as_dict()
    assert (c["nodes"], c["edges"]) == ({"Turn": 3}, {"NEXT_TURN": 2})
    # The replay found the ends again (the element ids of the first attempt died with it).
    rows = neo.cypher(
        "MATCH (a:Turn {namespace: $ns})-[:NEXT_TURN]->(b) RETURN a.id AS a, b.id AS b ORDER BY a",
        {"ns": ns},
    )
    assert [(r["a"], r["b"]) for r in rows] == [(f"{ns}:a", f"{ns}:b"), (f"{ns}:b", f"{ns}:c")]


@pytest.mark.neo4j
def test_edges_between_new_and_stored_nodes_in_one_transaction(
    neo: Neo4jStore, namespace: str
) -> None:
    """Ends created, upserted or only stored before: each edge joins the right two nodes."""
    ns = namespace
    neo.upsert_nodes(_nodes(ns, "ab"))
    with neo.transaction():
        neo.upsert_nodes(_nodes(ns, "bc"))  # b upserted (stored before), c created
        neo.upsert_edges(
            [
                Edge(f"{ns}:a", "NEXT_TURN", f"{ns}:c", ns),  # stored before -> created
                Edge(f"{ns}:b", "NEXT_TURN", f"{ns}:c", ns),  # upserted -> created
                Edge(f"{ns}:c", "NEXT_TURN", f"{ns}:a", ns),
                Edge(f"{ns}:a", "NEXT_TURN", f"{ns}:b", ns),  # neither end created: MERGE
            ]
        )
        neo.upsert_edges([Edge(f"{ns}:b", "NEXT_TURN", f"{ns}:c", ns)])  # again: no duplicate
    rows = neo.cypher(
        "MATCH (a:Turn {namespace: $ns})-[:NEXT_TURN]->(b) RETURN a.id AS a, b.id AS b "
        "ORDER BY a, b",
        {"ns": ns},
    )
    got = [(r["a"][-1], r["b"][-1]) for r in rows]
    assert got == [("a", "b"), ("a", "c"), ("b", "c"), ("c", "a")]


@pytest.mark.neo4j
def test_commit_refused_after_a_failed_write(
    neo: Neo4jStore, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that failed on the server poisons the transaction: the commit is refused."""
    from neo4j._sync.work.transaction import TransactionBase
    from neo4j.exceptions import Neo4jError

    ns = namespace
    orig = TransactionBase.run
    with pytest.raises(StoreError, match="not committed"), neo.transaction():
        neo.upsert_nodes(_nodes(ns, "a"))

        def boom(*args: Any, **kwargs: Any) -> Any:
            raise Neo4jError._hydrate_neo4j(
                code="Neo.ClientError.Statement.SemanticError", message="simulated failure"
            )

        monkeypatch.setattr(TransactionBase, "run", boom)
        with pytest.raises(StoreError):
            neo.upsert_nodes(_nodes(ns, "b"))
        monkeypatch.setattr(TransactionBase, "run", orig)
    assert neo.counts(ns).total_nodes == 0


# -- property mapping ---------------------------------------------------------------------------


@pytest.mark.neo4j
def test_props_round_trip_exactly_and_scalars_are_queryable(
    neo: Neo4jStore, namespace: str
) -> None:
    ns = namespace
    props = {
        "speaker": "Caroline",
        "turn_id": "D1:3",
        "position": 3,
        "score": 1.5,
        "flags": [True, False],
        "tags": ["a", "b"],
        "big": 2**70,
        "none": None,
        "mixed": [1, "a"],
        "empty": [],
        "nested": {"a": [1, {"b": 2}]},
        "text": "the raw text (shadowed by the node text)",
        "id": "shadow",
    }
    node = Node(f"{ns}:t1", "Turn", ns, "c1", "indexed text", props, unit_vectors(1, 9)[0])
    neo.upsert_nodes([node])
    (got,) = neo.get_nodes(ns, [node.id], with_embeddings=True)
    assert got == node
    assert got.embedding is not None and np.array_equal(got.embedding, node.embedding)
    (row,) = neo.cypher("MATCH (t:Turn {id: $id}) RETURN t", {"id": node.id})
    t = row["t"]
    assert {k: t[k] for k in ("speaker", "turn_id", "position", "score", "flags", "tags")} == {
        k: props[k] for k in ("speaker", "turn_id", "position", "score", "flags", "tags")
    }
    assert (t["id"], t["text"], t["namespace"], t["conversation"]) == (
        node.id,
        "indexed text",
        ns,
        "c1",
    )
    assert not {"big", "none", "mixed", "empty", "nested", "embedding"} & set(t)


@pytest.mark.neo4j
def test_label_change_moves_the_node_between_labels(neo: Neo4jStore, namespace: str) -> None:
    ns = namespace
    v = unit_vectors(1, 10)[0]
    neo.upsert_nodes([Node(f"{ns}:x", "Turn", ns, "c1", "words", {}, v)])
    neo.upsert_nodes([Node(f"{ns}:x", "Note", ns, "c1", "words", {})])
    rows = neo.cypher("MATCH (n:Memory {id: $id}) RETURN labels(n) AS labels", {"id": f"{ns}:x"})
    assert sorted(rows[0]["labels"]) == ["Memory", "Note"]
    assert [h.id for h in neo.vector_search(ns, "Note", v, 1)] == [f"{ns}:x"]
    assert neo.vector_search(ns, "Turn", v, 1) == []


@pytest.mark.neo4j
def test_batched_deletes_and_keyword_term_groups(
    neo: Neo4jStore, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg_memory.store.neo4j import fulltext, writes

    ns = namespace
    monkeypatch.setattr(writes, "DELETE_BATCH", 3)
    monkeypatch.setattr(fulltext, "LUCENE_TERMS_PER_QUERY", 2)
    monkeypatch.setattr(writes, "BATCH", 4)
    words = ["alpha", "beta", "gamma", "delta", "epsilon"]
    nodes = [
        Node(f"{ns}:t{i}", "Turn", ns, "c1", f"{w} text {i}", {}) for i, w in enumerate(words * 2)
    ]
    shared = Node(f"{ns}:e", "Entity", ns, None, "entity", {})
    neo.upsert_nodes([*nodes, shared])
    neo.upsert_edges([Edge(n.id, "MENTIONS", shared.id, ns) for n in nodes])
    cands = neo.keyword_candidates(ns, "Turn", words)
    assert sorted(c[0] for c in cands) == sorted(n.id for n in nodes)
    assert len(neo.keyword_candidates(ns, "Turn", words, limit=3)) == 3
    assert neo.delete_conversation(ns, "c1") == 11
    assert neo.counts(ns).total_nodes == 0
    neo.upsert_nodes(nodes)
    assert neo.delete_namespace(ns) == 10


# -- native dates ------------------------------------------------------------------------


@pytest.mark.neo4j
def test_dates_are_native_temporal_values(neo: Neo4jStore, namespace: str) -> None:
    """Session, turn and event dates are DATE / LOCAL DATETIME values: Cypher's temporal
    functions and comparisons work on them (and read back as the ISO strings written)."""
    ns = namespace
    neo.upsert_nodes(
        [
            Node(f"{ns}:s1", "Session", ns, "c1", None, {"date_time": "2023-05-08T13:56:00"}),
            Node(f"{ns}:t1", "Turn", ns, "c1", "hi", {"date_time": "2023-05-08T13:56:00"}),
            Node(f"{ns}:s2", "Session", ns, "c1", None, {"date_time": "2023-06-09T20:01:30"}),
            Node(
                f"{ns}:e1", "Event", ns, "c1", "moved", {"begin": "2023-05-01", "end": "2023-05-03"}
            ),
        ]
    )
    rows = neo.cypher(
        "MATCH (s:Session) WHERE s.namespace = $ns "
        "RETURN valueType(s.date_time) AS type, s.date_time.year AS year, "
        "s.date_time.dayOfWeek AS dow, date(s.date_time) AS day, s.date_time AS dt "
        "ORDER BY s.date_time",
        {"ns": ns},
    )
    assert [r["type"] for r in rows] == ["LOCAL DATETIME NOT NULL"] * 2
    assert [(r["year"], r["dow"], r["day"], r["dt"]) for r in rows] == [
        (2023, 1, "2023-05-08", "2023-05-08T13:56:00"),
        (2023, 5, "2023-06-09", "2023-06-09T20:01:30"),
    ]
    (ev,) = neo.cypher(
        "MATCH (e:Event) WHERE e.namespace = $ns RETURN valueType(e.begin) AS type, "
        "duration.inDays(e.begin, e.end).days AS days, "
        "e.begin < date('2023-05-02') AS early",
        {"ns": ns},
    )
    assert ev == {"type": "DATE NOT NULL", "days": 2, "early": True}
    (gap,) = neo.cypher(
        "MATCH (a:Session {id: $a}), (b:Session {id: $b}) "
        "RETURN duration.between(a.date_time, b.date_time).months AS months, "
        "COLLECT { MATCH (t:Turn) WHERE t.namespace = $ns "
        "AND date(t.date_time) = date('2023-05-08') RETURN t.id } AS same_day",
        {"ns": ns, "a": f"{ns}:s1", "b": f"{ns}:s2"},
    )
    assert gap == {"months": 1, "same_day": [f"{ns}:t1"]}


@pytest.mark.neo4j
def test_a_namespace_is_deleted_in_batches_outside_a_transaction(
    neo: Neo4jStore, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside a transaction each batch commits alone (a namespace larger than the server's
    transaction memory can be deleted); inside one, the whole delete stays in it."""
    from kg_memory.store.neo4j import writes

    monkeypatch.setattr(writes, "DELETE_BATCH", 7)
    commits: list[int] = []
    real = writes._delete

    def counting(db: Any, ns: str, delete: Callable[[Any], int]) -> int:
        commits.append(1)
        return real(db, ns, delete)

    monkeypatch.setattr(writes, "_delete", counting)
    neo.upsert_nodes(turns(namespace, unit_vectors(30, 1)))
    assert neo.delete_namespace(namespace) == 30
    assert len(commits) >= 30 // 7 and not neo.find_nodes(namespace, "Turn")
    neo.upsert_nodes(turns(namespace, unit_vectors(30, 2)))
    commits.clear()
    with neo.transaction():
        assert neo.delete_namespace(namespace) == 30
    assert len(commits) == 1 and not neo.find_nodes(namespace, "Turn")
