"""Named queries (``queries/*.cypher``), the read-only Cypher guard and connection errors.

The header and guard tests need no server; the rest run on Neo4j (marker
``neo4j``) against a small hand-built graph with every label the named
queries read, in a fresh namespace that is deleted afterwards.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from kg_memory.config import Neo4jConfig
from kg_memory.errors import QueryError, StoreUnavailableError
from kg_memory.model import Edge, Node
from kg_memory.queries import get_query, list_queries

EXPECTED = {
    "conversation_overview",
    "entity_timeline",
    "event_chain",
    "hyperedge_members",
    "note_links",
    "session_summaries",
    "session_turns",
    "top_entities",
    "topic_members",
    "turn_context",
}
_PARAM_USE = re.compile(r"\$(\w+)")


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


# -- headers (no server) ------------------------------------------------------------


def test_every_expected_query_is_shipped() -> None:
    assert {q.name for q in list_queries()} >= EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_query_header_matches_its_body(name: str) -> None:
    q = get_query(name)
    assert q.description and q.description[0].isupper() and q.description.endswith(".")
    body = _strip_comments(q.text)
    used = set(_PARAM_USE.findall(body))
    assert "namespace" in used, "every named query must be scoped by $namespace"
    assert used == set(q.params), f"declared {sorted(q.params)}, used {sorted(used)}"
    for pname, doc in q.params.items():
        assert doc.split(":")[0] in ("str", "int"), f"{pname}: type missing in {doc!r}"
    assert body.strip() and ";" not in body


def test_unknown_query_lists_the_names() -> None:
    with pytest.raises(QueryError, match="entity_timeline"):
        get_query("no_such_query")


# -- connection errors ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_server_names_the_uri() -> None:
    from kg_memory.store.neo4j import Neo4jStore

    uri = f"bolt://127.0.0.1:{_free_port()}"
    with pytest.raises(StoreUnavailableError, match=re.escape(uri)):
        Neo4jStore(Neo4jConfig(uri, "neo4j", "whatever-password"))


def test_invalid_uri_is_a_clear_error() -> None:
    from kg_memory.store.neo4j import Neo4jStore

    with pytest.raises(StoreUnavailableError, match="not-a-scheme"):
        Neo4jStore(Neo4jConfig("not-a-scheme://127.0.0.1:1", "neo4j", "x"))


@pytest.mark.neo4j
def test_wrong_password_names_the_uri(neo4j_config: Neo4jConfig) -> None:
    from kg_memory.store.neo4j import Neo4jStore

    bad = Neo4jConfig(neo4j_config.uri, neo4j_config.user, neo4j_config.password + "-wrong")
    with pytest.raises(StoreUnavailableError, match=re.escape(neo4j_config.uri)) as info:
        Neo4jStore(bad)
    assert "credentials" in str(info.value)


# -- named queries on Neo4j -------------------------------------------------------------


def nid(ns: str, name: str) -> str:
    return f"{ns}:{name}"


def _vec(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
    return v / np.linalg.norm(v)


def small_graph(
    ns: str, conv: str = "conv-1", who: str = "Caroline"
) -> tuple[list[Node], list[Edge]]:
    """One conversation with every label the named queries read."""

    def n(
        key: str,
        label: str,
        node_text: str | None = None,
        /,
        *,
        conversation: str | None = conv,
        vec: int | None = None,
        **props: Any,
    ) -> Node:
        return Node(
            nid(ns, key),
            label,
            ns,
            conversation,
            node_text,
            props,
            None if vec is None else _vec(vec),
        )

    def e(src: str, typ: str, dst: str, **props: Any) -> Edge:
        return Edge(nid(ns, src), typ, nid(ns, dst), ns, props)

    turns = [
        (
            "t1",
            "D1:1",
            who,
            "I went to the LGBTQ support group yesterday.",
            1,
            "2023-05-08T13:56:00",
            0,
        ),
        (
            "t2",
            "D1:2",
            "Melanie",
            "That is great! I painted a sunrise.",
            1,
            "2023-05-08T13:56:00",
            1,
        ),
        ("t3", "D2:1", who, "I am researching adoption agencies.", 2, "2023-05-25T10:00:00", 0),
    ]
    nodes = [
        n("conv", "Conversation", conversation_id=conv, speakers=[who, "Melanie"]),
        n("s1", "Session", index=1, date_time="2023-05-08T13:56:00"),
        n("s2", "Session", index=2, date_time="2023-05-25T10:00:00"),
        *[
            n(
                key,
                "Turn",
                f"[{dt[:10]}] {spk}: {txt}",
                vec=i,
                turn_id=tid,
                speaker=spk,
                text=txt,
                caption=None,
                position=pos,
                session=sess,
                date_time=dt,
                turn_ids=[tid],
            )
            for i, (key, tid, spk, txt, sess, dt, pos) in enumerate(turns)
        ],
        n("who", "Entity", who, conversation=None, name=who, type="PERSON", aliases=[who[:4]]),
        n("mel", "Entity", "Melanie", conversation=None, name="Melanie", type="PERSON", aliases=[]),
        n(
            "grp",
            "Entity",
            "support group",
            conversation=None,
            name="support group",
            type="CONCEPT",
            aliases=[],
        ),
        n(
            "f1",
            "Fact",
            f"{who} go to support group",
            subject=who,
            predicate="go_to",
            object="support group",
            negated=False,
            begin="2023-05-07",
            end=None,
            turn_ids=["D1:1"],
        ),
        n(
            "f2",
            "Fact",
            f"{who} research adoption",
            subject=who,
            predicate="research",
            object="adoption",
            negated=False,
            begin=None,
            end=None,
            turn_ids=["D2:1"],
        ),
        n(
            "ev1",
            "Event",
            f"{who} went to the support group",
            vec=10,
            description=f"{who} went to the support group",
            begin="2023-05-07",
            end="2023-05-07",
            participants=[who],
            date="2023-05-08T13:56:00",
            session=1,
            turn_ids=["D1:1"],
        ),
        n(
            "ev2",
            "Event",
            f"{who} researches adoption",
            vec=11,
            description=f"{who} researches adoption",
            begin="2023-05-25",
            end="2023-05-25",
            participants=[who],
            date="2023-05-25T10:00:00",
            session=2,
            turn_ids=["D2:1"],
        ),
        n(
            "note1",
            "Note",
            "support group note",
            vec=12,
            content="went to the support group",
            tags=["lgbtq"],
            context="first",
            turn_ids=["D1:1"],
        ),
        n(
            "note2",
            "Note",
            "adoption note",
            vec=13,
            content="researching adoption",
            tags=["adoption"],
            context="later",
            turn_ids=["D2:1"],
        ),
        n(
            "rev1",
            "NoteRevision",
            note=nid(ns, "note1"),
            revision=1,
            reason="linked from a later note",
            new_tags=["lgbtq", "adoption"],
            new_context="first; later",
            turn_ids=["D2:1"],
        ),
        n(
            "h1",
            "Hyperedge",
            f"Event with {who}",
            vec=14,
            kind="event_frame",
            member_count=3,
            turn_ids=["D1:1"],
        ),
        n(
            "sum1",
            "Summary",
            f"Session 1 (8 May 2023): {who}: I went to the support group.",
            vec=15,
            session=1,
            keywords=["support", "group"],
            quoted=["D1:1"],
            turn_ids=["D1:1", "D1:2"],
        ),
        n(
            "top1",
            "Topic",
            "Topic 1: support, group",
            vec=16,
            index=1,
            keywords=["support", "group"],
            size=2,
            sessions=[1, 2],
            turn_ids=["D1:1"],
        ),
    ]
    edges = [
        e("conv", "HAS_SESSION", "s1"),
        e("conv", "HAS_SESSION", "s2"),
        e("s1", "NEXT_SESSION", "s2"),
        e("s1", "HAS_TURN", "t1", position=0),
        e("s1", "HAS_TURN", "t2", position=1),
        e("s2", "HAS_TURN", "t3", position=0),
        e("t1", "NEXT_TURN", "t2"),
        e("t2", "NEXT_TURN", "t3"),
        e("t1", "SPOKEN_BY", "who"),
        e("t1", "MENTIONS", "grp", text="support group"),
        e("t2", "MENTIONS", "who", text=who),
        e("t3", "MENTIONS", "who", text=who),
        e("t2", "SPOKEN_BY", "mel"),
        e("f1", "SUBJECT", "who"),
        e("f1", "OBJECT", "grp"),
        e("f2", "SUBJECT", "who"),
        e("f1", "EVIDENCED_BY", "t1"),
        e("f2", "EVIDENCED_BY", "t3"),
        e("ev1", "PARTICIPANT", "who"),
        e("ev2", "PARTICIPANT", "who"),
        e("ev1", "EVIDENCED_BY", "t1"),
        e("ev2", "EVIDENCED_BY", "t3"),
        e("ev1", "NEXT", "ev2", subject="Caroline"),
        e("ev1", "CAUSES", "ev2", marker="because"),
        e("note2", "LINKS_TO", "note1", similarity=0.8, shared_entities=[who]),
        e("note1", "EVIDENCED_BY", "t1"),
        e("note2", "EVIDENCED_BY", "t3"),
        e("rev1", "REVISION_OF", "note1", revision=1),
        e("h1", "MEMBER", "ev1", role="event"),
        e("h1", "MEMBER", "who", role="participant"),
        e("h1", "MEMBER", "t1", role="evidence"),
        e("h1", "EVIDENCED_BY", "t1"),
        e("sum1", "SUMMARIZES", "s1"),
        e("sum1", "EVIDENCED_BY", "t1"),
        e("sum1", "EVIDENCED_BY", "t2"),
        e("sum1", "IN_TOPIC", "top1", share=0.5),
        e("t1", "IN_TOPIC", "top1", p=0.9),
        e("t3", "IN_TOPIC", "top1", p=0.6),
        e("top1", "EVIDENCED_BY", "t1"),
    ]
    return nodes, edges


PARAMS: dict[str, dict[str, Any]] = {
    "conversation_overview": {"conversation": "conv-1"},
    "entity_timeline": {"name": "caroline"},
    "event_chain": {"conversation": "conv-1"},
    "hyperedge_members": {"conversation": "conv-1"},
    "note_links": {"note": "D1:1"},
    "session_summaries": {"conversation": "conv-1"},
    "session_turns": {"conversation": "conv-1", "session": 1},
    "topic_members": {"conversation": "conv-1"},
    "top_entities": {"k": 5},
    "turn_context": {"turn_id": "D1:2", "conversation": "conv-1"},
}


@pytest.fixture
def neo(neo4j_config: Neo4jConfig) -> Iterator[Any]:
    from kg_memory.store.neo4j import Neo4jStore

    s = Neo4jStore(neo4j_config)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def graph(neo: Any, namespace: str) -> Iterator[tuple[Any, str, str]]:
    """Two namespaces with the same shape (different speaker names)."""
    other = namespace + "-other"
    for ns, who in ((namespace, "Caroline"), (other, "Caroline")):
        nodes, edges = small_graph(ns, who=who)
        with neo.transaction():
            neo.upsert_nodes(nodes)
            neo.upsert_edges(edges)
    try:
        yield neo, namespace, other
    finally:
        neo.delete_namespace(namespace)
        neo.delete_namespace(other)


def run_named(store: Any, query: str, namespace: str, /, **extra: Any) -> list[dict[str, Any]]:
    params = {**PARAMS[query], **extra}
    params.pop("namespace", None)
    # namespace-scoped: the guard proves every node the query reads is in `namespace`
    return store.cypher(get_query(query).text, params, namespace=namespace)  # type: ignore[no-any-return]


@pytest.mark.neo4j
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_named_query_runs(graph: tuple[Any, str, str], name: str) -> None:
    store, ns, _ = graph
    rows = run_named(store, name, ns)
    assert rows, f"{name} returned nothing on the sample graph"
    assert json.dumps(rows, default=str)  # plain, serialisable values


@pytest.mark.neo4j
def test_named_query_results(graph: tuple[Any, str, str]) -> None:
    store, ns, _ = graph
    overview = run_named(store, "conversation_overview", ns)
    assert [(r["session"], r["turns"]) for r in overview] == [(1, 2), (2, 1)]

    timeline = run_named(store, "entity_timeline", ns)
    assert [(r["kind"], r["time"]) for r in timeline] == [
        ("event", "2023-05-07"),
        ("fact", "2023-05-07"),
        ("event", "2023-05-25"),
        ("fact", "2023-05-25"),  # no begin: the day it was said (a native date)
    ]
    assert {r["entity"] for r in timeline} == {"Caroline"}
    by_alias = run_named(store, "entity_timeline", ns, name="CARO")
    assert len(by_alias) == len(timeline)

    ctx = run_named(store, "turn_context", ns)
    assert len(ctx) == 1
    row = ctx[0]
    assert (row["previous_turn"], row["next_turn"], row["speaker"]) == ("D1:1", "D2:1", "Melanie")
    assert set(row["entities"]) == {"Caroline", "Melanie"}

    turns = run_named(store, "session_turns", ns)
    assert [r["turn_id"] for r in turns] == ["D1:1", "D1:2"]

    top = run_named(store, "top_entities", ns, k=1)
    assert [(r["entity"], r["mentions"]) for r in top] == [("Caroline", 2)]

    chain = run_named(store, "event_chain", ns)
    assert [r["id"] for r in chain] == [nid(ns, "ev1"), nid(ns, "ev2")]
    assert chain[0]["next"] == [{"event": nid(ns, "ev2"), "subject": "Caroline"}]
    assert chain[0]["causes"] == [{"event": nid(ns, "ev2"), "marker": "because"}]

    (note,) = run_named(store, "note_links", ns)
    assert [(lk["direction"], lk["note"]) for lk in note["links"]] == [("in", nid(ns, "note2"))]
    assert [r["revision"] for r in note["revisions"]] == [1]

    (hyper,) = run_named(store, "hyperedge_members", ns)
    assert sorted(m["role"] for m in hyper["members"]) == ["event", "evidence", "participant"]

    (summary,) = run_named(store, "session_summaries", ns)
    assert (summary["session"], summary["quoted"]) == (1, ["D1:1"])
    assert summary["topics"] == [{"topic": 1, "keywords": ["support", "group"], "share": 0.5}]

    (topic,) = run_named(store, "topic_members", ns)
    assert [(t["turn_id"], t["p"]) for t in topic["turns"]] == [("D1:1", 0.9), ("D2:1", 0.6)]


@pytest.mark.neo4j
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_named_queries_stay_in_their_namespace(graph: tuple[Any, str, str], name: str) -> None:
    store, ns, other = graph
    rows = run_named(store, name, ns)
    assert rows
    # ids embed the namespace, and `other` is `ns` + "-other": no id of it may show up
    assert other + ":" not in json.dumps(rows, default=str)
    # asked with the other namespace's node id, a query still answers from its own namespace only
    if name == "note_links":
        assert run_named(store, name, ns, note=nid(other, "note1")) == []


@pytest.mark.neo4j
@pytest.mark.parametrize(
    "payload",
    [
        "Caroline' OR 1=1 //",
        "x'}) MATCH (n) DETACH DELETE n //",
        '"}) CREATE (evil:Memory) RETURN evil //',
        "$namespace",
        "*",
        "Caroline\\' OR \\'a\\'=\\'a",
    ],
)
def test_parameters_are_data_not_code(graph: tuple[Any, str, str], payload: str) -> None:
    store, ns, other = graph
    before = store.counts(ns).as_dict()
    assert run_named(store, "entity_timeline", ns, name=payload) == []
    assert run_named(store, "turn_context", ns, turn_id=payload, conversation=payload) == []
    assert run_named(store, "note_links", ns, note=payload) == []
    # a payload as the namespace reads nothing at all
    assert run_named(store, "top_entities", payload) == []
    assert store.counts(ns).as_dict() == before
    assert store.counts(other).total_nodes == before["total_nodes"]


@pytest.mark.neo4j
def test_store_cypher_refuses_writes(
    graph: tuple[Any, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, ns, _ = graph
    with pytest.raises(QueryError, match="read-only: the plan has a Create operator"):
        store.cypher("CREATE (n) RETURN n")
    with pytest.raises(QueryError, match=r"read-only: the plan has a \w*Delete operator"):
        store.cypher("MATCH (n:Memory {namespace: $namespace}) DETACH DELETE n", {"namespace": ns})
    # the second line of defence: the READ session refuses what the guard missed
    import kg_memory.store.neo4j.guard as mod

    monkeypatch.setattr(mod, "check_plan", lambda plan, namespace: None)
    with pytest.raises(QueryError, match="read-only"):
        store.cypher(
            "CREATE (n:Memory {namespace: $namespace, id: 'evil'}) RETURN n", {"namespace": ns}
        )
    monkeypatch.undo()
    assert store.existing_ids(ns, ["evil"]) == set()
    rows = store.cypher(
        "MATCH (t:Turn) WHERE t.namespace = $namespace RETURN t ORDER BY t.turn_id",
        {"namespace": ns},
    )
    assert [r["t"]["turn_id"] for r in rows] == ["D1:1", "D1:2", "D2:1"]
    first = rows[0]["t"]
    assert first["_labels"] == ["Memory", "Turn"] and first["speaker"] == "Caroline"
    assert "embedding" not in first and "props_extra" not in first
    rels = store.cypher(
        "MATCH (:Turn {id: $id})-[r]->() RETURN r ORDER BY type(r)", {"id": nid(ns, "t1")}
    )
    assert [r["r"]["_type"] for r in rels] == ["IN_TOPIC", "MENTIONS", "NEXT_TURN", "SPOKEN_BY"]
    assert rels[0]["r"]["p"] == 0.9 and rels[1]["r"]["text"] == "support group"
    (path,) = store.cypher(
        "MATCH p = (:Turn {id: $id})-[:NEXT_TURN]->() RETURN p", {"id": nid(ns, "t1")}
    )
    hop = path["p"]["relationships"][0]
    assert (hop["_src"], hop["_type"], hop["_dst"]) == (nid(ns, "t1"), "NEXT_TURN", nid(ns, "t2"))
    assert [n["turn_id"] for n in path["p"]["nodes"]] == ["D1:1", "D1:2"]
    with pytest.raises(QueryError, match="Cypher error"):
        store.cypher("MATCH (n RETURN n")


@pytest.mark.neo4j
def test_cli_cypher_is_read_only(graph: tuple[Any, str, str], neo4j_config: Neo4jConfig) -> None:
    from kg_memory.cli import app

    _, ns, _ = graph
    runner = CliRunner()
    base = ["--neo4j", neo4j_config.uri, "--namespace", ns]
    refused = runner.invoke(app, ["cypher", "CREATE (n) RETURN n", *base])
    assert refused.exit_code == 2
    assert "read-only: the plan has a Create operator" in refused.output
    ok = runner.invoke(
        app,
        [
            "cypher",
            "MATCH (t:Turn) WHERE t.namespace = $namespace RETURN count(t) AS turns",
            *base,
            "--json",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout) == [{"turns": 3}]
    named = runner.invoke(
        app, ["queries", "run", "top_entities", "--param", "k=2", *base, "--json"]
    )
    assert named.exit_code == 0, named.output
    assert [r["entity"] for r in json.loads(named.stdout)] == ["Caroline", "support group"]
    injected = runner.invoke(
        app,
        [
            "queries",
            "run",
            "entity_timeline",
            "--param",
            "name=x') DETACH DELETE n //",
            *base,
            "--json",
        ],
    )
    assert injected.exit_code == 0, injected.output
    assert json.loads(injected.stdout) == []
