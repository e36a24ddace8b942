"""The embedded (SQLite) store: :class:`EmbeddedStore`."""

from kg_memory.store.embedded.store import EmbeddedStore

__all__ = ["EmbeddedStore"]
