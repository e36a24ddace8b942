"""``scale.json`` (every run so far, by store and size) and ``scale.md`` rendered from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from kg_memory.bench.metrics import fmt

GROUPS = ("multi-hop", "temporal", "open-domain", "single-hop", "cat1-4")
MB = 1024 * 1024


def merge_runs(path: Path, run: dict[str, Any]) -> dict[str, Any]:
    """Add ``run`` to the report at ``path`` (replacing one of the same store and size),
    write it, and return it."""
    report: dict[str, Any] = {"benchmark": "scale", "runs": []}
    if path.is_file():
        report = json.loads(path.read_text("utf-8"))
    runs = [r for r in report["runs"] if (r["store"], r["turns"]) != (run["store"], run["turns"])]
    runs.append(run)
    report["runs"] = sorted(runs, key=lambda r: (r["store"], r["turns"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return report


def _mb(x: int | None) -> str:
    return "–" if x is None else f"{x / MB:,.0f}"


def row(run: dict[str, Any]) -> list[str]:
    """One run's line of the curve table."""
    ing, ask, m = run["ingest"], run["ask"], run["metrics"]
    load = run["machine"].get("loadavg_start") or run["machine"].get("loadavg")
    return [
        run["store"],
        f"{run['turns']:,}",
        fmt(ing["turns_per_s"], 1),
        fmt(ing["last_window_turns_per_s"], 1),
        fmt(ask["p50_ms"], 1),
        fmt(ask["p95_ms"], 1),
        fmt(m["cat1-4"]["recall@10"]),
        _mb(run["store_bytes"]),
        _mb(run["peak_rss_bytes"]),
        _mb(run.get("server_peak_rss_bytes")),
        "–" if not load else f"{load[0]:.1f}",
    ]


HEADER = [
    "store",
    "turns",
    "ingest turns/s",
    "at size (last 5%)",
    "ask p50 ms",
    "ask p95 ms",
    "R@10 cat1-4",
    "disk MB",
    "peak RSS MB",
    "server RSS MB",
    "load",
]


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def pool_line(runs: list[dict[str, Any]]) -> list[str]:
    """Where the distractors come from: the pool's size at each seed used."""
    from kg_memory.bench.scale.generator import POOL_CONVERSATIONS, pool_turns

    seeds = sorted({r["config"]["seed"] for r in runs})
    sizes = ", ".join(f"{pool_turns(sd):,} turns at seed {sd}" for sd in seeds)
    return [
        f"Distractors come from a fixed pool of {POOL_CONVERSATIONS} generated conversations "
        f"({sizes}); above that, texts repeat under new conversation ids.",
        "",
    ]


def load_notes(runs: list[dict[str, Any]]) -> list[str]:
    """One line per run made on a loaded machine (load average above its cores)."""
    out = []
    for r in runs:
        load = r["machine"].get("loadavg_start") or [0.0]
        cores = r["machine"].get("available_cores") or 1
        if load[0] > cores:
            out.append(
                f"* {r['store']} {r['turns']:,}: **loaded machine** (load {load[0]:.1f} on "
                f"{cores} cores at the start): its times are slow by a large, uneven factor."
            )
    return [*out, ""] if out else []


def render_markdown(report: dict[str, Any]) -> str:
    """The curve table, recall per category, the ingest stage split and the windows."""
    runs = report["runs"]
    lines = [
        "# Scale: LoCoMo in a haystack of distractor conversations",
        "",
        "Made by `kg-memory bench scale --turns N [--neo4j URI] --out DIR`; every question of",
        "LoCoMo categories 1-4 asked with no conversation filter; recall on",
        "`<conversation>/<turn id>`. `load` is the 1-minute load average at the start",
        "(the machine is 2 cores shared with other jobs).",
        "",
        *pool_line(runs),
        *_md_table(HEADER, [row(r) for r in runs]),
        "",
        *load_notes(runs),
        "## recall@10 per category",
        "",
        *_md_table(
            ["store", "turns", *GROUPS],
            [
                [
                    r["store"],
                    f"{r['turns']:,}",
                    *(fmt(r["metrics"][g]["recall@10"]) for g in GROUPS),
                ]
                for r in runs
            ],
        ),
        "",
        "## ingest seconds per stage",
        "",
    ]
    stages = list(dict.fromkeys(s for r in runs for s in r["ingest"]["stage_seconds"]))
    lines += _md_table(
        ["store", "turns", *stages],
        [
            [r["store"], f"{r['turns']:,}"]
            + [fmt(r["ingest"]["stage_seconds"].get(s), 1) for s in stages]
            for r in runs
        ],
    )
    lines += ["", "## ingest turns/s by memory size (windows of N/20 turns)", ""]
    for r in runs:
        curve = ", ".join(
            f"{w['size_turns']:,}: {fmt(w['turns_per_s'], 0)}" for w in r["ingest"]["windows"]
        )
        lines.append(f"* {r['store']} {r['turns']:,}: {curve}")
    return "\n".join(lines) + "\n"


def print_run(run: dict[str, Any], report: dict[str, Any], console: Console) -> None:
    """Every run so far as a table (the curve), then this run's windows."""
    table = Table(title="kg-memory bench scale", title_justify="left")
    for h in HEADER:
        table.add_column(h, justify="left" if h == "store" else "right")
    for r in report["runs"]:
        table.add_row(*row(r))
    console.print(table)
    curve = ", ".join(
        f"{w['size_turns']:,}: {fmt(w['turns_per_s'], 0)}" for w in run["ingest"]["windows"]
    )
    console.print(f"ingest turns/s by size: {curve}", highlight=False)
