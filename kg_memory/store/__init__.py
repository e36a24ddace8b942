"""Storage backends, registered by name, all opened the same way.

Every backend is a subpackage with a :class:`~kg_memory.store.base.Store`
subclass whose constructor takes one :class:`~kg_memory.config.StoreConfig`
(its ``config_class``); :func:`open_store` picks the class by the config's
``backend``.

Adding a backend ``foo``:

1. ``kg_memory/store/foo/`` with a ``Store`` subclass: ``name = "foo"``,
   ``config_class``, ``__init__(config)`` (call ``self.check_config(config)``),
   every abstract method of :class:`~kg_memory.store.base.Store`, and
   ``supports_cypher = True`` if :meth:`~kg_memory.store.base.Store.cypher` runs
   queries. Shared helpers are in :mod:`kg_memory.store.common`. A backend whose
   work sits in ``writes``/``reads``/``search`` modules (as both built-in ones)
   subclasses :class:`~kg_memory.store.facade.ModuleStore` instead, which
   implements the abstract methods by calling them.
2. A ``StoreConfig`` subclass with ``backend = "foo"`` and a ``from_env()``
   classmethod (its settings from ``KG_MEMORY_*`` variables).
3. One line in :data:`BACKENDS`. The contract tests (``tests/store/test_contract.py``)
   then run on it, configured by ``from_env()``, and the front ends open it by
   name: ``--backend foo`` (CLI, server), ``KG_MEMORY_BACKEND=foo``,
   ``Memory.open(backend="foo")`` (:attr:`kg_memory.config.Settings.store`).

>>> {"embedded", "neo4j"} <= set(BACKENDS)
True
>>> from kg_memory.config import EmbeddedConfig
>>> with open_store(EmbeddedConfig(getfixture("tmp_path") / "m")) as store:
...     store.name, store.supports_cypher
('embedded', False)
"""

from __future__ import annotations

from importlib import import_module

from kg_memory.config import StoreConfig
from kg_memory.errors import ConfigError
from kg_memory.store.base import Store

#: backend name -> "module:Class", imported lazily (the neo4j driver only when used).
BACKENDS: dict[str, str] = {
    "embedded": "kg_memory.store.embedded:EmbeddedStore",
    "neo4j": "kg_memory.store.neo4j:Neo4jStore",
}


def backend_class(name: str) -> type[Store]:
    """The store class registered as ``name``."""
    if name not in BACKENDS:
        raise ConfigError(f"unknown store backend {name!r}; known: {', '.join(sorted(BACKENDS))}")
    module, cls = BACKENDS[name].split(":")
    store_cls: type[Store] = getattr(import_module(module), cls)
    return store_cls


def open_store(config: StoreConfig) -> Store:
    """Open the store ``config`` describes, with the backend registered as ``config.backend``."""
    return backend_class(config.backend)(config)


__all__ = ["BACKENDS", "Store", "backend_class", "open_store"]
