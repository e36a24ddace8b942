"""Storage backends, registered by name.

>>> sorted(BACKENDS)
['embedded', 'neo4j']
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from kg_memory.config import Neo4jConfig
from kg_memory.store.base import Store

#: backend name -> "module:Class", imported lazily (the neo4j driver only when used).
BACKENDS: dict[str, str] = {
    "embedded": "kg_memory.store.embedded.store:EmbeddedStore",
    "neo4j": "kg_memory.store.neo4j.store:Neo4jStore",
}


def backend_class(name: str) -> type[Store]:
    module, cls = BACKENDS[name].split(":")
    return getattr(import_module(module), cls)  # type: ignore[no-any-return]


def open_store(store_dir: str | Path | None = None, neo4j: Neo4jConfig | None = None) -> Store:
    """Open Neo4j when ``neo4j`` is given, else the embedded store at ``store_dir``."""
    if neo4j is not None:
        return backend_class("neo4j")(neo4j)  # type: ignore[call-arg]
    from kg_memory.config import default_store_dir

    return backend_class("embedded")(Path(store_dir) if store_dir else default_store_dir())  # type: ignore[call-arg]


__all__ = ["BACKENDS", "Store", "backend_class", "open_store"]
