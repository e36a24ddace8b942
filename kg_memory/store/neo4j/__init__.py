"""The Neo4j store: :class:`Neo4jStore` (needs a Neo4j 5.26+ server).

Modules: ``store`` (the facade), ``connection``, ``schema``, ``rows``, ``cypher``,
``fulltext``, ``writes``, ``reads``, ``search``, ``explorer``; ``NOTES.md`` holds
the performance measurements.
"""

from kg_memory.store.neo4j.store import Neo4jStore

__all__ = ["Neo4jStore"]
