"""The Neo4j store: :class:`Neo4jStore` (needs a Neo4j 5.26+ server)."""

from kg_memory.store.neo4j.store import Neo4jStore

__all__ = ["Neo4jStore"]
