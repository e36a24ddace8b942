"""The embedded store's database: one SQLite connection, its lock, transactions, caches.

SQLite from the standard library needs nothing installed and nothing
downloaded. WAL journaling with ``synchronous=NORMAL`` is durable against a
killed process: every committed transaction survived ``kill -9`` in our tests,
and an interrupted one left no trace.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kg_memory.errors import (
    KGMemoryError,
    StoreError,
    StoreNotFoundError,
    StoreUnavailableError,
)
from kg_memory.store.common import shared_generations
from kg_memory.store.embedded.schema import APPLICATION_ID, migrate

#: File name of the database inside the store directory.
DB_FILE = "memory.sqlite3"
BUSY_TIMEOUT_MS = 10_000
#: Page cache per connection (KiB): big ingest transactions spill less.
CACHE_KIB = 32_768


def convert_error(store: Any, exc: Exception) -> KGMemoryError | None:
    """The :class:`StoreError` for an sqlite3 error (``None`` for any other)."""
    if isinstance(exc, sqlite3.Error):
        return StoreError(f"embedded store {getattr(store, 'db_path', '?')}: {exc}")
    return None


def _configure(conn: sqlite3.Connection, db_path: Path) -> None:
    """Check that the file is a kg-memory store (or empty), set the pragmas, migrate."""
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id != APPLICATION_ID:
        n_tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id != 0 or n_tables:
            raise StoreUnavailableError(
                f"{db_path} is an SQLite database but not a kg-memory store"
            )
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StoreUnavailableError(f"cannot enable WAL journaling on {db_path} (got {mode!r})")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    migrate(conn)


def open_connection(db_path: Path) -> sqlite3.Connection:
    """An autocommit connection to the store file, configured and migrated
    (else :class:`~kg_memory.errors.StoreUnavailableError` naming the file)."""
    try:
        if not db_path.exists():  # owner-only (SQLite gives -wal and -shm the same mode)
            os.close(os.open(db_path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
        conn = sqlite3.connect(
            db_path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
    except (sqlite3.Error, OSError) as exc:
        raise StoreUnavailableError(f"cannot open store {db_path}: {exc}") from exc
    try:
        _configure(conn, db_path)
    except StoreUnavailableError:
        conn.close()
        raise
    except sqlite3.OperationalError as exc:  # locked, read-only, I/O error
        conn.close()
        raise StoreUnavailableError(f"cannot open store {db_path}: {exc}") from exc
    except sqlite3.Error as exc:  # not a database, corrupt
        conn.close()
        raise StoreUnavailableError(f"{db_path} is not a usable kg-memory store: {exc}") from exc
    return conn


def _make_dir(path: Path) -> None:
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)  # owner-only: what users told it
    except FileExistsError:
        raise StoreUnavailableError(f"store path {path} exists and is not a directory") from None
    except OSError as exc:
        raise StoreUnavailableError(
            f"cannot create store directory {path}: {exc.strerror or exc}"
        ) from exc


class Database:
    """The store directory's SQLite database, shared by the store's modules.

    ``create=False`` refuses a directory without a store file instead of creating it.
    Thread-safe: one connection, serialised by :attr:`lock`; a transaction holds
    the lock until it ends. Several processes may open the same store (SQLite
    locking; writers wait up to :data:`BUSY_TIMEOUT_MS`). Holds the read caches
    (:attr:`vectors`, :attr:`text_stats`), dropped on close and on rollback.
    """

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        self.db_path = path / DB_FILE
        self.lock = threading.RLock()
        self.depth = 0
        self.generations = shared_generations("embedded", str(path.resolve()))
        #: scope -> cached vector matrix (see :mod:`.search`), least recently used first.
        self.vectors: OrderedDict[tuple[str, str, str | None], Any] = OrderedDict()
        #: scope -> (generation, data_version, (count, mean length)); text_stats scans an index.
        self.text_stats: dict[tuple[str, str, str | None], tuple[int, int, tuple[int, float]]] = {}
        self._conn: sqlite3.Connection | None = None  # set first: close() works if _connect fails
        self._conn = self._connect(create)

    def _connect(self, create: bool) -> sqlite3.Connection:
        """The connection to the store file, made (with its directory) if ``create``.

        The one place a subclass changes to run these modules on another SQLite
        database (it must then configure and :func:`migrate` it itself)."""
        if not create and not self.db_path.is_file():
            raise StoreNotFoundError(
                f"no kg-memory store at {self.path} (a mistyped --store or KG_MEMORY_STORE?)"
            )
        _make_dir(self.path)
        if self.db_path.exists() and not self.db_path.is_file():
            raise StoreUnavailableError(f"{self.db_path} is not a file")
        return open_connection(self.db_path)

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"embedded store {self.path} is closed")
        return self._conn

    def data_version(self) -> int:
        """SQLite's ``data_version``: changes when another connection commits."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        with self.lock:
            if self._conn is not None:
                if self.depth:
                    self._conn.execute("ROLLBACK")
                    self.depth = 0
                self._conn.close()
                self._conn = None
                self.vectors.clear()
                self.text_stats.clear()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes; nested calls join the outer transaction (no savepoints)."""
        with self.lock:
            if self.depth:
                self.depth += 1
                try:
                    yield
                finally:
                    self.depth -= 1
                return
            conn = self.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"embedded store {self.db_path}: cannot begin: {exc}") from exc
            self.depth = 1
            try:
                yield
            except BaseException:
                self.depth = 0
                self._rollback()
                raise
            self.depth = 0
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreError(f"embedded store {self.db_path}: commit failed: {exc}") from exc

    def _rollback(self) -> None:
        # Caches filled inside the transaction may hold rolled-back rows.
        self.vectors.clear()
        self.text_stats.clear()
        conn = self._conn
        if conn is not None and conn.in_transaction:
            conn.execute("ROLLBACK")
