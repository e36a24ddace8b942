"""The embedded store's SQLite schema and its versioned migrations.

``nodes`` holds every node with its text and JSON props. Its key ``pk`` is an
``INTEGER PRIMARY KEY`` (a plain rowid may be renumbered by ``VACUUM``, which
would silently break the full-text index). ``nodes_fts`` is an FTS5
external-content index over ``nodes.ftext``, the text normalised by
:func:`kg_memory.text.tokenize` (tokens joined by spaces): FTS5 then sees
exactly kg-memory's tokens, so candidates agree with the BM25 scorer even for
non-ASCII text, where FTS5's own tokenizers would split words differently.
New rows are indexed in bulk by the writer; triggers keep the index and
``vectors`` in sync with ``nodes`` on every update and delete. (Because
``ftext`` is stored, ``INSERT INTO nodes_fts(nodes_fts) VALUES('rebuild')``
rebuilds the index exactly.) ``edges`` is keyed by ``(src, type, dst)``.
``meta.schema_version`` records the applied migrations; opening a store runs
only the pending ones (:func:`migrate`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from kg_memory.errors import StoreUnavailableError

#: ``PRAGMA application_id`` of kg-memory stores ("KGM1").
APPLICATION_ID = 0x4B474D31


def _m001_initial(conn: sqlite3.Connection) -> None:
    stmts = [
        f"PRAGMA application_id = {APPLICATION_ID}",
        """CREATE TABLE nodes (
            pk INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            namespace TEXT NOT NULL,
            label TEXT NOT NULL,
            conversation TEXT,
            text TEXT,
            ftext TEXT,
            ntok INTEGER,
            props TEXT NOT NULL DEFAULT '{}'
        )""",
        # ntok trails so that text_stats is answered from the index alone.
        "CREATE INDEX nodes_scope ON nodes(namespace, label, conversation, ntok)",
        "CREATE INDEX nodes_conversation ON nodes(namespace, conversation)",
        """CREATE TABLE edges (
            src TEXT NOT NULL,
            type TEXT NOT NULL,
            dst TEXT NOT NULL,
            namespace TEXT NOT NULL,
            props TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (src, type, dst)
        ) WITHOUT ROWID""",
        # The primary key serves lookups by src.
        "CREATE INDEX edges_dst ON edges(dst, type)",
        "CREATE INDEX edges_namespace_type ON edges(namespace, type)",
        """CREATE TABLE vectors (
            id TEXT PRIMARY KEY,
            namespace TEXT NOT NULL,
            label TEXT NOT NULL,
            conversation TEXT,
            vec BLOB NOT NULL
        )""",
        "CREATE INDEX vectors_scope ON vectors(namespace, label, conversation)",
        """CREATE VIRTUAL TABLE nodes_fts USING fts5(
            ftext, content='nodes', content_rowid='pk', tokenize='ascii'
        )""",
        # No insert trigger: upsert_nodes indexes new rows itself (much faster).
        """CREATE TRIGGER nodes_ad AFTER DELETE ON nodes BEGIN
            INSERT INTO nodes_fts(nodes_fts, rowid, ftext)
                SELECT 'delete', old.pk, old.ftext WHERE old.ftext IS NOT NULL;
            DELETE FROM vectors WHERE id = old.id;
        END""",
        """CREATE TRIGGER nodes_au_text AFTER UPDATE OF ftext ON nodes
        WHEN old.ftext IS NOT new.ftext BEGIN
            INSERT INTO nodes_fts(nodes_fts, rowid, ftext)
                SELECT 'delete', old.pk, old.ftext WHERE old.ftext IS NOT NULL;
            INSERT INTO nodes_fts(rowid, ftext)
                SELECT new.pk, new.ftext WHERE new.ftext IS NOT NULL;
        END""",
        """CREATE TRIGGER nodes_au_scope AFTER UPDATE OF namespace, label, conversation ON nodes
        WHEN old.namespace IS NOT new.namespace OR old.label IS NOT new.label
            OR old.conversation IS NOT new.conversation BEGIN
            UPDATE vectors SET namespace = new.namespace, label = new.label,
                conversation = new.conversation WHERE id = new.id;
        END""",
    ]
    for stmt in stmts:
        conn.execute(stmt)


#: Ordered schema migrations; ``meta.schema_version`` counts the applied ones.
#: Append new migrations, never edit or reorder released ones.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_m001_initial,)
SCHEMA_VERSION = len(MIGRATIONS)


def _schema_version(conn: sqlite3.Connection) -> int:
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations in one transaction; return the schema version.

    Idempotent: a store already at :data:`SCHEMA_VERSION` is not written to,
    and concurrent openers serialise on ``BEGIN IMMEDIATE`` and re-read the
    version under the lock. ``conn`` must be in autocommit mode.
    """
    if _schema_version(conn) == SCHEMA_VERSION:
        return SCHEMA_VERSION
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        version = _schema_version(conn)
        if version > SCHEMA_VERSION:
            raise StoreUnavailableError(
                f"store schema version {version} is newer than this kg-memory supports "
                f"({SCHEMA_VERSION}); upgrade kg-memory"
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[number - 1](conn)
            conn.execute(
                "INSERT INTO meta(key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (str(number),),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION
