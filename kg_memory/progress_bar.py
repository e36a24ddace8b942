"""The one progress-bar layout of the CLI's ingest and the benchmarks (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def progress_bar(console: Console, *, label_width: int, disable: bool = False) -> Progress:
    """Task label (padded to ``label_width``), bar, done/total and elapsed time, on
    ``console``; the finished bars stay on screen."""
    return Progress(
        TextColumn(f"[bold]{{task.description:<{label_width}}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=disable,
        transient=False,
    )
