"""The Neo4j connection: driver, sessions, transactions with replay, retries, read cache.

Transactions
------------
``with connection.transaction():`` opens one explicit Neo4j transaction for the
calling thread. Writes run in it at once (so reads inside the block, which use
the same transaction, see them) and are also logged: when the server reports a
retryable error (deadlock, leader switch, dropped connection) in the middle of
the block or at commit, the log is replayed in a fresh transaction, within
:data:`MAX_RETRY_SECONDS`. Nested ``transaction()`` calls join the outer one;
any exception rolls everything back. Outside a transaction each write runs in a
managed transaction of its own (the driver retries it), and
:meth:`Connection.reading` keeps one read transaction for all the reads of a
question.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from neo4j import READ_ACCESS, WRITE_ACCESS, Driver, GraphDatabase, ManagedTransaction, Transaction
from neo4j import exceptions as neo4j_errors

from kg_memory.config import Neo4jConfig
from kg_memory.errors import KGMemoryError, QueryError, StoreError, StoreUnavailableError
from kg_memory.security.uri import check_neo4j_uri, redact_uri
from kg_memory.store.common import shared_generations, translate_errors
from kg_memory.store.neo4j.schema import apply_schema

#: Seconds the driver keeps retrying a transaction that failed transiently.
MAX_RETRY_SECONDS = 30.0
#: Seconds to wait for a TCP connection to the server.
CONNECT_TIMEOUT = 10.0

R = TypeVar("R")
Tx = ManagedTransaction | Transaction
#: The driver's errors: a server error or a client-side failure.
DRIVER_ERRORS = (neo4j_errors.Neo4jError, neo4j_errors.DriverError)


def _convert(store: Any, exc: Exception) -> KGMemoryError | None:
    uri = getattr(store, "uri", "?")
    if isinstance(exc, neo4j_errors.ServiceUnavailable | neo4j_errors.SessionExpired):
        return StoreUnavailableError(f"Neo4j at {uri} is unavailable: {exc}")
    if isinstance(exc, neo4j_errors.AuthError):
        return StoreUnavailableError(f"Neo4j at {uri} rejected the credentials: {exc}")
    if isinstance(exc, DRIVER_ERRORS):
        return StoreError(f"Neo4j store at {uri}: {exc}")
    return None


#: Turns driver errors escaping a public method of the store into kg-memory errors.
db_errors = translate_errors(_convert)


def retryable(exc: BaseException) -> bool:
    """Whether the driver classes ``exc`` as transient (worth a fresh transaction)."""
    is_retryable = getattr(exc, "is_retryable", None)
    return bool(is_retryable()) if callable(is_retryable) else False


def connect(config: Neo4jConfig) -> Driver:
    """A driver for ``config``, checked: the server answers, accepts the credentials
    and opens the database (else :class:`~kg_memory.errors.StoreUnavailableError`)."""
    check_neo4j_uri(config.uri)
    shown = redact_uri(config.uri)  # what messages show: never a password
    where = f"Neo4j at {shown}"
    bad_credentials = (
        f"{where} rejected the credentials of user {config.user!r} "
        "(set KG_MEMORY_NEO4J_USER / KG_MEMORY_NEO4J_PASSWORD)"
    )
    try:
        driver = GraphDatabase.driver(
            config.uri,
            auth=(config.user, config.password),
            connection_timeout=CONNECT_TIMEOUT,
            max_transaction_retry_time=MAX_RETRY_SECONDS,
            notifications_min_severity="OFF",
            user_agent="kg-memory",
        )
    except (neo4j_errors.ConfigurationError, ValueError) as exc:
        raise StoreUnavailableError(f"invalid Neo4j URI {shown!r}: {exc}") from exc
    try:
        driver.verify_connectivity()
        if not driver.verify_authentication():
            raise StoreUnavailableError(bad_credentials)
        with driver.session(database=config.database or None) as s:
            s.run("RETURN 1").consume()
    except StoreUnavailableError:
        driver.close()
        raise
    except neo4j_errors.AuthError as exc:
        driver.close()
        raise StoreUnavailableError(f"{bad_credentials}: {exc.message or exc}") from exc
    except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired, OSError) as exc:
        driver.close()
        raise StoreUnavailableError(
            f"cannot connect to {where}: {exc} (is the server running? scripts/neo4j-server start)"
        ) from exc
    except neo4j_errors.ClientError as exc:
        driver.close()
        raise StoreUnavailableError(
            f"{where}: cannot open database {config.database!r}: {exc.message or exc}"
        ) from exc
    except DRIVER_ERRORS as exc:
        driver.close()
        raise StoreUnavailableError(f"{where} is not usable: {exc}") from exc
    return driver


@dataclass
class OpenTx:
    """The calling thread's explicit transaction and its replay log."""

    session: Any
    tx: Transaction
    depth: int = 1
    ops: list[Callable[[Tx], Any]] = field(default_factory=list)
    namespaces: set[str] = field(default_factory=set)
    failed: BaseException | None = None
    #: Ids of nodes this transaction created (they did not exist before it): their edges
    #: cannot exist yet either, so they are written with CREATE instead of MERGE.
    created: set[str] = field(default_factory=set)
    #: ``(id, namespace)`` of the nodes this transaction wrote (known to exist: no end check).
    written: set[tuple[str, str]] = field(default_factory=set)
    #: Keys of the edges this transaction wrote with an end in ``created``.
    new_edges: set[tuple[str, str, str]] = field(default_factory=set)
    #: Element ids of the nodes in ``written`` (valid in this transaction: it wrote them).
    elements: dict[str, str] = field(default_factory=dict)

    def forget(self) -> None:
        """Drop what the transaction knows of its writes (after a delete, or to replay)."""
        self.created.clear()
        self.written.clear()
        self.new_edges.clear()
        self.elements.clear()


@dataclass
class _Cached:
    """A cached read: its value, and the namespace generation and commit mark it saw."""

    value: Any
    generation: int
    mark: str


def _close_quietly(*steps: Callable[[], Any] | None) -> None:
    # The connection may already be gone: closing is best effort.
    for step in steps:
        if step is not None:
            with contextlib.suppress(Exception):
                step()


class Connection:
    """One Neo4j database through the driver: sessions, the calling thread's
    transaction, reads and writes routed into it, and a small read cache.

    Opening checks the server (:func:`connect`) and applies the schema
    (:func:`~kg_memory.store.neo4j.schema.apply_schema`). Thread-safe: the driver
    pools connections; each thread has its own ``transaction()``.
    """

    def __init__(self, config: Neo4jConfig) -> None:
        self.config = config
        self.uri = redact_uri(config.uri)  # what messages show: never a password
        self.database = config.database or None
        self._local = threading.local()
        self._cache_lock = threading.Lock()
        self.generations = shared_generations("neo4j", config.uri, config.database or "")
        self._read_cache: dict[tuple[Any, ...], _Cached] = {}
        self._driver: Driver | None = None
        # One bookmark manager for all sessions: a read sees every earlier write of
        # this store even on a cluster (causal consistency).
        self._bookmarks = GraphDatabase.bookmark_manager()
        self._driver = connect(config)
        try:
            apply_schema(self.session, self.uri)
        except BaseException:
            self.close()
            raise

    @property
    def open_tx(self) -> OpenTx | None:
        """The calling thread's open ``transaction()``, if any."""
        state: OpenTx | None = getattr(self._local, "tx", None)
        return state

    def session(self, access: str = WRITE_ACCESS) -> Any:
        """A new session (every session shares the store's bookmark manager)."""
        if self._driver is None:
            raise StoreError(f"Neo4j store at {self.uri} is closed")
        return self._driver.session(
            database=self.database, default_access_mode=access, bookmark_manager=self._bookmarks
        )

    def close(self) -> None:
        state = self.open_tx
        if state is not None:
            self._local.tx = None
            self._discard(state)
        if self._driver is not None:
            self._driver.close()
            self._driver = None

    # -- transactions -----------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes in one Neo4j transaction; nested calls join the outer one."""
        state = self.open_tx
        if state is not None:
            state.depth += 1
            try:
                yield
            finally:
                state.depth -= 1
            return
        state = self._begin()
        self._local.tx = state
        try:
            yield
        except BaseException:
            self._local.tx = None
            self._discard(state)
            self.generations.bump(state.namespaces)
            raise
        self._local.tx = None
        try:
            self._commit(state)
        finally:
            self.generations.bump(state.namespaces)

    def _begin(self) -> OpenTx:
        session = self.session()
        try:
            tx = session.begin_transaction()
        except BaseException as exc:
            session.close()
            if isinstance(exc, DRIVER_ERRORS):
                raise StoreError(f"Neo4j store at {self.uri}: cannot begin: {exc}") from exc
            raise
        return OpenTx(session=session, tx=tx)

    @staticmethod
    def _discard(state: OpenTx) -> None:
        _close_quietly(state.tx.close, state.session.close)

    def _restart(self, state: OpenTx) -> None:
        """Replace a transaction lost to a transient error; replay its log."""
        self._discard(state)
        fresh = self._begin()
        state.session, state.tx = fresh.session, fresh.tx
        state.forget()  # the replayed writes rebuild it
        for op in state.ops:
            op(state.tx)

    def _in_tx(self, state: OpenTx, fn: Callable[[Tx], R]) -> R:
        if state.failed is not None:
            raise StoreError(
                f"the transaction failed earlier ({state.failed}); leave the "
                "`with store.transaction()` block to roll it back"
            )
        delay, deadline, restart = 0.2, 0.0, False
        while True:
            try:
                if restart:
                    self._restart(state)
                    restart = False
                return fn(state.tx)
            except DRIVER_ERRORS as exc:
                now = time.monotonic()
                deadline = deadline or now + MAX_RETRY_SECONDS
                if not retryable(exc) or now > deadline:
                    state.failed = exc
                    raise
            # Lost to a transient error: a fresh transaction, the log replayed, then fn again.
            restart = True
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _commit(self, state: OpenTx) -> None:
        """Commit; a commit the server does not confirm with a bookmark is not a success.

        A retryable failure, or a COMMIT answered without a new bookmark (the
        connection lost on the way: nothing proves the writes are stored), replays
        the log in a fresh transaction; any other failure raises :class:`StoreError`.
        """
        if state.failed is not None:
            self._discard(state)
            raise StoreError(f"transaction not committed: it failed earlier ({state.failed})")
        before = state.session.last_bookmarks()
        try:
            state.tx.commit()
        except neo4j_errors.IncompleteCommit as exc:
            self._discard(state)
            raise StoreError(
                f"Neo4j store at {self.uri}: the connection was lost during COMMIT, so the "
                f"writes may or may not be stored; run the command again ({exc})"
            ) from exc
        except DRIVER_ERRORS as exc:
            self._discard(state)
            if not retryable(exc):
                raise StoreError(f"Neo4j store at {self.uri}: commit failed: {exc}") from exc
            self._replay(state)
            return
        after = state.session.last_bookmarks()
        confirmed = bool(after.raw_values) and after != before
        state.session.close()
        if state.ops and not confirmed:
            self._replay(state)

    def _replay(self, state: OpenTx) -> None:
        """Run a lost transaction's log again in a managed transaction; confirm its bookmark."""
        ops = list(state.ops)

        def replay(tx: Tx) -> None:
            state.forget()  # the replayed writes rebuild it
            for op in ops:
                op(tx)

        try:
            self._confirmed_write(replay)
        except DRIVER_ERRORS as exc:
            raise StoreError(f"Neo4j store at {self.uri}: commit failed: {exc}") from exc

    def _confirmed_write(self, op: Callable[[Tx], R]) -> R:
        """``op`` in a managed write transaction whose commit returns a new bookmark;
        an unconfirmed commit is run once more (every write re-reads what exists)."""
        for _ in range(2):
            with self.session() as s:
                before = s.last_bookmarks()
                out = s.execute_write(op)
                after = s.last_bookmarks()
            if after.raw_values and after != before:
                return out
        raise StoreError(
            f"Neo4j store at {self.uri}: the server did not confirm the commit (no "
            "bookmark), so the writes may not be stored; run the command again"
        )

    # -- reads and writes -------------------------------------------------------
    def write(self, op: Callable[[Tx], R], namespaces: set[str]) -> R:
        """Run a write: in the thread's open transaction, else in its own managed one."""
        state = self.open_tx
        self.generations.bump(namespaces)
        if state is None:
            try:
                return self._confirmed_write(op)
            finally:
                self.generations.bump(namespaces)
        state.namespaces |= namespaces
        try:
            out = self._in_tx(state, op)
        except BaseException as exc:
            # A write that failed half-way may have left changes in the transaction.
            if state.failed is None and not isinstance(exc, QueryError):
                state.failed = exc
            raise
        state.ops.append(op)
        return out

    def read(self, fn: Callable[[Tx], R]) -> R:
        """Run a read: in the thread's open transaction (sees its writes), else in its
        ``reading()`` transaction, else in a managed read transaction of its own."""
        state = self.open_tx
        if state is not None:
            return self._in_tx(state, fn)
        shared: Transaction | None = getattr(self._local, "read_tx", None)
        if shared is not None:
            try:
                return fn(shared)
            except DRIVER_ERRORS as exc:
                if not retryable(exc):
                    raise
                # Lost (a dropped connection, say): the rest of the block reads on its own,
                # with the driver's retries.
                self._end_reading()
        with self.session(READ_ACCESS) as s:
            return s.execute_read(fn)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Run the calling thread's reads in one read transaction (see :meth:`Store.reading`)."""
        if self.open_tx is not None or getattr(self._local, "read_tx", None):
            yield  # inside a write transaction, or nested: reads already share one
            return
        session = self.session(READ_ACCESS)
        try:
            self._local.read_session = session
            self._local.read_tx = session.begin_transaction()
            self._local.marks = {}
        except DRIVER_ERRORS:
            self._end_reading()  # reads fall back to one transaction each
        try:
            yield
        finally:
            self._end_reading()

    def _end_reading(self) -> None:
        tx = getattr(self._local, "read_tx", None)
        session = getattr(self._local, "read_session", None)
        self._local.read_tx = self._local.read_session = self._local.marks = None
        _close_quietly(getattr(tx, "close", None), getattr(session, "close", None))

    def cached_read(self, key: tuple[Any, ...], namespace: str, work: Callable[[Tx], Any]) -> Any:
        """``read(work)``, cached per key until the database changes.

        A write of this process bumps the namespace's generation; a commit of any
        process moves the database's last committed transaction (:meth:`commit_mark`),
        so no process keeps reading a value another has made stale. Reads inside
        an open transaction are never cached.
        """
        if self.open_tx is not None:
            return self.read(work)
        gen = self.generations[namespace]
        mark = self.commit_mark()
        with self._cache_lock:
            hit = self._read_cache.get(key)
        if hit is not None and hit.generation == gen and hit.mark == mark:
            return hit.value
        value = self.read(work)
        with self._cache_lock:
            self._read_cache[key] = _Cached(value, gen, mark)
            if len(self._read_cache) > 4096:
                self._read_cache.clear()
        return value

    def commit_mark(self) -> str:
        """The database's last committed transaction, as the bookmark an empty read
        transaction returns; read once per ``reading()`` block (no lock is taken)."""
        marks: dict[str, str] | None = getattr(self._local, "marks", None)
        if marks is not None and "db" in marks:
            return marks["db"]
        with self.session(READ_ACCESS) as s:
            s.execute_read(lambda tx: tx.run("RETURN 1").consume())
            mark = ",".join(sorted(s.last_bookmarks().raw_values))
        if marks is not None:
            marks["db"] = mark
        return mark
