"""The embedded (SQLite) store: :class:`EmbeddedStore`.

Modules: ``store`` (the facade), ``schema`` (tables and migrations),
``connection`` (the SQLite connection, transactions, caches), ``writes``,
``reads``, ``search``.
"""

from kg_memory.store.embedded.store import EmbeddedStore

__all__ = ["EmbeddedStore"]
