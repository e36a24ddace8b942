"""The store contract (:class:`kg_memory.store.base.Store`), run on every backend.

Every test writes only into its own fresh namespace(s) (the ``ns`` / ``ns2``
fixtures, derived from ``namespace``) and deletes them afterwards, so the
tests can share one Neo4j server. Nothing here counts across namespaces.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from kg_memory.bm25 import bm25_rank
from kg_memory.config import StoreConfig
from kg_memory.embed import HashEmbedder
from kg_memory.errors import ConfigError, QueryError, StoreError
from kg_memory.model import Edge, Node
from kg_memory.store import backend_class
from kg_memory.store.base import Search, Store, rank_by_cosine
from kg_memory.text import query_terms, tokenize

EMB = HashEmbedder(dim=384)


@dataclass(frozen=True)
class OtherConfig(StoreConfig):
    """A configuration no registered backend takes."""

    backend: ClassVar[str] = "other"


@pytest.fixture
def st(store: Store, namespace: str) -> Iterator[Store]:
    """The backend under test; the test's namespaces are deleted afterwards."""
    yield store
    for ns in (namespace, namespace + "-b"):
        store.delete_namespace(ns)


@pytest.fixture
def ns(namespace: str) -> str:
    return namespace


@pytest.fixture
def ns2(namespace: str) -> str:
    return namespace + "-b"


def nid(ns: str, name: str) -> str:
    """Ids include the namespace, as kg-memory's content-derived ids do."""
    return f"{ns}:{name}"


def node(
    ns: str,
    name: str,
    label: str = "Turn",
    text: str | None = None,
    conversation: str | None = "c1",
    embed: bool = False,
    **props: object,
) -> Node:
    emb = EMB.embed([text or name])[0] if embed else None
    return Node(nid(ns, name), label, ns, conversation, text, dict(props), emb)


def edge(ns: str, src: str, typ: str, dst: str, **props: object) -> Edge:
    return Edge(nid(ns, src), typ, nid(ns, dst), ns, dict(props))


def small_graph(ns: str) -> tuple[list[Node], list[Edge]]:
    """Conversation c1: c1 -> s1 -> t1..t3 (NEXT_TURN chain), turns mention entities."""
    nodes = [
        node(ns, "c1", "Conversation", conversation="c1"),
        node(ns, "s1", "Session", conversation="c1", date="2023-05-07"),
        node(ns, "t1", text="Caroline went to the LGBTQ support group", embed=True, i=1),
        node(ns, "t2", text="Melanie painted a sunrise over the lake", embed=True, i=2),
        node(ns, "t3", text="Caroline wants to adopt children", embed=True, i=3),
        node(ns, "caroline", "Entity", "Caroline", conversation=None, kind="PERSON"),
        node(ns, "melanie", "Entity", "Melanie", conversation=None, kind="PERSON"),
    ]
    edges = [
        edge(ns, "c1", "HAS_SESSION", "s1"),
        edge(ns, "s1", "HAS_TURN", "t1"),
        edge(ns, "s1", "HAS_TURN", "t2"),
        edge(ns, "s1", "HAS_TURN", "t3"),
        edge(ns, "t1", "NEXT_TURN", "t2"),
        edge(ns, "t2", "NEXT_TURN", "t3"),
        edge(ns, "t1", "MENTIONS", "caroline", weight=1.0),
        edge(ns, "t3", "MENTIONS", "caroline"),
        edge(ns, "t2", "MENTIONS", "melanie"),
    ]
    return nodes, edges


def write(st: Store, nodes: list[Node], edges: list[Edge] | None = None) -> None:
    st.upsert_nodes(nodes)
    if edges:
        st.upsert_edges(edges)


# -- registration and capabilities ---------------------------------------------------


def test_registered_and_opened_by_its_config(st: Store) -> None:
    assert backend_class(st.name) is type(st)
    assert st.config_class.backend == st.name
    with pytest.raises(ConfigError, match=f"the {st.name} store is opened with"):
        type(st)(OtherConfig())


def test_cypher_exactly_where_supported(st: Store, ns: str) -> None:
    write(st, [node(ns, "t1", text="hello")])
    if st.supports_cypher:
        query = "MATCH (n:Memory) WHERE n.namespace = $ns RETURN count(n) AS c"
        assert st.cypher(query, {"ns": ns}) == [{"c": 1}]
    else:
        with pytest.raises(QueryError, match="no Cypher engine"):
            st.cypher("MATCH (n) RETURN count(n) AS c")


# -- writes -----------------------------------------------------------------------


def test_upsert_is_idempotent(st: Store, ns: str) -> None:
    nodes, edges = small_graph(ns)
    write(st, nodes, edges)
    first = st.counts(ns).as_dict()
    write(st, nodes, edges)
    assert st.counts(ns).as_dict() == first
    assert first["total_nodes"] == 7
    assert first["total_edges"] == 9
    assert st.get_nodes(ns, [n.id for n in nodes]) == nodes


def test_upsert_replaces_node_whole(st: Store, ns: str) -> None:
    st.upsert_nodes([node(ns, "t1", text="old words here", embed=True, a=1, b=[1, 2])])
    v_old = EMB.embed(["old words here"])[0]
    st.upsert_nodes([node(ns, "t1", "Note", text="fresh text", conversation="c2", a=3)])
    (got,) = st.get_nodes(ns, [nid(ns, "t1")], with_embeddings=True)
    assert (got.label, got.text, got.conversation, dict(got.props)) == (
        "Note",
        "fresh text",
        "c2",
        {"a": 3},
    )
    # embedding=None keeps the stored vector; it now answers under the new label/conversation
    assert got.embedding is not None and got.embedding.dtype == np.float32
    assert np.allclose(got.embedding, v_old)
    assert st.vector_search(ns, "Note", v_old, 1, conversation="c2")[0].id == got.id
    assert st.vector_search(ns, "Turn", v_old, 1) == []
    # the keyword index follows the new text
    assert st.keyword_search(ns, "Note", "old words", 5) == []
    assert [h.id for h in st.keyword_search(ns, "Note", "fresh", 5)] == [got.id]
    assert st.keyword_search(ns, "Turn", "fresh", 5) == []
    # a given embedding replaces the stored one
    v_new = EMB.embed(["something else entirely"])[0]
    st.upsert_nodes([Node(got.id, "Note", ns, "c2", "fresh text", {"a": 3}, v_new)])
    (got,) = st.get_nodes(ns, [got.id], with_embeddings=True)
    assert got.embedding is not None and np.allclose(got.embedding, v_new)
    # text set to None leaves the keyword index
    st.upsert_nodes([Node(got.id, "Note", ns, "c2", None, {})])
    assert st.keyword_search(ns, "Note", "fresh", 5) == []
    assert st.text_stats(ns, "Note") == (0, 0.0)


def test_edges_need_existing_ends(st: Store, ns: str, ns2: str) -> None:
    write(st, [node(ns, "a"), node(ns, "b"), node(ns2, "x")])
    with pytest.raises(StoreError, match="missing-node"):
        st.upsert_edges(
            [edge(ns, "a", "NEXT_TURN", "b"), edge(ns, "a", "NEXT_TURN", "missing-node")]
        )
    # the failed batch wrote nothing
    assert st.neighbours(ns, [nid(ns, "a")]) == []
    # an end in another namespace does not count
    with pytest.raises(StoreError):
        st.upsert_edges([Edge(nid(ns, "a"), "NEXT_TURN", nid(ns2, "x"), ns)])
    assert st.counts(ns).total_edges == 0


def test_edge_props_replaced(st: Store, ns: str) -> None:
    write(st, [node(ns, "a"), node(ns, "b")], [edge(ns, "a", "NEXT_TURN", "b", w=1, x="y")])
    st.upsert_edges([edge(ns, "a", "NEXT_TURN", "b", w=2)])
    (e,) = st.neighbours(ns, [nid(ns, "a")])
    assert (e.key, dict(e.props), e.namespace) == (
        (nid(ns, "a"), "NEXT_TURN", nid(ns, "b")),
        {"w": 2},
        ns,
    )
    assert st.counts(ns).edges == {"NEXT_TURN": 1}


AWKWARD_PROPS: dict[str, object] = {
    "none": None,
    "empty": [],
    "mixed": [1, "a", None],
    "nested": {"a": [1, 2], "b": {"c": "d"}},
    "big": 2**70,
    "floats": [0.5, 1e-300],
    "ints": [1, 2, 3],
    "flag": False,
    "text": "a prop named like a reserved field",
    "namespace": "not the real namespace",
    "unicode": "Zoë — 東京",
}


def test_props_round_trip_exactly(st: Store, ns: str) -> None:
    """Every JSON-able prop comes back equal, whatever a backend can store natively."""
    n = Node(nid(ns, "p"), "Note", ns, "c1", "words", AWKWARD_PROPS)
    write(st, [n, node(ns, "q")], [Edge(n.id, "LINKS_TO", nid(ns, "q"), ns, AWKWARD_PROPS)])
    (got,) = st.get_nodes(ns, [n.id])
    assert dict(got.props) == AWKWARD_PROPS
    assert (got.namespace, got.text) == (ns, "words")
    (e,) = st.neighbours(ns, [n.id], edge_types=["LINKS_TO"])
    assert dict(e.props) == AWKWARD_PROPS and e.namespace == ns
    # not JSON-able: refused, nothing written
    with pytest.raises(StoreError):
        st.upsert_nodes([Node(nid(ns, "bad"), "Note", ns, "c1", None, {"x": {1, 2}})])
    assert st.get_nodes(ns, [nid(ns, "bad")]) == []


def test_edges_of_new_nodes_written_twice_in_one_transaction(st: Store, ns: str) -> None:
    """New ends, the same edge twice in one transaction, then a delete and a rewrite."""
    with st.transaction():
        write(st, [node(ns, "a"), node(ns, "b")], [edge(ns, "a", "NEXT_TURN", "b", w=1)])
        st.upsert_edges([edge(ns, "a", "NEXT_TURN", "b", w=2), edge(ns, "b", "NEXT_TURN", "a")])
        st.upsert_nodes([node(ns, "a", text="again")])  # an update, not a second node
    c = st.counts(ns)
    assert (c.nodes, c.edges) == ({"Turn": 2}, {"NEXT_TURN": 2})
    (e,) = st.neighbours(ns, [nid(ns, "a")], direction="out")
    assert dict(e.props) == {"w": 2}
    with st.transaction():
        st.delete_conversation(ns, "c1")
        write(st, [node(ns, "a"), node(ns, "b")], [edge(ns, "a", "NEXT_TURN", "b", w=3)])
        st.upsert_edges([edge(ns, "a", "NEXT_TURN", "b", w=4)])
    (e,) = st.neighbours(ns, [nid(ns, "a")])
    assert dict(e.props) == {"w": 4}
    c = st.counts(ns)
    assert (c.nodes, c.edges) == ({"Turn": 2}, {"NEXT_TURN": 1})


def test_unknown_label_and_edge_type_rejected(st: Store, ns: str) -> None:
    with pytest.raises(QueryError):
        st.upsert_nodes([Node(nid(ns, "a"), "Turn) DETACH DELETE (n", ns)])
    with pytest.raises(QueryError):
        st.find_nodes(ns, "NoSuchLabel")
    write(st, [node(ns, "a"), node(ns, "b")])
    with pytest.raises(QueryError):
        st.upsert_edges([edge(ns, "a", "NOT_A_TYPE", "b")])
    with pytest.raises(QueryError):
        st.neighbours(ns, [nid(ns, "a")], edge_types=["NOT_A_TYPE"])
    assert st.counts(ns).total_nodes == 2


# -- transactions -----------------------------------------------------------------


def test_transaction_rollback_leaves_nothing(st: Store, ns: str) -> None:
    nodes, edges = small_graph(ns)
    with pytest.raises(RuntimeError, match="boom"), st.transaction():
        st.upsert_nodes(nodes)
        st.upsert_edges(edges)
        assert st.counts(ns).total_nodes == 7  # visible inside the transaction
        raise RuntimeError("boom")
    assert st.counts(ns).as_dict()["total_nodes"] == 0
    assert st.counts(ns).total_edges == 0
    assert st.get_nodes(ns, [n.id for n in nodes]) == []
    assert st.keyword_search(ns, "Turn", "caroline", 5) == []
    assert st.vector_search(ns, "Turn", EMB.embed(["caroline"])[0], 5) == []
    assert ns not in st.namespaces()


def test_transaction_commits_and_nested_calls_join(st: Store, ns: str) -> None:
    nodes, edges = small_graph(ns)
    with st.transaction():
        st.upsert_nodes(nodes)
        with st.transaction():
            st.upsert_edges(edges)
    assert st.counts(ns).total_edges == 9
    # an exception in a nested block rolls back the whole outer transaction
    with pytest.raises(ValueError), st.transaction():
        st.upsert_nodes([node(ns, "t9", text="later")])
        with st.transaction():
            st.delete_conversation(ns, "c1")
            raise ValueError("inner")
    assert st.counts(ns).total_nodes == 7
    assert st.existing_ids(ns, [nid(ns, "t9"), nid(ns, "t1")]) == {nid(ns, "t1")}


# -- reads ------------------------------------------------------------------------


def test_get_nodes_keeps_order_and_skips_missing(st: Store, ns: str, ns2: str) -> None:
    write(st, [node(ns, n) for n in ("a", "b", "c")] + [node(ns2, "d")])
    ids = [nid(ns, "c"), nid(ns, "zz"), nid(ns, "a"), nid(ns2, "d"), nid(ns, "b")]
    assert [n.id for n in st.get_nodes(ns, ids)] == [nid(ns, "c"), nid(ns, "a"), nid(ns, "b")]
    assert st.get_nodes(ns, []) == []
    (a,) = st.get_nodes(ns, [nid(ns, "a")])
    assert a.embedding is None


def test_find_nodes_ordered_by_id(st: Store, ns: str) -> None:
    names = ["t5", "t1", "t3", "t2", "t4"]
    write(
        st,
        [node(ns, n, conversation="c2" if n in ("t2", "t4") else "c1", embed=True) for n in names]
        + [node(ns, "e1", "Entity", conversation=None)],
    )
    assert [n.id for n in st.find_nodes(ns, "Turn")] == [nid(ns, f"t{i}") for i in range(1, 6)]
    assert [n.id for n in st.find_nodes(ns, "Turn", limit=2)] == [nid(ns, "t1"), nid(ns, "t2")]
    assert [n.id for n in st.find_nodes(ns, "Turn", conversation="c2")] == [
        nid(ns, "t2"),
        nid(ns, "t4"),
    ]
    assert [n.id for n in st.find_nodes(ns, "Entity")] == [nid(ns, "e1")]
    assert st.find_nodes(ns, "Fact") == []
    got = st.find_nodes(ns, "Turn", with_embeddings=True, limit=1)[0]
    assert got.embedding is not None
    assert np.allclose(got.embedding, EMB.embed(["t1"])[0])


def test_neighbours_direction_and_types(st: Store, ns: str) -> None:
    nodes, edges = small_graph(ns)
    write(st, nodes, edges)
    t2 = nid(ns, "t2")
    keys = lambda es: [e.key for e in es]  # noqa: E731
    both = st.neighbours(ns, [t2])
    assert keys(both) == sorted(keys(both))
    assert keys(both) == sorted(
        [
            (nid(ns, "s1"), "HAS_TURN", t2),
            (nid(ns, "t1"), "NEXT_TURN", t2),
            (t2, "NEXT_TURN", nid(ns, "t3")),
            (t2, "MENTIONS", nid(ns, "melanie")),
        ]
    )
    assert keys(st.neighbours(ns, [t2], direction="out")) == sorted(
        [(t2, "NEXT_TURN", nid(ns, "t3")), (t2, "MENTIONS", nid(ns, "melanie"))]
    )
    assert keys(st.neighbours(ns, [t2], direction="in", edge_types=["NEXT_TURN"])) == [
        (nid(ns, "t1"), "NEXT_TURN", t2)
    ]
    # several ids: an edge between two of them is returned once
    many = st.neighbours(ns, [nid(ns, "t1"), t2], edge_types=["NEXT_TURN"])
    assert keys(many) == [(nid(ns, "t1"), "NEXT_TURN", t2), (t2, "NEXT_TURN", nid(ns, "t3"))]
    (m,) = st.neighbours(ns, [nid(ns, "t1")], edge_types=["MENTIONS"])
    assert dict(m.props) == {"weight": 1.0} and m.namespace == ns
    assert st.neighbours(ns, []) == []
    assert st.neighbours(ns, [nid(ns, "nope")]) == []


def test_expand_hop_distances(st: Store, ns: str) -> None:
    nodes, edges = small_graph(ns)
    write(st, nodes, edges)
    n = lambda s: nid(ns, s)  # noqa: E731
    assert st.expand(ns, [n("t1")], 1, edge_types=["NEXT_TURN"]) == {n("t1"): 0, n("t2"): 1}
    assert st.expand(ns, [n("t1")], 2, edge_types=["NEXT_TURN"], direction="out") == {
        n("t1"): 0,
        n("t2"): 1,
        n("t3"): 2,
    }
    assert st.expand(ns, [n("t3")], 5, edge_types=["NEXT_TURN"], direction="out") == {n("t3"): 0}
    two = st.expand(ns, [n("caroline")], 2)
    assert two == {
        n("caroline"): 0,
        n("t1"): 1,
        n("t3"): 1,
        n("s1"): 2,
        n("t2"): 2,
    }
    assert len(st.expand(ns, [n("caroline")], 3, max_nodes=3)) == 3


def test_vector_search_is_exact_and_scoped(st: Store, ns: str) -> None:
    texts = [f"topic {w} number {i}" for i, w in enumerate(["apple", "pear", "plum"] * 12)]
    nodes = [
        node(ns, f"t{i:02d}", text=t, conversation=f"c{i % 3}", embed=True)
        for i, t in enumerate(texts)
    ]
    nodes.append(node(ns, "e1", "Entity", text="apple", conversation=None, embed=True))
    write(st, nodes)
    q = EMB.embed(["apple number 7"])[0]
    turns = [n for n in nodes if n.label == "Turn"]
    matrix = np.stack([n.embedding for n in turns if n.embedding is not None])
    expected = rank_by_cosine(q, [n.id for n in turns], matrix, 5)
    got = st.vector_search(ns, "Turn", q, 5)
    assert [h.id for h in got] == [h.id for h in expected]
    assert np.allclose([h.score for h in got], [h.score for h in expected], atol=1e-5)
    assert len(st.vector_search(ns, "Turn", q, 100)) == len(turns)
    c1 = st.vector_search(ns, "Turn", q, 100, conversation="c1")
    assert {h.id for h in c1} == {n.id for n in turns if n.conversation == "c1"}
    assert [h.id for h in st.vector_search(ns, "Entity", q, 5)] == [nid(ns, "e1")]
    assert st.vector_search(ns, "Turn", q, 0) == []
    # an update is seen by the next search
    st.upsert_nodes([Node(nid(ns, "t05"), "Turn", ns, "c2", texts[5], {}, q)])
    assert st.vector_search(ns, "Turn", q, 1)[0].id == nid(ns, "t05")


@pytest.mark.parametrize("conversation", [None, "c1"])
def test_search_many_equals_single_searches(
    st: Store, ns: str, ns2: str, conversation: str | None
) -> None:
    texts = [f"topic {w} number {i}" for i, w in enumerate(["apple", "pear", "plum"] * 6)]
    nodes = [
        node(ns, f"t{i:02d}", text=t, conversation=f"c{i % 3}", embed=True)
        for i, t in enumerate(texts)
    ]
    nodes += [node(ns, "n1", "Note", text="apple pie notes", conversation="c1")]
    nodes += [node(ns2, "x", text="apple number 7", conversation="c1", embed=True)]
    write(st, nodes)
    q = EMB.embed(["apple number 7"])[0]
    searches = [
        Search("Turn", 5, query="apple number 7"),
        Search("Turn", 4, vector=q),
        Search("Note", 3, query="apple"),
        Search("Note", 3, query="nothing matches this"),
        Search("Event", 2, vector=q),  # no Event vectors at all
        Search("Turn", 0, query="apple"),
        Search("Turn", 3, query="the of and"),  # stop words only: no terms
        Search("Note", 2, query="apple number 7"),  # the terms of the first search
    ]
    single = [
        st.keyword_search(ns, s.label, s.query, s.k, conversation=conversation)
        if s.query is not None
        else st.vector_search(ns, s.label, q, s.k, conversation=conversation)
        for s in searches
    ]
    with st.reading():
        batched = st.search_many(ns, searches, conversation=conversation)
        again = st.search_many(ns, searches, conversation=conversation)
    assert batched == single == again
    assert batched[0] and batched[1] and batched[2] and batched[7]
    assert batched[3] == batched[4] == batched[5] == batched[6] == []
    assert all(h.id.startswith(ns + ":") for hits in batched for h in hits)
    with pytest.raises(QueryError):
        Search("Turn", 3)


def test_reading_sees_committed_writes_and_nests(st: Store, ns: str) -> None:
    with st.reading(), st.reading():
        assert st.get_nodes(ns, [nid(ns, "t1")]) == []
    write(st, *small_graph(ns))
    with st.reading():
        assert [n.id for n in st.get_nodes(ns, [nid(ns, "t1")])] == [nid(ns, "t1")]
        assert st.keyword_search(ns, "Turn", "caroline", 5)


def test_keyword_search_ranks_by_bm25(st: Store, ns: str) -> None:
    docs = {
        "t1": "Caroline went to the LGBTQ support group yesterday",
        "t2": "Melanie painted a sunrise; Melanie loves painting",
        "t3": "Caroline's support group was very powerful, said Caroline",
        "t4": "The weather was nice",
        "t5": "Support for adoption agencies",
    }
    write(st, [node(ns, k, text=v) for k, v in docs.items()])
    write(st, [node(ns, "n1", "Note", text="Caroline support group note", conversation=None)])
    query = "What did Caroline say about the support group?"
    terms = query_terms(query)
    lens = [len(tokenize(v)) for v in docs.values()]
    expected = bm25_rank(
        terms, [(nid(ns, k), v) for k, v in docs.items()], len(docs), sum(lens) / len(lens), 10
    )
    got = st.keyword_search(ns, "Turn", query, 10)
    assert [h.id for h in got] == [h.id for h in expected]
    assert [h.id for h in got][:1] == [nid(ns, "t3")]
    # the same float on every store: the mean is an exact integer sum over the count
    assert [h.score for h in got] == [h.score for h in expected]
    assert st.text_stats(ns, "Turn") == (5, sum(lens) / len(lens))
    assert [h.id for h in st.keyword_search(ns, "Turn", query, 2)] == [h.id for h in expected[:2]]
    all_cands = st.keyword_candidates(ns, "Turn", terms)
    assert sorted(c[0] for c in all_cands) == sorted(h.id for h in expected)
    cut = st.keyword_candidates(ns, "Turn", terms, limit=2)
    assert len(cut) == 2 and set(cut) <= set(all_cands)
    cands = st.keyword_candidates(ns, "Turn", ["melanie"])
    assert cands == [(nid(ns, "t2"), docs["t2"])]
    assert st.keyword_search(ns, "Turn", "the and of", 5) == []  # stop words only
    assert st.keyword_search(ns, "Turn", "xylophone", 5) == []
    # case and punctuation are normalised by kg-memory's tokenizer
    assert st.keyword_search(ns, "Turn", "CAROLINE'S", 5)[0].id == nid(ns, "t3")


def test_keyword_search_scoped_by_conversation(st: Store, ns: str) -> None:
    write(
        st,
        [
            node(ns, "a1", text="hiking in the mountains", conversation="ca"),
            node(ns, "a2", text="mountains and lakes", conversation="ca"),
            node(ns, "b1", text="mountains far away mountains", conversation="cb"),
            node(ns, "b2", text="city life", conversation="cb"),
            node(ns, "b3", text="city lights", conversation="cb"),
        ],
    )
    assert {h.id for h in st.keyword_search(ns, "Turn", "mountains", 10, conversation="ca")} == {
        nid(ns, "a1"),
        nid(ns, "a2"),
    }
    assert st.text_stats(ns, "Turn", conversation="cb") == (3, 8 / 3)
    assert st.keyword_candidates(ns, "Turn", ["mountains"], conversation="cb") == [
        (nid(ns, "b1"), "mountains far away mountains")
    ]
    assert st.keyword_search(ns, "Turn", "mountains", 10, conversation="nope") == []


def test_text_stats_mean_is_exact(st: Store, ns: str) -> None:
    # token counts 1, 1, 3: a running average (Neo4j's avg()) gives 1.6666666666666665,
    # and a last-bit difference in avgdl reorders BM25 ties between the stores
    texts = {"u1": "mountains", "u2": "lakes", "u3": "mountains lakes rivers"}
    write(st, [node(ns, k, text=v, conversation="cm") for k, v in texts.items()])
    assert [len(tokenize(v)) for v in texts.values()] == [1, 1, 3]
    assert st.text_stats(ns, "Turn", conversation="cm") == (3, 5 / 3)


@pytest.mark.parametrize(
    "query",
    [
        '"); DROP TABLE nodes; --',
        "a OR b NOT c*",
        "NEAR(",
        'he said "hello',
        "'",
        '"',
        "col:value ^start {x y} (a AND",
        "*",
        "",
        "   ",
        "\x00null",
        "MATCH (n) DETACH DELETE n //",
        "hello \\ world",
    ],
)
def test_injection_looking_queries_are_plain_text(st: Store, ns: str, query: str) -> None:
    write(st, [node(ns, "t1", text="hello world, said the table of nodes; drop it")])
    hits = st.keyword_search(ns, "Turn", query, 5)
    assert isinstance(hits, list)
    assert all(h.id == nid(ns, "t1") for h in hits)
    assert isinstance(st.keyword_candidates(ns, "Turn", [query]), list)
    assert st.counts(ns).total_nodes == 1


def test_counts_per_namespace(st: Store, ns: str, ns2: str) -> None:
    nodes, edges = small_graph(ns)
    write(st, nodes, edges)
    write(st, [node(ns2, "x", "Fact")])
    c = st.counts(ns)
    assert c.nodes == {"Conversation": 1, "Session": 1, "Turn": 3, "Entity": 2}
    assert c.edges == {"HAS_SESSION": 1, "HAS_TURN": 3, "NEXT_TURN": 2, "MENTIONS": 3}
    assert st.counts(ns2).as_dict() == {
        "nodes": {"Fact": 1},
        "edges": {},
        "total_nodes": 1,
        "total_edges": 0,
    }
    assert st.conversations(ns) == ["c1"]
    listed = st.namespaces()
    assert {ns, ns2} <= set(listed)
    assert listed == sorted(listed)


def test_namespaces_never_see_each_other(st: Store, ns: str, ns2: str) -> None:
    for n in (ns, ns2):
        nodes, edges = small_graph(n)
        write(st, nodes, edges)
    write(st, [node(ns2, "t9", text="Caroline only in b", conversation="c9", embed=True)])
    ids1 = [nid(ns, s) for s in ("t1", "t2", "t3", "caroline", "s1")]
    ids2 = [nid(ns2, s) for s in ("t1", "t2", "t3", "caroline", "s1", "t9")]
    # reads in ns never return ns2's data, even when asked for its ids
    assert st.get_nodes(ns, ids2) == []
    assert st.existing_ids(ns, ids2) == set()
    assert st.neighbours(ns, ids2) == []
    assert set(st.expand(ns, ids2[:1], 3)) == {ids2[0]}
    assert all(n.namespace == ns for n in st.find_nodes(ns, "Turn"))
    assert all(e.namespace == ns for e in st.neighbours(ns, ids1))
    q = EMB.embed(["Caroline only in b"])[0]
    assert {h.id for h in st.vector_search(ns, "Turn", q, 50)} == {
        nid(ns, s) for s in ("t1", "t2", "t3")
    }
    assert {h.id for h in st.keyword_search(ns, "Turn", "caroline", 50)} == {
        nid(ns, "t1"),
        nid(ns, "t3"),
    }
    assert {c[0] for c in st.keyword_candidates(ns, "Turn", ["caroline"])} == {
        nid(ns, "t1"),
        nid(ns, "t3"),
    }
    assert st.text_stats(ns, "Turn")[0] == 3
    assert st.conversations(ns) == ["c1"]
    assert st.conversations(ns2) == ["c1", "c9"]
    assert st.counts(ns).total_nodes == 7
    assert st.counts(ns2).total_nodes == 8
    # deleting in one namespace leaves the other alone
    assert st.delete_conversation(ns, "c9") == 0
    assert st.counts(ns2).total_nodes == 8


def test_delete_conversation_removes_it_and_its_orphans(st: Store, ns: str) -> None:
    nodes, edges = small_graph(ns)
    write(st, nodes, edges)
    write(
        st,
        [
            node(ns, "c2", "Conversation", conversation="c2"),
            node(ns, "u1", text="Caroline again", conversation="c2", embed=True),
            node(ns, "lonely", "Note", text="never linked to anything", conversation=None),
        ],
        [edge(ns, "c2", "HAS_SESSION", "u1"), edge(ns, "u1", "MENTIONS", "caroline")],
    )
    # c1: 5 nodes; melanie is left without edges; caroline is still linked from c2;
    # "lonely" never had an edge, so deleting c1 does not touch it.
    assert st.delete_conversation(ns, "c1") == 6
    left = st.existing_ids(ns, [nid(ns, s) for s in ("t1", "caroline", "melanie", "lonely", "u1")])
    assert left == {nid(ns, "caroline"), nid(ns, "lonely"), nid(ns, "u1")}
    assert st.conversations(ns) == ["c2"]
    assert st.counts(ns).edges == {"HAS_SESSION": 1, "MENTIONS": 1}
    assert [h.id for h in st.keyword_search(ns, "Turn", "caroline", 10)] == [nid(ns, "u1")]
    q = EMB.embed(["Caroline went to the LGBTQ support group"])[0]
    assert [h.id for h in st.vector_search(ns, "Turn", q, 10)] == [nid(ns, "u1")]
    assert st.text_stats(ns, "Turn") == (1, 2.0)
    assert st.delete_conversation(ns, "c1") == 0


def test_delete_nodes_and_edges(st: Store, ns: str, ns2: str) -> None:
    nodes, edges = small_graph(ns)
    write(st, nodes, edges)
    write(st, [node(ns2, "t1", text="other namespace")])
    key = (nid(ns, "t1"), "NEXT_TURN", nid(ns, "t2"))
    assert st.delete_edges(ns2, [key]) == 0
    assert st.delete_edges(ns, [key, key]) == 1
    assert st.counts(ns).edges["NEXT_TURN"] == 1
    assert st.delete_nodes(ns, [nid(ns, "t3"), nid(ns, "nobody")]) == 1
    assert st.existing_ids(ns, [nid(ns, "t3")]) == set()
    assert st.counts(ns).edges == {"HAS_SESSION": 1, "HAS_TURN": 2, "MENTIONS": 2}
    assert st.delete_nodes(ns2, [nid(ns, "t1")]) == 0
    assert st.existing_ids(ns2, [nid(ns2, "t1")]) == {nid(ns2, "t1")}
    assert [h.id for h in st.keyword_search(ns, "Turn", "caroline", 10)] == [nid(ns, "t1")]


def test_delete_conversation_keeps_shared_entities_true(st: Store, ns: str) -> None:
    """A shared entity keeps the turns and conversations still mentioning it; one only
    the deleted conversation mentioned goes, with its RELATED_TO edge."""

    def turn(name: str, conv: str, tid: str) -> Node:
        return node(ns, name, text=name, conversation=conv, turn_id=tid)

    def entity(name: str, convs: list[str], tids: list[str]) -> Node:
        props = {"name": name, "aliases": [], "turn_ids": tids, "conversations": convs}
        return Node(nid(ns, name), "Entity", ns, None, name, props)

    write(
        st,
        [
            node(ns, "c1", "Conversation", conversation="c1"),
            node(ns, "c2", "Conversation", conversation="c2"),
            turn("a", "c1", "D1:1"),
            turn("b", "c2", "D1:2"),
            entity("Lisbon", ["c1", "c2"], ["D1:1", "D1:2"]),
            entity("Sintra", ["c1"], ["D1:1"]),
        ],
        [
            edge(ns, "c1", "HAS_SESSION", "a"),
            edge(ns, "c2", "HAS_SESSION", "b"),
            edge(ns, "a", "MENTIONS", "Lisbon", text="Lisbon"),
            edge(ns, "b", "MENTIONS", "Lisbon", text="Lisbon"),
            edge(ns, "a", "MENTIONS", "Sintra", text="Sintra"),
            edge(ns, "Sintra", "RELATED_TO", "Lisbon", predicates=["near"]),
        ],
    )
    assert st.delete_conversation(ns, "c1") == 3
    [lisbon] = st.get_nodes(ns, [nid(ns, "Lisbon")])
    assert (lisbon.props["turn_ids"], lisbon.props["conversations"]) == (["D1:2"], ["c2"])
    assert st.existing_ids(ns, [nid(ns, "Sintra")]) == set()
    assert st.counts(ns).edges == {"HAS_SESSION": 1, "MENTIONS": 1}


def test_delete_namespace(st: Store, ns: str, ns2: str) -> None:
    nodes, edges = small_graph(ns)
    write(st, nodes, edges)
    write(st, [node(ns2, "keep", text="Caroline stays", embed=True)])
    assert st.delete_namespace(ns) == 7
    assert st.counts(ns).as_dict()["total_nodes"] == 0
    assert st.counts(ns).total_edges == 0
    assert ns not in st.namespaces() and ns2 in st.namespaces()
    assert st.conversations(ns) == []
    assert st.keyword_search(ns, "Turn", "caroline", 5) == []
    assert st.vector_search(ns, "Turn", EMB.embed(["caroline"])[0], 5) == []
    assert [h.id for h in st.keyword_search(ns2, "Turn", "caroline", 5)] == [nid(ns2, "keep")]
    assert st.delete_namespace(ns) == 0
    # the namespace can be written again
    write(st, nodes, edges)
    assert st.counts(ns).total_edges == 9


# Dates: Neo4j stores canonical ISO dates and date-times natively (DATE, LOCAL DATETIME,
# ZONED DATETIME); every store reads back exactly the strings written.
DATE_PROPS = {
    "date_time": "2023-05-08T13:56:00",
    "date": "2023-05-08",
    "begin": "2023-05-08T13:56:00.250000+02:00",
    "end": "2023-05",  # not a full ISO date: kept as a string
}


def test_dates_read_back_unchanged(st: Store, ns: str) -> None:
    odd = {"date_time": "2023-05-08T13:56", "date": "8 May 2023", "begin": "", "end": "20230508"}
    st.upsert_nodes(
        [
            node(ns, "s1", "Session", **DATE_PROPS),
            node(ns, "s2", "Session", **odd),
            node(ns, "e1", "Event", text="moved", begin="2022-01-31", end="2022-02-01"),
        ]
    )
    st.upsert_edges([edge(ns, "e1", "NEXT", "s1", date="2023-05-09")])
    got = {n.id: n.props for n in st.get_nodes(ns, [nid(ns, i) for i in ("s1", "s2", "e1")])}
    assert got[nid(ns, "s1")] == DATE_PROPS
    assert got[nid(ns, "s2")] == odd
    assert got[nid(ns, "e1")] == {"begin": "2022-01-31", "end": "2022-02-01"}
    assert all(type(v) is str for props in got.values() for v in props.values())
    (found,) = [n for n in st.find_nodes(ns, "Session") if n.id == nid(ns, "s1")]
    assert found.props == DATE_PROPS
    edges = st.neighbours(ns, [nid(ns, "e1")], edge_types=["NEXT"])
    assert [e.props for e in edges] == [{"date": "2023-05-09"}]
