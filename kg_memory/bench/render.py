"""The LoCoMo report as terminal tables, markdown, and per-question lines.

The tables and markdown read the JSON report that :func:`kg_memory.bench.locomo.run_locomo_bench`
writes (``locomo.json``), so a saved report renders the same as a fresh one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from kg_memory.bench.dataset import BenchQuestion
from kg_memory.bench.metrics import fmt
from kg_memory.bench.ranker import render_markdown as ranker_markdown
from kg_memory.bench.systems import SYSTEMS, SystemRun

#: The groups of the per-category table, in display order.
CATEGORY_COLUMNS = (
    "multi-hop",
    "temporal",
    "open-domain",
    "single-hop",
    "adversarial",
    "cat1-4",
    "all",
)
_SHORT = {
    "multi-hop": "multi-\nhop",
    "open-domain": "open-\ndomain",
    "single-hop": "single-\nhop",
    "adversarial": "adver-\nsarial",
}


def category_rows(report: dict[str, Any], k: int) -> list[list[str]]:
    """Per system: recall@``k`` of each group of :data:`CATEGORY_COLUMNS`."""
    m = report["metrics"]
    return [
        [n, *(fmt(m[n][g][f"recall@{k}"]) for g in CATEGORY_COLUMNS)] for n in SYSTEMS if n in m
    ]


def k_rows(report: dict[str, Any], group: str) -> list[list[str]]:
    """Per system: recall@k for every k, then hit@k for every k, over ``group``."""
    m, ks = report["metrics"], report["config"]["ks"]
    return [
        [
            n,
            *(fmt(m[n][group][f"recall@{k}"]) for k in ks),
            *(fmt(m[n][group][f"hit@{k}"]) for k in ks),
        ]
        for n in SYSTEMS
        if n in m
    ]


def throughput_lines(report: dict[str, Any]) -> list[str]:
    """The machine, raw rates, ingest and store-write rates of the report."""
    t, mach = report["throughput"], report["machine"]
    shares = ", ".join(
        f"{s} {t['stage_seconds'][s]:.1f}s ({100 * (v or 0):.0f}%)"
        for s, v in t["stage_share"].items()
    )
    lines = [
        f"machine: {mach['available_cores']} cores available (nproc {mach['nproc']}), "
        f"torch threads "
        f"{mach['torch_threads']}, load average {mach['loadavg_start']} -> {mach['loadavg_end']}",
        f"raw embedding ({report['config']['embedder']}): {fmt(t['embed_turns_per_s'], 1)} turns/s; "
        f"raw spaCy nlp.pipe: {fmt(t['spacy_turns_per_s'], 1)} turns/s; "
        f"bound 1/(1/embed+1/spacy): {fmt(t['bound_turns_per_s'], 1)} turns/s",
        f"kg-memory ingest (embedded store, stages {','.join(report['config']['stages'])}): "
        f"{fmt(t['kg_memory_ingest_turns_per_s'], 1)} turns/s = "
        f"{fmt(t['ingest_over_embed'], 2)} x embedding, "
        f"{fmt(t['ingest_over_bound'], 2)} x bound",
        f"ingest time by stage: {shares}; outside stages {t['unstaged_seconds']:.1f}s",
        "store write only (embedding excluded): "
        f"embedded {fmt(t['embedded_write_turns_per_s'], 0)} turns/s",
    ]
    if "neo4j_write_turns_per_s" in t:
        lines[-1] += f", neo4j {fmt(t['neo4j_write_turns_per_s'], 0)} turns/s"
        lines.append(
            f"neo4j vs embedded: the same top-{report['config']['ask_k']} turn ids in the same "
            f"order for {t['neo4j_same_top_k']} of {t['neo4j_compared']} questions"
        )
    elif t.get("neo4j_error"):
        lines.append(f"neo4j: failed ({t['neo4j_error']})")
    return lines


def latency_lines(report: dict[str, Any]) -> list[str]:
    """Ask latency per system, the Neo4j/embedded ratio, and the wall time."""
    lat = report["latency"]
    lines = [
        f"ask latency {name}: p50 {fmt(s['p50_ms'], 1)} ms, "
        f"p95 {fmt(s['p95_ms'], 1)} ms (n={s['n']})"
        for name, s in lat.items()
    ]
    emb, neo = lat.get("kg-memory"), lat.get("kg-memory@neo4j")
    if emb and neo and emb.get("p50_ms"):
        lines.append(
            f"ask p50 neo4j / embedded: {fmt(neo['p50_ms'] / emb['p50_ms'], 2)} (same run)"
        )
    lines.append(f"wall time: {report['wall_seconds']:.1f} s")
    return lines


def speed_lines(report: dict[str, Any]) -> list[str]:
    """The report's speed section, one line each."""
    return [*throughput_lines(report), *latency_lines(report)]


def verdict_line(report: dict[str, Any]) -> str:
    """kg-memory's recall@10 over categories 1-4 against the best flat baseline's."""
    s = report["summary"]
    return (
        f"kg-memory recall@10 (cat 1-4): {fmt(s['kg_memory_recall@10_cat1-4'])} "
        "vs best flat baseline "
        f"{fmt(s['best_baseline_recall@10_cat1-4'])} ({s['best_baseline']}): {s['verdict']}"
    )


def _group_sizes(report: dict[str, Any]) -> dict[str, int]:
    return {g: report["metrics"]["kg-memory"][g]["n"] for g in CATEGORY_COLUMNS}


def print_report(report: dict[str, Any], console: Console) -> None:
    """Tables and speed lines on ``console``; the last line is the verdict."""
    c, n = report["counts"], _group_sizes(report)
    t1 = Table(
        title=f"LoCoMo turn-level evidence recall@10 ({c['questions_with_gold']} questions)",
        box=box.SIMPLE_HEAD,
    )
    t1.add_column("system", no_wrap=True)
    for g in CATEGORY_COLUMNS:
        t1.add_column(f"{_SHORT.get(g, g)}\nn={n[g]}", justify="right")
    for row in category_rows(report, 10):
        t1.add_row(*row)
    console.print(t1)
    ks = report["config"]["ks"]
    for group in ("cat1-4", "all"):
        t2 = Table(title=f"recall@k / hit@k, {group}", box=box.SIMPLE_HEAD)
        t2.add_column("system", no_wrap=True)
        for k in ks:
            t2.add_column(f"R@{k}", justify="right")
        for k in ks:
            t2.add_column(f"H@{k}", justify="right")
        for row in k_rows(report, group):
            t2.add_row(*row)
        console.print(t2)
    if "ranker" in report:
        console.print(ranker_markdown(report["ranker"], report["metrics"]["kg-memory"]))
    for line in speed_lines(report):
        console.print(line, highlight=False)
    console.print(verdict_line(report), highlight=False)


def md_table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table.

    >>> print(md_table(["a", "b"], [["1", "2"]]))
    | a | b |
    |---|---|
    | 1 | 2 |
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def render_markdown(report: dict[str, Any]) -> str:
    """The report as markdown tables."""
    c, ks, n = report["counts"], report["config"]["ks"], _group_sizes(report)
    parts = [
        "# LoCoMo evidence retrieval",
        "",
        f"{report['date']} · {c['conversations']} conversations, {c['turns']} turns, "
        f"{c['questions_with_gold']} questions with gold evidence ({c['questions_without_gold']} "
        f"without, {c['malformed_evidence_entries']} malformed evidence entries) · "
        "kg-memory stages: "
        f"{', '.join(report['config']['stages'])} · embedder {report['config']['embedder']}",
        "",
        "Budget: the first k distinct source turn ids of each system's ranked evidence. "
        "Baselines: one document per turn, same text as kg-memory indexes.",
        "",
        "## Turn-level evidence recall@10 per category",
        "",
        md_table(
            ["system", *(f"{g} (n={n[g]})" for g in CATEGORY_COLUMNS)], category_rows(report, 10)
        ),
    ]
    for group in ("cat1-4", "all"):
        parts += [
            "",
            f"## recall@k / hit@k ({group})",
            "",
            md_table(
                ["system", *(f"R@{k}" for k in ks), *(f"H@{k}" for k in ks)], k_rows(report, group)
            ),
        ]
    if "ranker" in report:
        parts += ["", ranker_markdown(report["ranker"], report["metrics"]["kg-memory"])]
    parts += ["", "## Speed", ""]
    parts += [f"- {line}" for line in speed_lines(report)]
    parts += ["", f"**{verdict_line(report)}**", ""]
    return "\n".join(parts)


def question_lines(
    questions: list[BenchQuestion], runs: Mapping[str, SystemRun]
) -> Iterator[dict[str, Any]]:
    """One ``locomo-questions.jsonl`` record per question: its gold and each system's top."""
    for q in questions:
        yield {
            "conversation": q.conversation,
            "qa_index": q.index,
            "category": q.category,
            "question": q.question,
            "gold": sorted(q.gold),
            "top": {n: list(r.top(q)) for n, r in runs.items() if not r.error and r.ranked},
        }
