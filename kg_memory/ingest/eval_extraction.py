"""Score the ``entities``, ``time`` and ``triples`` stages against the hand-annotated gold set.

Run ``python -m kg_memory.ingest.eval_extraction [--gold PATH] [--locomo DIR] [-v]``.

For every (conversation, session) of the gold file the whole session is run
through the stages (so speakers, pronouns and dates have their context);
conversations are processed one after the other against one in-memory
namespace (entities of earlier conversations are visible to later ones, as in
a real memory); only the gold turns are scored. Guidelines and matching rules:
``tests/data/README.md``.

* **entities**: per turn, the set of (normalised surface text, normalised
  canonical name) of non-pronoun, non-CONCEPT mentions vs. the gold set.
* **triples**: lenient one-to-one matching: subject canonical (or the head
  word of a concept subject), main verb of the predicate after
  :data:`SYNONYMS`, object head word (naive singular), negation.
* **dates**: accuracy = gold expressions with an overlapping system mention
  of exactly the same interval; precision is reported too.

The last line says whether every target is met (entity F1 >= 0.85, triple
precision >= 0.75 at recall >= 0.5, date accuracy >= 0.9); the exit code is 1
when one is not.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kg_memory.embed import HashEmbedder
from kg_memory.formats import load
from kg_memory.formats.model import RawConversation
from kg_memory.ids import stable_id
from kg_memory.ingest import turns as turns_stage
from kg_memory.ingest.context import IngestContext
from kg_memory.ingest.entities import normalise
from kg_memory.ingest.registry import stage
from kg_memory.model import Node

REPO = Path(__file__).resolve().parents[2]
DEFAULT_GOLD = REPO / "tests" / "data" / "extraction_gold.jsonl"
DEFAULT_LOCOMO = REPO.parent / "shared" / "data" / "locomo"

TARGET_ENTITY_F1 = 0.85
TARGET_TRIPLE_P = 0.75
TARGET_TRIPLE_R = 0.5
TARGET_DATE_ACC = 0.9

#: Predicate main-verb synonyms (both sides are mapped before comparing).
SYNONYMS: dict[str, str] = {
    "get": "have",  # "I've got a dog" / "I have a dog"
    "own": "have",
    "chat": "talk",
    "speak": "talk",
    "attend": "go",
    "visit": "go",
    "adore": "love",
    "enjoy": "like",
    "begin": "start",
    "launch": "start",
    "complete": "finish",
    "wrap": "finish",
}
#: Particles and prepositions dropped when taking a predicate's main verb.
_FUNCTION = frozenset(
    [
        "to",
        "into",
        "in",
        "on",
        "at",
        "of",
        "for",
        "from",
        "with",
        "about",
        "by",
        "up",
        "out",
        "off",
        "down",
        "over",
        "through",
        "towards",
        "toward",
        "after",
        "around",
        "away",
        "back",
        "along",
        "across",
        "under",
        "onto",
        "upon",
        "as",
        "like",
    ]
)


def main_verb(pred: str) -> str:
    """``"want_start"`` -> ``"start"``; ``"go_to"`` -> ``"go"``.

    >>> main_verb("start_look_for"), main_verb("wrap_up"), main_verb("be_in")
    ('look', 'finish', 'be')
    """
    parts = [p for p in pred.lower().split("_") if p and p not in _FUNCTION]
    if not parts:
        return pred.lower()
    v = parts[-1]
    return SYNONYMS.get(v, v)


def head_word(text: str) -> str:
    """Last token of the normalised text, naively singularised.

    >>> head_word("support groups"), head_word("the kids"), head_word("class")
    ('group', 'kid', 'class')
    """
    toks = normalise(text).split()
    if not toks:
        return ""
    w = toks[-1]
    if len(w) > 3 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


class _MemoryStore:
    """The one store call the stages make (``find_nodes``), over an in-memory namespace."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}

    def find_nodes(self, namespace: str, label: str, **_: Any) -> list[Node]:
        return sorted(
            (n for n in self.nodes.values() if n.namespace == namespace and n.label == label),
            key=lambda n: n.id,
        )


def _load_gold(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_stages(
    convs: Sequence[RawConversation], namespace: str = "eval"
) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, float], int]:
    """Run entities/time/triples on each conversation; per-turn outputs, stage seconds, turns."""
    from kg_memory.nlp import load_nlp

    nlp = load_nlp()
    store = _MemoryStore()
    embedder = HashEmbedder()
    out: dict[tuple[str, str], dict[str, Any]] = {}
    secs: dict[str, float] = defaultdict(float)
    n_turns = 0
    for conv in convs:
        ctx = IngestContext(
            namespace=namespace,
            conversation=conv,
            conversation_node_id=stable_id("conversation", namespace, conv.conversation_id),
            store=store,  # type: ignore[arg-type]
            embedder=embedder,
        )
        turns_stage.build(ctx)
        t0 = time.perf_counter()
        ctx.docs = list(nlp.pipe((t.raw.text for t in ctx.turns), batch_size=128))
        secs["parse"] += time.perf_counter() - t0
        for name in ("entities", "time", "triples"):
            t0 = time.perf_counter()
            stage(name).run(ctx)
            secs[name] += time.perf_counter() - t0
        n_turns += len(ctx.turns)
        for node in ctx.nodes.values():
            store.nodes[node.id] = node
        ents = ctx.artifacts.entities or {}
        mentions, times = ctx.artifacts.mentions or [], ctx.artifacts.times or []
        by_turn: dict[int, list[Any]] = defaultdict(list)
        for f in ctx.artifacts.facts or []:
            by_turn[f.turn_index].append(f)
        for ti, rec in enumerate(ctx.turns):
            out[(conv.conversation_id, rec.raw.turn_id)] = {
                "text": rec.raw.text,
                "entities": {
                    (normalise(m.text), normalise(ents[m.entity_id].name)): m
                    for m in mentions[ti]
                    if not m.pronoun and ents[m.entity_id].type != "CONCEPT"
                },
                "facts": [
                    (ents[f.subject_id].name, f.predicate, f.object_text, f.negated)
                    for f in by_turn[ti]
                ],
                "times": times[ti],
            }
    return out, dict(secs), n_turns


def _prf(tp: int, n_sys: int, n_gold: int) -> tuple[float, float, float]:
    p = tp / n_sys if n_sys else 1.0
    r = tp / n_gold if n_gold else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def _triple_match(g: dict[str, Any], s: tuple[str, str, str, bool]) -> bool:
    subj, pred, obj, neg = s
    gs = normalise(g["subject"])
    subj_ok = normalise(subj) == gs or head_word(subj) == head_word(g["subject"])
    return (
        subj_ok
        and main_verb(pred) == main_verb(g["predicate"])
        and head_word(obj) == head_word(g["object"])
        and bool(neg) == bool(g["negated"])
    )


@dataclass
class _Tally:
    """Counts of one scored part: matched, system, gold (dates: also system-matched)."""

    tp: int = 0
    sys: int = 0
    gold: int = 0
    sys_ok: int = 0


def _score_entities(row: dict[str, Any], so: dict[str, Any], n: _Tally, log: list[str]) -> None:
    tag = f"{row['conversation']} {row['turn_id']}"
    gset = {(normalise(e["text"]), normalise(e["canonical"])) for e in row["entities"]}
    sset = set(so["entities"])
    n.tp += len(gset & sset)
    n.sys += len(sset)
    n.gold += len(gset)
    log.extend(f"{tag} ENT FP {x}" for x in sorted(sset - gset))
    log.extend(f"{tag} ENT FN {x}" for x in sorted(gset - sset))


def _score_triples(row: dict[str, Any], so: dict[str, Any], n: _Tally, log: list[str]) -> None:
    tag = f"{row['conversation']} {row['turn_id']}"
    sys_facts = list(dict.fromkeys(so["facts"]))
    used: set[int] = set()
    for g in row["triples"]:
        hit = next(
            (i for i, s in enumerate(sys_facts) if i not in used and _triple_match(g, s)), None
        )
        if hit is None:
            log.append(f"{tag} TRI FN {g['subject']}|{g['predicate']}|{g['object']}|{g['negated']}")
        else:
            used.add(hit)
    for i, s in enumerate(sys_facts):
        if i not in used:
            log.append(f"{tag} TRI FP {s[0]}|{s[1]}|{s[2]}|{s[3]}")
    n.tp += len(used)
    n.sys += len(sys_facts)
    n.gold += len(row["triples"])


def _score_dates(row: dict[str, Any], so: dict[str, Any], n: _Tally, log: list[str]) -> None:
    tag = f"{row['conversation']} {row['turn_id']}"
    text = row["text"]
    matched: set[int] = set()
    for g in row["dates"]:
        n.gold += 1
        gs = text.find(g["text"])
        ge = gs + len(g["text"])
        ok = False
        for i, tm in enumerate(so["times"]):
            if tm.start < ge and gs < tm.end and tm.begin == g["begin"] and tm.end_date == g["end"]:
                ok = True
                matched.add(i)
                break
        n.tp += ok
        if not ok:
            got = [(t.text, t.begin, t.end_date) for t in so["times"]]
            log.append(f"{tag} DATE MISS {g['text']} {g['begin']}..{g['end']} got {got}")
    for i, tm in enumerate(so["times"]):
        n.sys += 1
        if i in matched:
            n.sys_ok += 1
        elif not any(
            tm.start < text.find(g["text"]) + len(g["text"]) and text.find(g["text"]) < tm.end
            for g in row["dates"]
        ):
            log.append(f"{tag} DATE FP {tm.text} {tm.begin}..{tm.end_date}")


def _prf_dict(n: _Tally) -> dict[str, Any]:
    p, r, f = _prf(n.tp, n.sys, n.gold)
    return {"precision": p, "recall": r, "f1": f, "tp": n.tp, "sys": n.sys, "gold": n.gold}


def evaluate(gold: list[dict[str, Any]], locomo_dir: Path, verbose: bool = False) -> dict[str, Any]:
    """Run the stages on the sessions the gold set annotates and score them."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for row in gold:
        wanted[row["conversation"]].add(int(row["turn_id"][1:].split(":")[0]))
    convs = []
    for cid in sorted(wanted):
        conv = load(locomo_dir / f"{cid}.json")[0]
        convs.append(
            replace(conv, sessions=tuple(s for s in conv.sessions if s.index in wanted[cid]))
        )
    sysout, secs, n_turns = run_stages(convs)
    ents, tris, dates = _Tally(), _Tally(), _Tally()
    log: list[str] = []
    for row in gold:
        so = sysout[(row["conversation"], row["turn_id"])]
        _score_entities(row, so, ents, log)
        _score_triples(row, so, tris, log)
        _score_dates(row, so, dates, log)
    return {
        "turns_scored": len(gold),
        "turns_processed": n_turns,
        "entities": _prf_dict(ents),
        "triples": _prf_dict(tris),
        "dates": {
            "accuracy": dates.tp / dates.gold if dates.gold else 1.0,
            "precision": dates.sys_ok / dates.sys if dates.sys else 1.0,
            "correct": dates.tp,
            "gold": dates.gold,
            "sys": dates.sys,
        },
        "ms_per_turn": {k: 1000 * v / max(n_turns, 1) for k, v in secs.items()},
        "log": log,
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    ap.add_argument("--locomo", type=Path, default=DEFAULT_LOCOMO)
    ap.add_argument("-v", "--verbose", action="store_true", help="print every error")
    args = ap.parse_args(argv)
    res = evaluate(_load_gold(args.gold), args.locomo, args.verbose)
    if args.verbose:
        for line in res["log"]:
            print(line)
    e, t, d = res["entities"], res["triples"], res["dates"]
    print(f"turns scored: {res['turns_scored']} (processed {res['turns_processed']})")
    print(
        f"entities: P={e['precision']:.3f} R={e['recall']:.3f} F1={e['f1']:.3f} (tp={e['tp']} sys={e['sys']} gold={e['gold']})"
    )
    print(
        f"triples:  P={t['precision']:.3f} R={t['recall']:.3f} F1={t['f1']:.3f} (tp={t['tp']} sys={t['sys']} gold={t['gold']})"
    )
    print(
        f"dates:    accuracy={d['accuracy']:.3f} ({d['correct']}/{d['gold']}) precision={d['precision']:.3f} (sys={d['sys']})"
    )
    print("ms/turn:  " + ", ".join(f"{k}={v:.2f}" for k, v in res["ms_per_turn"].items()))
    checks = {
        f"entity F1 {e['f1']:.3f} >= {TARGET_ENTITY_F1}": e["f1"] >= TARGET_ENTITY_F1,
        f"triple P {t['precision']:.3f} >= {TARGET_TRIPLE_P} at R {t['recall']:.3f} >= {TARGET_TRIPLE_R}": (
            t["precision"] >= TARGET_TRIPLE_P and t["recall"] >= TARGET_TRIPLE_R
        ),
        f"date accuracy {d['accuracy']:.3f} >= {TARGET_DATE_ACC}": d["accuracy"] >= TARGET_DATE_ACC,
    }
    ok = all(checks.values())
    failed = [k for k, v in checks.items() if not v]
    print("ALL TARGETS MET" if ok else "TARGETS NOT MET: " + "; ".join(failed))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
