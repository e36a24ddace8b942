"""What every LoCoMo benchmark run is told (``bench locomo`` and ``bench scale``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console


@dataclass(frozen=True)
class BenchOptions:
    """One run over LoCoMo: its data (``limit``: only the first N conversations), the
    kg-memory ``stages`` and store (Neo4j at ``neo4j_uri``, else embedded), where the
    results go and where progress is printed (default: stderr)."""

    data_dir: str | Path
    out_dir: str | Path
    stages: str = "all"
    limit: int | None = None
    neo4j_uri: str | None = None
    console: Console = field(default_factory=lambda: Console(stderr=True))
