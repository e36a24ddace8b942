"""Training and leave-one-conversation-out scoring of the ranker.

``python -m kg_memory.bench.ranker_train DATA`` (``make train-ranker``):

1. ingests each LoCoMo conversation of ``DATA`` once into a persistent
   embedded store under ``--work`` (reused while its input file is unchanged);
2. builds each conversation's candidate/feature matrix
   (:mod:`kg_memory.bench.ranker_matrix`, cached as ``.npz``);
3. scores every conversation with a model trained on the others (LOCO);
4. trains the model on every conversation and writes ``model.txt`` and
   ``model_card.md`` (data hash, features, parameters, the LOCO figures).

Training is deterministic (LightGBM ``deterministic``, fixed seed and
threads): the same data gives the same model bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kg_memory.bench.metrics import Scored, summarize
from kg_memory.bench.ranker_matrix import ConvMatrix
from kg_memory.retrieval.rank.features import FEATURES
from kg_memory.retrieval.rank.model import MODEL_FILE, Ranker, order

#: LightGBM parameters (LambdaMART): a small, regularised model, set once, not tuned.
PARAMS: dict[str, Any] = {
    "objective": "lambdarank",
    "lambdarank_truncation_level": 30,
    "num_leaves": 15,
    "learning_rate": 0.05,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "lambda_l2": 1.0,
    "max_bin": 63,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,
    "seed": 7,
    "verbose": -1,
}
ROUNDS = 200
#: a question's weight in training: its number of gold turns, capped at this many.
#: LambdaMART's NDCG counts every question alike, so a question whose evidence is spread
#: over several turns (the multi-hop ones) weighs no more than a one-turn lookup; weighing
#: it by its gold turns makes every evidence turn count about alike, as recall does.
GOLD_WEIGHT_CAP = 4
#: ranked turns kept per question when scoring
KEEP = 20


def fit(
    mats: Sequence[ConvMatrix],
    features: Sequence[str] = FEATURES,
    params: dict[str, Any] | None = None,
    rounds: int = ROUNDS,
    weighted: bool = True,
) -> Ranker:
    """A ranker trained on ``mats`` (queries = questions, label = gold turn); ``weighted``:
    questions weighted by their gold count (:func:`question_weights`), else alike."""
    import lightgbm as lgb

    cols = [FEATURES.index(f) for f in features]
    X = np.vstack([m.X[:, cols] for m in mats]).astype(np.float64)
    y = np.concatenate([m.y for m in mats])
    group = np.concatenate([m.group for m in mats])
    weight = (
        np.concatenate([np.repeat(question_weights(m), m.group) for m in mats])
        if weighted
        else None
    )
    ds = lgb.Dataset(
        X, y, group=group, weight=weight, feature_name=list(features), free_raw_data=True
    )
    booster = lgb.train({**PARAMS, **(params or {})}, ds, num_boost_round=rounds)
    return Ranker(booster)


def question_weights(m: ConvMatrix) -> np.ndarray:
    """Each question's training weight (:data:`GOLD_WEIGHT_CAP`).

    >>> from types import SimpleNamespace
    >>> question_weights(SimpleNamespace(n_gold=np.array([1, 3, 9]))).tolist()
    [1.0, 3.0, 4.0]
    """
    return np.minimum(np.asarray(m.n_gold, dtype=np.float64), GOLD_WEIGHT_CAP)


def ranked_turns(m: ConvMatrix, scores: np.ndarray, keep: int = KEEP) -> list[tuple[str, ...]]:
    """Per question, its pool's turn ids best first by ``scores`` (ties by graph rank)."""
    off = m.offsets()
    grank = m.X[:, FEATURES.index("graph_rank")]
    out = []
    for q in range(len(m.group)):
        s, e = off[q], off[q + 1]
        idx = order(scores[s:e], grank[s:e])[:keep]
        out.append(tuple(str(t) for t in m.turn[s:e][idx]))
    return out


def gold_sets(m: ConvMatrix) -> list[frozenset[str]]:
    """Each question's gold: its gold turns in the pool plus placeholders for those outside."""
    off = m.offsets()
    out = []
    for q in range(len(m.group)):
        s, e = off[q], off[q + 1]
        inside = {str(t) for t, y in zip(m.turn[s:e], m.y[s:e], strict=True) if y > 0}
        missing = {f"<not in pool {j}>" for j in range(int(m.n_gold[q]) - len(inside))}
        out.append(frozenset(inside | missing))
    return out


def scored(m: ConvMatrix, ranked: list[tuple[str, ...]]) -> list[Scored]:
    return [Scored(int(c), g, r) for c, g, r in zip(m.category, gold_sets(m), ranked, strict=True)]


def loco(
    mats: Sequence[ConvMatrix],
    features: Sequence[str] = FEATURES,
    params: dict[str, Any] | None = None,
    rounds: int = ROUNDS,
    weighted: bool = True,
) -> dict[str, list[tuple[str, ...]]]:
    """Each conversation's ranked turns by a model trained on the other conversations."""
    out = {}
    for i, m in enumerate(mats):
        others = [o for j, o in enumerate(mats) if j != i]
        model = fit(others, features, params, rounds, weighted)
        out[m.conversation] = ranked_turns(m, model.score(m.X))
    return out


def summary(mats: Sequence[ConvMatrix], ranked: dict[str, list[tuple[str, ...]]]) -> dict[str, Any]:
    return summarize(s for m in mats for s in scored(m, ranked[m.conversation]))


def data_hash(files: Sequence[Path]) -> str:
    """sha256 over the training files (names and bytes, in order)."""
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()


def write_model(model: Ranker, path: Path = MODEL_FILE) -> None:
    text = model.booster.model_to_string(num_iteration=-1)
    path.write_text(text, "utf-8")


def model_card(
    digest: str, files: Sequence[Path], figures: dict[str, Any], n_questions: int
) -> str:
    """The model card (markdown)."""
    rows = [
        f"| {g} | {figures[g]['n']} | {figures[g]['recall@1']:.3f} | {figures[g]['recall@10']:.3f} |"
        for g in ("multi-hop", "temporal", "open-domain", "single-hop", "cat1-4")
    ]
    return "\n".join(
        [
            "# kg-memory ranker (model.txt)",
            "",
            "LightGBM LambdaMART over the candidate turns of the graph search and the category",
            "generator (`kg_memory/retrieval/rank`). Written by `make train-ranker`.",
            "",
            f"- training data: {', '.join(f.name for f in files)} ({n_questions} questions with gold)",
            f"- data sha256: `{digest}`",
            f"- features ({len(FEATURES)}): {', '.join(FEATURES)}",
            f"- parameters: `{json.dumps(PARAMS, sort_keys=True)}`, {ROUNDS} rounds",
            "- hyperparameters were set once (small trees, 200 rounds) and not tuned on these figures.",
            f"- question weight: its gold turns, capped at {GOLD_WEIGHT_CAP} (a question"
            " with several evidence turns counts more than a one-turn lookup).",
            "",
            "Leave-one-conversation-out (each conversation ranked by a model trained on the others):",
            "",
            "| group | questions | R@1 | R@10 |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    from kg_memory.bench.ranker_corpus import build_matrices

    ap = argparse.ArgumentParser(prog="python -m kg_memory.bench.ranker_train")
    ap.add_argument("data", type=Path, help="LoCoMo directory (conv-*.json)")
    ap.add_argument("--work", type=Path, default=Path("build/ranker"))
    ap.add_argument("--model", type=Path, default=MODEL_FILE)
    ap.add_argument("--rebuild", action="store_true", help="recompute cached features")
    args = ap.parse_args(argv)
    files, mats = build_matrices(args.data, args.work, rebuild=args.rebuild)
    ranked = loco(mats)
    figures = summary(mats, ranked)
    for g in ("multi-hop", "temporal", "open-domain", "single-hop", "cat1-4"):
        print(f"LOCO {g:12s} R@1 {figures[g]['recall@1']:.3f} R@10 {figures[g]['recall@10']:.3f}")
    model = fit(mats)
    write_model(model, args.model)
    card = model_card(data_hash(files), files, figures, sum(len(m.group) for m in mats))
    args.model.with_name("model_card.md").write_text(card, "utf-8")
    print(f"wrote {args.model} and {args.model.with_name('model_card.md')}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
