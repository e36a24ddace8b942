"""What a scale run measures besides time: disk size, peak memory, ingest windows."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def disk_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (0 when it does not exist)."""
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).stat().st_size
            except OSError:  # a file a server rotated away meanwhile
                continue
    return total


def self_peak_rss_bytes() -> int:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def process_peak_rss_bytes(pid: int) -> int | None:
    """Peak resident memory (``VmHWM``) of process ``pid``, None when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def neo4j_home() -> Path:
    """The local test server's home (``scripts/neo4j-server``'s default)."""
    return Path(os.environ.get("KG_MEMORY_NEO4J_HOME", "build/neo4j"))


def neo4j_server_pid(home: Path) -> int | None:
    """The pid ``scripts/neo4j-server`` recorded under ``home``, if any."""
    try:
        return int((home / "neo4j.pid").read_text().strip())
    except (OSError, ValueError):
        return None


@dataclass
class IngestClock:
    """Ingest time per stage in all, and turns/s per window of ``window`` turns."""

    window: int
    turns: int = 0
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    windows: list[dict[str, Any]] = field(default_factory=list)
    _w_turns: int = 0
    _w_seconds: float = 0.0

    def add(self, turns: int, seconds: float, stages: dict[str, float]) -> None:
        """One ingest call: its turns, wall seconds and stage seconds."""
        self.turns += turns
        self.seconds += seconds
        self._w_turns += turns
        self._w_seconds += seconds
        for name, sec in stages.items():
            self.stage_seconds[name] = self.stage_seconds.get(name, 0.0) + sec
        if self._w_turns >= self.window:
            self.close_window()

    def close_window(self) -> None:
        """Record the open window (at the memory's size now)."""
        if not self._w_turns:
            return
        self.windows.append(
            {
                "size_turns": self.turns,
                "turns": self._w_turns,
                "seconds": round(self._w_seconds, 3),
                "turns_per_s": round(self._w_turns / self._w_seconds, 1)
                if self._w_seconds > 0
                else None,
            }
        )
        self._w_turns, self._w_seconds = 0, 0.0

    def summary(self) -> dict[str, Any]:
        """Totals, the stage split and the windows."""
        self.close_window()
        total = sum(self.stage_seconds.values()) or 1.0
        return {
            "turns": self.turns,
            "seconds": round(self.seconds, 3),
            "turns_per_s": round(self.turns / self.seconds, 1) if self.seconds > 0 else None,
            "last_window_turns_per_s": self.windows[-1]["turns_per_s"] if self.windows else None,
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "stage_share": {k: round(v / total, 4) for k, v in self.stage_seconds.items()},
            "windows": self.windows,
        }
