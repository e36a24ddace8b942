"""Where an export may be written: never into a store, never over a file that is not an export.

``kg-memory export <store>/memory.sqlite3`` once overwrote the store it was
exporting (and exited 0), and an export over an input file replaced the
conversation without a word. :func:`check_export_target` refuses both: a path
inside the embedded store's directory, and an existing file that is not a
kg-memory export of the same format (a previous export may be replaced).
"""

from __future__ import annotations

import json
from pathlib import Path

from kg_memory.errors import ConfigError


def _looks_like_export(path: Path, fmt: str) -> bool:
    """Whether the existing file ``path`` is a kg-memory export in ``fmt``."""
    try:
        with path.open("r", encoding="utf-8") as fh:
            head = fh.read(4096)
    except (OSError, UnicodeDecodeError):
        return False
    if fmt == "jsonl":
        first = head.split("\n", 1)[0]
        try:
            rec = json.loads(first) if first.strip() else None
        except ValueError:
            return False
        return rec is None or (
            isinstance(rec, dict) and rec.get("type") in ("header", "node", "edge")
        )
    if fmt == "graphml":
        return "<graphml" in head
    return "kg-memory" in head or "@prefix kgm:" in head


def check_export_target(path: str | Path, fmt: str, store_dir: Path | None) -> Path:
    """``path`` if an export in ``fmt`` may be written there, else a :class:`ConfigError`.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> check_export_target(d / "store" / "memory.sqlite3", "jsonl", d / "store")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    kg_memory.errors.ConfigError: refusing to export into the store directory ...
    """
    target = Path(path).expanduser()
    resolved = target.resolve()
    if store_dir is not None:
        root = Path(store_dir).expanduser().resolve()
        if resolved == root or root in resolved.parents:
            raise ConfigError(
                f"refusing to export into the store directory {root}: "
                f"{target} would overwrite or sit beside the store; choose a path outside it"
            )
    if resolved.exists():
        if not resolved.is_file():
            raise ConfigError(f"cannot export to {target}: it exists and is not a file")
        if not _looks_like_export(resolved, fmt):
            raise ConfigError(
                f"refusing to overwrite {target}: it exists and is not a kg-memory {fmt} "
                "export (an input file?); remove it or choose another path"
            )
    return target
