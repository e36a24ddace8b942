"""kg-memory: graph-structured long-term memory for conversational agents.

>>> from kg_memory import Memory
"""

from kg_memory.errors import KGMemoryError
from kg_memory.memory import Memory
from kg_memory.retrieval.evidence import Answer, Evidence

__version__ = "0.1.0"

__all__ = ["Answer", "Evidence", "KGMemoryError", "Memory", "__version__"]
