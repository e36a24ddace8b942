"""Embedded-store specifics: durability, migrations, crash safety, open errors."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from kg_memory.config import EmbeddedConfig
from kg_memory.embed import HashEmbedder
from kg_memory.errors import StoreError, StoreUnavailableError
from kg_memory.model import Edge, Node
from kg_memory.store import backend_class
from kg_memory.store.base import rank_by_cosine
from kg_memory.store.embedded import EmbeddedStore
from kg_memory.store.embedded.connection import DB_FILE
from kg_memory.store.embedded.schema import SCHEMA_VERSION, migrate
from kg_memory.text import tokenize

REPO = Path(__file__).resolve().parents[2]
NS = "ns"


def turns(n: int, start: int = 0, conversation: str = "c1") -> list[Node]:
    texts = [f"turn number {i} about topic {i % 7}" for i in range(start, start + n)]
    vecs = HashEmbedder(dim=32).embed(texts)
    return [
        Node(f"turn:{i}", "Turn", NS, conversation, t, {"i": i}, v)
        for i, t, v in zip(range(start, start + n), texts, vecs, strict=True)
    ]


def test_registration() -> None:
    assert EmbeddedStore.name == EmbeddedConfig.backend == "embedded"
    assert EmbeddedStore.config_class is EmbeddedConfig
    assert backend_class("embedded") is EmbeddedStore
    assert not EmbeddedStore.supports_cypher


def test_data_survives_reopen(tmp_path: Path) -> None:
    nodes = turns(20)
    with EmbeddedStore(EmbeddedConfig(tmp_path / "s")) as s:
        s.upsert_nodes(nodes)
        s.upsert_edges([Edge("turn:0", "NEXT_TURN", "turn:1", NS, {"w": 1})])
    with EmbeddedStore(EmbeddedConfig(tmp_path / "s")) as s:
        got = s.get_nodes(NS, [n.id for n in nodes], with_embeddings=True)
        assert got == nodes
        assert all(
            g.embedding is not None
            and n.embedding is not None
            and np.array_equal(g.embedding, n.embedding)
            for g, n in zip(got, nodes, strict=True)
        )
        assert s.neighbours(NS, ["turn:0"])[0].props == {"w": 1}
        assert s.keyword_search(NS, "Turn", "number 13", 1)[0].id == "turn:13"
        assert nodes[4].embedding is not None
        assert s.vector_search(NS, "Turn", nodes[4].embedding, 1)[0].id == "turn:4"


def test_migrations_are_idempotent(tmp_path: Path) -> None:
    EmbeddedStore(EmbeddedConfig(tmp_path / "s")).close()
    db = tmp_path / "s" / DB_FILE
    schema = sqlite3.connect(db).execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    with EmbeddedStore(EmbeddedConfig(tmp_path / "s")) as s:
        s.upsert_nodes(turns(3))
    conn = sqlite3.connect(db, isolation_level=None)
    assert migrate(conn) == SCHEMA_VERSION
    assert conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == schema
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
        str(SCHEMA_VERSION),
    )
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()
    with EmbeddedStore(EmbeddedConfig(tmp_path / "s")) as s:
        assert s.counts(NS).total_nodes == 3


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    EmbeddedStore(EmbeddedConfig(tmp_path / "s")).close()
    conn = sqlite3.connect(tmp_path / "s" / DB_FILE)
    conn.execute(
        "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
    )
    conn.commit()
    conn.close()
    with pytest.raises(StoreUnavailableError, match="newer"):
        EmbeddedStore(EmbeddedConfig(tmp_path / "s"))


def test_not_a_store(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / DB_FILE).write_bytes(os.urandom(4096))
    with pytest.raises(StoreUnavailableError, match=str(junk)):
        EmbeddedStore(EmbeddedConfig(junk))
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    conn = sqlite3.connect(foreign / DB_FILE)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(StoreUnavailableError, match="not a kg-memory store"):
        EmbeddedStore(EmbeddedConfig(foreign))
    a_file = tmp_path / "file"
    a_file.write_text("hello")
    with pytest.raises(StoreUnavailableError, match=str(a_file)):
        EmbeddedStore(EmbeddedConfig(a_file))
    with pytest.raises(StoreUnavailableError, match="cannot create"):
        EmbeddedStore(EmbeddedConfig(a_file / "sub"))
    assert a_file.read_text() == "hello"  # nothing was overwritten


def test_closed_store_raises(tmp_path: Path) -> None:
    s = EmbeddedStore(EmbeddedConfig(tmp_path / "s"))
    s.close()
    s.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        s.counts()


def test_counts_all_namespaces(tmp_path: Path) -> None:
    with EmbeddedStore(EmbeddedConfig(tmp_path / "s")) as s:
        s.upsert_nodes(turns(2))
        s.upsert_nodes([Node("x", "Fact", "other")])
        assert s.counts().nodes == {"Turn": 2, "Fact": 1}
        assert s.namespaces() == [NS, "other"]


def test_vector_cache_sees_other_connections(tmp_path: Path) -> None:
    nodes = turns(10)
    with (
        EmbeddedStore(EmbeddedConfig(tmp_path / "s")) as a,
        EmbeddedStore(EmbeddedConfig(tmp_path / "s")) as b,
    ):
        a.upsert_nodes(nodes)
        q = nodes[3].embedding
        assert q is not None
        assert a.vector_search(NS, "Turn", q, 1)[0].id == "turn:3"  # cached in a
        assert a.text_stats(NS, "Turn") == (10, 6.0)
        b.upsert_nodes([Node("turn:new", "Turn", NS, "c1", "x", {}, q * 2)])
        b.delete_conversation(NS, "nothing")
        assert {h.id for h in a.vector_search(NS, "Turn", q, 2)} == {"turn:3", "turn:new"}
        assert a.text_stats(NS, "Turn") == (11, 61 / 11)


def test_vector_search_large_scope_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    m = rng.standard_normal((3000, 16)).astype(np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    m[7] = m[9]  # a tie, broken by id
    nodes = [Node(f"n{i:04d}", "Turn", NS, "c", None, {}, m[i]) for i in range(len(m))]
    with EmbeddedStore(EmbeddedConfig(tmp_path / "s")) as s:
        s.upsert_nodes(nodes)
        for qi in (7, 100, 2999):
            q = m[qi] + 0.01 * rng.standard_normal(16)
            want = rank_by_cosine(q, [n.id for n in nodes], m, 10)
            got = s.vector_search(NS, "Turn", q, 10)
            assert [h.id for h in got] == [h.id for h in want]
            assert np.allclose([h.score for h in got], [h.score for h in want], rtol=0, atol=1e-12)


def test_rollback_clears_vectors_read_inside(tmp_path: Path) -> None:
    with EmbeddedStore(EmbeddedConfig(tmp_path / "s")) as s:
        nodes = turns(5)
        s.upsert_nodes(nodes[:2])
        q = nodes[4].embedding
        assert q is not None
        with pytest.raises(RuntimeError), s.transaction():
            s.upsert_nodes(nodes[2:])
            assert s.vector_search(NS, "Turn", q, 1)[0].id == "turn:4"
            raise RuntimeError
        assert {h.id for h in s.vector_search(NS, "Turn", q, 5)} == {"turn:0", "turn:1"}


def _fts_matches_nodes(s: EmbeddedStore) -> None:
    """The full-text index holds exactly the tokens of every node's text."""
    conn = s._db.conn
    conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_vocab USING fts5vocab(main, nodes_fts, instance)"
    )
    indexed = set(conn.execute("SELECT term, doc FROM temp.fts_vocab").fetchall())
    expected = {
        (tok, pk)
        for pk, text in conn.execute("SELECT pk, text FROM nodes WHERE text IS NOT NULL")
        for tok in tokenize(text)
    }
    assert indexed == expected


def test_fulltext_index_follows_every_write(tmp_path: Path) -> None:
    with EmbeddedStore(EmbeddedConfig(tmp_path / "s")) as s:
        s.upsert_nodes(turns(30))
        s.upsert_nodes(
            [
                Node("turn:1", "Turn", NS, "c1", "Fresh Wörds, café!", {}),  # text changed
                Node("turn:2", "Turn", NS, "c1", None, {}),  # text removed
                Node("x", "Note", NS, None, None, {}),
                Node("x", "Note", NS, None, "last write wins", {}),  # same id twice in a batch
                Node("turn:40", "Turn", NS, "c2", "brand new", {}),
            ]
        )
        s.upsert_nodes([Node("turn:2", "Turn", NS, "c1", "text is back", {})])
        s.upsert_nodes([Node("o:1", "Turn", "other", "c1", "other namespace words", {})])
        _fts_matches_nodes(s)
        with pytest.raises(RuntimeError), s.transaction():
            s.upsert_nodes(turns(5, start=200))
            s.delete_namespace("other")
            raise RuntimeError
        _fts_matches_nodes(s)
        assert s.delete_conversation(NS, "c2") == 1
        s.delete_namespace("other")
        _fts_matches_nodes(s)
        (x,) = s.get_nodes(NS, ["x"])
        assert x.text == "last write wins"
        assert s.keyword_search(NS, "Turn", "café wörds", 5)[0].id == "turn:1"  # Unicode tokens
        assert [h.id for h in s.keyword_search(NS, "Turn", "back", 5)] == ["turn:2"]


def test_duplicate_ids_in_one_batch_act_like_sequential_writes(tmp_path: Path) -> None:
    v = np.ones(4, dtype=np.float32) / 2
    with EmbeddedStore(EmbeddedConfig(tmp_path / "s")) as s:
        s.upsert_nodes(
            [
                Node("a", "Turn", NS, "c1", "first", {"n": 1}, v),
                Node("a", "Note", NS, "c2", "second", {"n": 2}),
            ]
        )
        (a,) = s.get_nodes(NS, ["a"], with_embeddings=True)
        assert (a.label, a.conversation, a.text, dict(a.props)) == (
            "Note",
            "c2",
            "second",
            {"n": 2},
        )
        assert a.embedding is not None and np.array_equal(a.embedding, v)
        assert [h.id for h in s.vector_search(NS, "Note", v, 1, conversation="c2")] == ["a"]
        assert s.counts(NS).nodes == {"Note": 1}


# -- crash safety -----------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import sys, time, types
    import numpy as np
    from pathlib import Path
    # Skip kg_memory/__init__ (it imports the whole library): only the store matters.
    pkg = types.ModuleType("kg_memory")
    pkg.__path__ = [sys.argv[3]]
    sys.modules["kg_memory"] = pkg
    from kg_memory.model import Node
    from kg_memory.config import EmbeddedConfig
    from kg_memory.store.embedded import EmbeddedStore

    path, mode = Path(sys.argv[1]), sys.argv[2]
    s = EmbeddedStore(EmbeddedConfig(path))
    # A small page cache makes the open transaction spill its pages into the WAL.
    s._db.conn.execute("PRAGMA cache_size = -1000")
    rng = np.random.default_rng(0)
    def batch(b):
        return [
            Node(f"killed:{b}:{i}", "Turn", "ns", "c9", f"doomed words {b} {i}", {"b": b},
                 rng.standard_normal(384).astype(np.float32))
            for i in range(500)
        ]
    if mode == "mid":
        with s.transaction():
            for b in range(8):  # ~6 MB of vectors
                s.upsert_nodes(batch(b))
            print("started", flush=True)
            time.sleep(60)
    else:
        with s.transaction():
            for b in range(4):
                s.upsert_nodes(batch(b))
        print("committed", flush=True)
        time.sleep(60)
    """
)


def _run_and_kill(store_dir: Path, mode: str, expect: str) -> int:
    """Run the child until it prints ``expect``, SIGKILL it; return the WAL size then."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(store_dir), mode, str(REPO / "kg_memory")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == expect, proc.stderr.read() if proc.stderr else line
        wal = store_dir / (DB_FILE + "-wal")
        wal_size = wal.stat().st_size if wal.exists() else 0
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return wal_size


def _integrity(store_dir: Path) -> str:
    conn = sqlite3.connect(store_dir / DB_FILE)
    try:
        (ok,) = conn.execute("PRAGMA integrity_check").fetchone()
        conn.execute("INSERT INTO nodes_fts(nodes_fts) VALUES ('integrity-check')")
        return str(ok)
    finally:
        conn.close()


def test_kill_mid_transaction_leaves_nothing(tmp_path: Path) -> None:
    store_dir = tmp_path / "s"
    before = turns(50)
    with EmbeddedStore(EmbeddedConfig(store_dir)) as s:
        s.upsert_nodes(before)
        s.upsert_edges([Edge("turn:0", "NEXT_TURN", "turn:1", NS)])
        snapshot = s.counts(NS).as_dict()
    # uncommitted pages reached the WAL file before the kill
    assert _run_and_kill(store_dir, "mid", "started") > 1_000_000
    assert _integrity(store_dir) == "ok"
    with EmbeddedStore(EmbeddedConfig(store_dir)) as s:
        assert s.counts(NS).as_dict() == snapshot
        assert s.counts().as_dict() == snapshot
        assert s.conversations(NS) == ["c1"]
        assert s.keyword_search(NS, "Turn", "doomed", 5) == []
        assert s.get_nodes(NS, [n.id for n in before]) == before
        s.upsert_nodes(turns(5, start=100))  # still writable
        assert s.counts(NS).total_nodes == 55


def test_commit_survives_kill(tmp_path: Path) -> None:
    store_dir = tmp_path / "s"
    EmbeddedStore(EmbeddedConfig(store_dir)).close()
    _run_and_kill(store_dir, "commit", "committed")
    assert _integrity(store_dir) == "ok"
    with EmbeddedStore(EmbeddedConfig(store_dir)) as s:
        assert s.counts(NS).nodes == {"Turn": 2000}
        assert len(s.keyword_search(NS, "Turn", "doomed 3", 3000)) == 2000
        assert s.text_stats(NS, "Turn") == (2000, 4.0)


def test_labels_sharing_terms_read_candidates_once_and_alike(tmp_path: Path) -> None:
    """One full-text query serves several labels; a label over the limit is re-read alone
    (FTS5's rank cut), so each label's candidates are those of its own query."""
    from kg_memory.store.common import Scope
    from kg_memory.store.embedded import search

    st = EmbeddedStore(EmbeddedConfig(tmp_path / "s"))
    notes = [Node(f"n{i}", "Note", "ns", "c1", f"apple note {i}", {}) for i in range(3)]
    st.upsert_nodes([*turns(4), *notes])
    db = st._db
    for limit in (1, 2, 10):
        got = search.labelled_candidates(db, "ns", ["Note", "Turn"], ["apple", "turn"], None, limit)
        for label in ("Note", "Turn"):
            scope = Scope("ns", label, None)
            alone = search.keyword_candidates(db, scope, ["apple", "turn"], limit, tokenized=True)
            assert got[label] == alone, (limit, label)
    st.close()
