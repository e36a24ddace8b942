"""Event-relation edges for an independent judge, and their precision from the judgements.

``python -m kg_memory.ingest.eval_events sample [--out build/event_edges.jsonl]``
ingests, in memory with the current code and the real embedder, every
conversation the blind gold set (``tests/data/extraction_gold_blind.jsonl``)
draws from, keeps the event-relation edges that touch one of the set's
sessions, and writes a stratified random sample (every kind present, ``--n``
edges in all, fixed ``--seed``) in a judge-friendly form: the edge kind with a
plain-English definition, both events' text, their turns (speaker, session
date, text) and a stable ``key`` (the kind and both events' source turn ids).
No other system internals are written.

``python -m kg_memory.ingest.eval_events score [--judgements PATH]`` reads a
judgements file (JSON lines ``{"key": ..., "correct": true|false}``) and every
edge the current code produces in the set's sessions (or the edges of
``--edges``), and prints, per kind and overall, the precision over the judged
edges the code **still produces**, how many judged edges it **no longer
produces** (removed: counted neither right nor wrong, and reported with how
many of them had been judged right) and how many of its edges were never
judged (a changed extractor's new edges stay unjudged until judged again).
``make eval-extraction`` runs it when ``tests/data/event_judgements.jsonl``
exists; the exit code is 1 when the overall precision is below
:data:`TARGET_PRECISION`.

Kinds: ``NEXT`` (event order), ``CAUSES``, ``REFERS_BACK`` (an event that
returns to one of an earlier session; stored as ``SUBEVENT_OF`` with reason
back-reference) and ``PART_OF`` (a clause-level sub-event of its event;
``SUBEVENT_OF``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kg_memory.formats import load
from kg_memory.ingest.eval_extraction import DEFAULT_LOCOMO, REPO, check_frozen, scratch_store
from kg_memory.ingest.pipeline import IngestReport, Pipeline
from kg_memory.model import Edge, Node

BLIND_GOLD = REPO / "tests" / "data" / "extraction_gold_blind.jsonl"
JUDGEMENTS = REPO / "tests" / "data" / "event_judgements.jsonl"
DEFAULT_OUT = REPO / "build" / "event_edges.jsonl"
SEED = 14
SAMPLE_SIZE = 96
TARGET_PRECISION = 0.85

#: Each kind the judge sees, with its plain-English definition.
DEFINITIONS = {
    "NEXT": "Event B happens after event A in real-world time (where neither text says when, "
    "B being told after A counts as after).",
    "CAUSES": "Event A is a cause or reason of event B, as the text states or clearly implies.",
    "REFERS_BACK": "Event A, told later, returns to the same real-world happening as event B "
    "(told in an earlier session): A is about B or a continuation of it.",
    "PART_OF": "Event A is a part, step or aspect of the happening described by event B.",
}


def _kind(edge: Edge) -> str | None:
    if edge.type in ("NEXT", "CAUSES"):
        return edge.type
    if edge.type == "SUBEVENT_OF":
        return "REFERS_BACK" if edge.props.get("reason") == "back-reference" else "PART_OF"
    return None


def _gold_sessions(gold: Path) -> dict[str, set[int]]:
    wanted: dict[str, set[int]] = defaultdict(set)
    for line in gold.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            wanted[row["conversation"]].add(int(row["turn_id"][1:].split(":")[0]))
    return wanted


def event_edges(gold: Path, locomo: Path) -> list[dict[str, Any]]:
    """Every event-relation edge touching a session of ``gold``, in judge-friendly form."""
    from kg_memory.embed import get_embedder

    wanted = _gold_sessions(gold)
    with scratch_store() as store:  # empty: each conversation is processed alone
        pipe = Pipeline(store, get_embedder("minilm"), "eval-events", stages=("events",))
        return _edges(pipe, wanted, locomo)


def _edges(pipe: Pipeline, wanted: dict[str, set[int]], locomo: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: Counter[str] = Counter()
    for cid in sorted(wanted):
        conv = load(locomo / f"{cid}.json")[0]
        ctx = pipe.process(conv, IngestReport())
        turns = {t.raw.turn_id: t for t in ctx.turns}
        for edge in sorted(ctx.edges.values(), key=lambda e: e.key):
            kind = _kind(edge)
            a, b = ctx.nodes.get(edge.src), ctx.nodes.get(edge.dst)
            if kind is None or a is None or b is None or a.label != "Event":
                continue
            ta, tb = a.props["turn_ids"], b.props["turn_ids"]
            sessions = {int(t[1:].split(":")[0]) for t in (*ta, *tb)}
            if not sessions & wanted[cid]:
                continue
            key = f"{kind}|{cid}|{','.join(ta)}>{','.join(tb)}"
            seen[key] += 1  # two clause pairs of one turn: "#2" (edges in id order)
            key += f"#{seen[key]}" if seen[key] > 1 else ""
            out.append(
                {
                    "key": key,
                    "kind": kind,
                    "definition": DEFINITIONS[kind],
                    "conversation": cid,
                    "event_a": _event(a, turns),
                    "event_b": _event(b, turns),
                }
            )
    return out


def _event(node: Node, turns: dict[str, Any]) -> dict[str, Any]:
    """An event as the judge sees it: its text and its turns."""
    return {
        "text": node.props.get("description") or node.text,
        "turns": [
            {
                "turn_id": tid,
                "speaker": turns[tid].raw.speaker,
                "session_date": (turns[tid].date or "")[:10],
                "text": turns[tid].raw.text,
            }
            for tid in node.props["turn_ids"]
            if tid in turns
        ],
    }


def stratified(edges: list[dict[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` edges: an equal share per kind (a kind with fewer gives all and its rest is
    spread over the others), drawn with one seeded generator; sorted by key.

    >>> es = [{"key": f"{k}{i}", "kind": k} for k in "AB" for i in range(10 if k == "A" else 2)]
    >>> Counter(e["kind"] for e in stratified(es, 6, 1))
    Counter({'A': 4, 'B': 2})
    """
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in edges:
        by_kind[e["kind"]].append(e)
    rng = random.Random(seed)
    quota: dict[str, int] = {}
    left, kinds = n, sorted(by_kind, key=lambda k: len(by_kind[k]))
    for i, k in enumerate(kinds):
        quota[k] = min(len(by_kind[k]), left // (len(kinds) - i))
        left -= quota[k]
    picked = [e for k in sorted(by_kind) for e in rng.sample(by_kind[k], quota[k])]
    return sorted(picked, key=lambda e: e["key"])


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{no}: not JSON ({exc.msg})") from exc
    return rows


def score(edges: list[dict[str, Any]], judgements: list[dict[str, Any]]) -> dict[str, Any]:
    """Per kind and overall: precision over the judged edges still in ``edges``, the judged
    edges no longer produced (and how many of those were judged right), the unjudged ones.

    >>> es = [{"key": "NEXT|a", "kind": "NEXT"}, {"key": "CAUSES|b", "kind": "CAUSES"}]
    >>> js = [{"key": "NEXT|a", "correct": True}, {"key": "NEXT|z", "correct": False}]
    >>> score(es, js)["overall"]
    {'judged': 1, 'correct': 1, 'removed': 1, 'removed_correct': 0, 'unjudged': 1, 'precision': 1.0}
    """
    verdict = {str(j["key"]): bool(j["correct"]) for j in judgements}
    produced = {e["key"] for e in edges}
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    for e in edges:
        for k in (e["kind"], "overall"):
            if e["key"] in verdict:
                tally[k]["judged"] += 1
                tally[k]["correct"] += verdict[e["key"]]
            else:
                tally[k]["unjudged"] += 1
    for key, ok in verdict.items():
        if key not in produced:
            for k in (key.split("|", 1)[0], "overall"):
                tally[k]["removed"] += 1
                tally[k]["removed_correct"] += ok
    out: dict[str, Any] = {}
    for k in sorted(tally, key=lambda k: (k == "overall", k)):
        c = tally[k]
        out[k] = {f: c[f] for f in ("judged", "correct", "removed", "removed_correct", "unjudged")}
        out[k]["precision"] = c["correct"] / c["judged"] if c["judged"] else None
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=("sample", "score"))
    ap.add_argument("--gold", type=Path, default=BLIND_GOLD)
    ap.add_argument("--locomo", type=Path, default=DEFAULT_LOCOMO)
    ap.add_argument("--n", type=int, default=SAMPLE_SIZE)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument(
        "--edges", type=Path, help="score these edges (JSON lines) instead of the current code's"
    )
    ap.add_argument("--judgements", type=Path, default=JUDGEMENTS)
    args = ap.parse_args(argv)
    if args.command == "score":
        edges = _read_jsonl(args.edges) if args.edges else event_edges(args.gold, args.locomo)
        return _print_score(edges, args.judgements)
    sample = stratified(event_edges(args.gold, args.locomo), args.n, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        for e in sample:
            fh.write(json.dumps(e, ensure_ascii=False) + "\n")
    counts = Counter(e["kind"] for e in sample)
    print(
        f"{args.out}: {len(sample)} edges ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})"
    )
    return 0


def _print_score(edges: list[dict[str, Any]], judgements: Path) -> int:
    check_frozen(judgements)
    res = score(edges, _read_jsonl(judgements))
    for k, c in res.items():
        p = "n/a" if c["precision"] is None else f"{c['precision']:.3f}"
        print(
            f"  events {k}: precision={p} ({c['correct']}/{c['judged']} judged edges still "
            f"produced; {c['removed']} judged edges no longer produced, {c['removed_correct']} "
            f"of them judged right; {c['unjudged']} produced edges unjudged)"
        )
    overall = res.get("overall", {}).get("precision")
    ok = overall is not None and overall >= TARGET_PRECISION
    shown = "n/a" if overall is None else f"{overall:.3f}"
    print(
        f"event-relation precision {shown} >= {TARGET_PRECISION} "
        f"(on the judged edges still produced): {'met' if ok else 'NOT MET'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
