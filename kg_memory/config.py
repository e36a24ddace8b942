"""Where the memory lives: store backend and location, Neo4j connection, namespace.

Precedence: explicit argument (CLI flag) > environment variable > default.

Which store opens (:attr:`Settings.store`): the backend named by ``backend``
(``--backend NAME``, ``KG_MEMORY_BACKEND``), any name registered in
:data:`kg_memory.store.BACKENDS`; without one, Neo4j when a URI is set, else
the embedded store. The embedded store takes its directory from ``--store``,
Neo4j its URI from ``--neo4j``; any other backend is configured by its config
class's ``from_env()`` (its own ``KG_MEMORY_*`` variables).

Environment variables
---------------------
``KG_MEMORY_BACKEND``      store backend by registered name (default: see above)
``KG_MEMORY_STORE``        embedded store directory (default: the user data dir)
``KG_MEMORY_NAMESPACE``    namespace (default ``default``)
``KG_MEMORY_NEO4J_URI``    use Neo4j at this Bolt URI instead of the embedded store
``KG_MEMORY_NEO4J_USER``, ``KG_MEMORY_NEO4J_PASSWORD``, ``KG_MEMORY_NEO4J_DATABASE``
``KG_MEMORY_EMBEDDER``     ``minilm`` (default) or ``hash`` (deterministic, tests only)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, TypedDict, Unpack

from platformdirs import user_data_dir

from kg_memory.errors import ConfigError

DEFAULT_NAMESPACE = "default"
_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def default_store_dir() -> Path:
    """The embedded store's directory: ``$KG_MEMORY_STORE`` or the user data dir."""
    env = os.environ.get("KG_MEMORY_STORE")
    if env:
        return Path(env).expanduser()
    return Path(user_data_dir("kg-memory", appauthor=False)) / "store"


def check_namespace(namespace: str) -> str:
    """Validate a namespace name (letters, digits, ``_.-``; at most 64)."""
    if not _NAMESPACE_RE.match(namespace):
        raise ConfigError(
            f"invalid namespace {namespace!r}: use 1-64 letters, digits, '_', '.', '-'"
        )
    return namespace


@dataclass(frozen=True)
class StoreConfig:
    """What opens a store: one subclass per backend, ``backend`` its registry name.

    Every backend is opened the same way, ``Backend(config)`` or
    :func:`kg_memory.store.open_store` (which picks the class from ``config.backend``).
    """

    backend: ClassVar[str]

    @classmethod
    def from_env(cls) -> StoreConfig | None:
        """This backend's configuration from the ``KG_MEMORY_*`` environment (``None``: none)."""
        raise NotImplementedError(f"{cls.__name__}.from_env")

    def creating(self, create: bool) -> StoreConfig:
        """This config, creating a missing store or not: a dataclass config with a ``create``
        field gets it set (see :class:`EmbeddedConfig`); any other (a store on a server, which
        is never created) is returned unchanged."""
        return _with(self, create=create) if _has_field(self, "create") else self

    def at(self, path: Path) -> StoreConfig:
        """This config for the store in directory ``path`` (``--store``): a dataclass config
        with a ``path`` field gets it set; a backend not kept in a directory refuses."""
        if _has_field(self, "path"):
            return _with(self, path=path)
        raise ConfigError(
            f"--store names a directory, but the {self.backend} store backend is not kept in one: "
            "configure it by what its config class's from_env() reads"
        )


def _has_field(config: object, name: str) -> bool:
    return is_dataclass(config) and any(f.name == name for f in fields(config))


def _with(config: Any, **changes: Any) -> StoreConfig:
    """A dataclass config with ``changes`` (a field the subclass declares, not the base)."""
    out: StoreConfig = replace(config, **changes)
    return out


@dataclass(frozen=True)
class EmbeddedConfig(StoreConfig):
    """The embedded store in directory ``path``, created if missing unless ``create``
    is false (then a path without a store is an error: a mistyped ``--store``).

    >>> EmbeddedConfig(Path("/tmp/m")).backend
    'embedded'
    """

    backend: ClassVar[str] = "embedded"
    path: Path
    create: bool = True

    @classmethod
    def from_env(cls, path: str | Path | None = None) -> EmbeddedConfig:
        """Config for ``path``, else ``$KG_MEMORY_STORE``, else the user data dir."""
        return cls(Path(path).expanduser() if path else default_store_dir())


@dataclass(frozen=True)
class Neo4jConfig(StoreConfig):
    """A Neo4j 5.26+ server: Bolt URI, credentials and database."""

    backend: ClassVar[str] = "neo4j"
    uri: str
    user: str = "neo4j"
    password: str = ""
    database: str = "neo4j"

    @classmethod
    def from_env(cls, uri: str | None = None) -> Neo4jConfig | None:
        """Config from ``uri`` or ``KG_MEMORY_NEO4J_*``; ``None`` if no URI is set."""
        uri = uri or os.environ.get("KG_MEMORY_NEO4J_URI")
        if not uri:
            return None
        return cls(
            uri=uri,
            user=os.environ.get("KG_MEMORY_NEO4J_USER", "neo4j"),
            password=os.environ.get("KG_MEMORY_NEO4J_PASSWORD", ""),
            database=os.environ.get("KG_MEMORY_NEO4J_DATABASE", "neo4j"),
        )


class Location(TypedDict, total=False):
    """Which memory to open, as :meth:`Settings.resolve` and the ``open`` methods take it
    (``None`` or missing: from the environment, else the default)."""

    namespace: str | None
    neo4j_uri: str | None
    #: Create a store at a path (the embedded store, or another backend whose config has a
    #: ``create`` field) if it does not exist (default ``True``); else that is
    #: :class:`~kg_memory.errors.StoreNotFoundError`.
    create: bool
    #: a backend registered in :data:`kg_memory.store.BACKENDS` (``--backend``)
    backend: str | None


@dataclass(frozen=True)
class Settings:
    """Resolved settings for opening a :class:`kg_memory.Memory`."""

    store_dir: Path
    namespace: str = DEFAULT_NAMESPACE
    neo4j: Neo4jConfig | None = None
    embedder: str = "minilm"
    create: bool = True
    #: the backend asked for by name (``None``: Neo4j with a URI, else embedded)
    backend: str | None = None
    #: ``store_dir`` was given as an argument (``--store``), not taken from the defaults
    store_given: bool = False

    @classmethod
    def resolve(
        cls,
        store_dir: str | Path | None = None,
        *,
        embedder: str | None = None,
        **where: Unpack[Location],
    ) -> Settings:
        """Settings from the arguments, then the environment, then the defaults."""
        ns = where.get("namespace") or os.environ.get("KG_MEMORY_NAMESPACE") or DEFAULT_NAMESPACE
        return cls(
            store_dir=EmbeddedConfig.from_env(store_dir).path,
            namespace=check_namespace(ns),
            neo4j=Neo4jConfig.from_env(where.get("neo4j_uri")),
            embedder=embedder or os.environ.get("KG_MEMORY_EMBEDDER", "minilm"),
            create=where.get("create", True),
            backend=where.get("backend") or os.environ.get("KG_MEMORY_BACKEND") or None,
            store_given=store_dir is not None,
        )

    @property
    def store(self) -> StoreConfig:
        """The store to open: the named ``backend``, else Neo4j when a URI is set, else the
        embedded store (see the module docstring)."""
        name = self.backend or (Neo4jConfig.backend if self.neo4j else EmbeddedConfig.backend)
        config: StoreConfig | None
        if name == EmbeddedConfig.backend:
            config = EmbeddedConfig(self.store_dir, create=self.create)
        elif name == Neo4jConfig.backend:
            config = self.neo4j
        else:
            from kg_memory.store import backend_class  # the registry imports this module

            config = backend_class(name).config_class.from_env()
            if config is not None:
                config = config.creating(self.create)
                config = config.at(self.store_dir) if self.store_given else config
        if config is None:
            how = (
                "give --neo4j URI or set KG_MEMORY_NEO4J_URI"
                if name == Neo4jConfig.backend
                else "set what its config class's from_env() reads"
            )
            raise ConfigError(f"the {name} store backend is not configured: {how}")
        return config
