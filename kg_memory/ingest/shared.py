"""Helpers the stages share: padded artifacts, speaker entities, centred embeddings."""

from __future__ import annotations

from collections import Counter

import numpy as np

from kg_memory.ingest.artifacts import EntityInfo, Mention, TimeMention
from kg_memory.ingest.context import IngestContext


def speaker_entities(ctx: IngestContext) -> dict[str, str]:
    """Speaker name -> Entity node id, from the entities stage (empty if unknown).

    Uses the stage's ``"speaker_ids"`` artifact when present; otherwise a speaker matches a PERSON entity of the same name or alias; failing that,
    the entity their first-person pronouns were resolved to.
    """
    entities: dict[str, EntityInfo] = ctx.artifacts.entities or {}
    given = ctx.artifacts.speaker_ids
    if isinstance(given, dict) and given:
        return {str(k): str(v) for k, v in given.items() if v}
    by_name: dict[str, str] = {}
    for eid in sorted(entities):
        info = entities[eid]
        if info.type != "PERSON":
            continue
        for name in (info.name, *sorted(info.aliases)):
            by_name.setdefault(name.lower(), eid)
    out: dict[str, str] = {}
    speakers = {t.raw.speaker for t in ctx.turns}
    for sp in sorted(speakers):
        if sp.lower() in by_name:
            out[sp] = by_name[sp.lower()]
    mentions: list[list[Mention]] = ctx.artifacts.mentions or []
    if len(out) < len(speakers) and mentions:
        votes: dict[str, Counter[str]] = {}
        for rec, ms in zip(ctx.turns, mentions, strict=False):
            for m in ms:
                if m.pronoun and m.text.lower() in ("i", "me", "my", "mine", "myself"):
                    votes.setdefault(rec.raw.speaker, Counter())[m.entity_id] += 1
        for sp, c in votes.items():
            if sp not in out:
                out[sp] = min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return out


def turn_mentions(ctx: IngestContext) -> list[list[Mention]]:
    """``ctx.artifacts.mentions`` padded to one list per turn."""
    ms: list[list[Mention]] = ctx.artifacts.mentions or []
    return [ms[i] if i < len(ms) else [] for i in range(len(ctx.turns))]


def turn_times(ctx: IngestContext) -> list[list[TimeMention]]:
    """``ctx.artifacts.times`` padded to one list per turn."""
    ts: list[list[TimeMention]] = ctx.artifacts.times or []
    return [ts[i] if i < len(ts) else [] for i in range(len(ctx.turns))]


#: Pseudo-count that shrinks the mean removed by :func:`centred` for small sets.
CENTRE_PRIOR = 8


def centring_mean(emb: np.ndarray) -> np.ndarray:
    """The mean row of ``emb``, shrunk by ``n / (n + CENTRE_PRIOR)``.

    With few rows the mean is mostly the rows themselves (two rows centred on
    their exact mean always point in opposite directions), so less of it is
    removed.
    """
    n = len(emb)
    if n == 0:
        return np.zeros(emb.shape[1:], dtype=emb.dtype)
    return np.asarray(emb.mean(axis=0) * (n / (n + CENTRE_PRIOR)), dtype=emb.dtype)


def centred(emb: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """Unit rows after removing ``mean`` (default :func:`centring_mean` of the rows).

    Turn index texts share a date and speaker prefix and a chatty style, which
    puts every raw cosine around 0.55 (MiniLM on LoCoMo); centring removes that
    common component so that a fixed threshold means "related".

    >>> e = np.array([[1.0, 1.0], [1.0, 0.9], [1.0, 1.1]])
    >>> c = centred(e, e.mean(axis=0))  # raw cosine of rows 1 and 2: 0.99
    >>> round(float(c[1] @ c[2]), 2)
    -1.0
    """
    mu = centring_mean(emb) if mean is None else mean
    c = emb - mu
    norms = np.linalg.norm(c, axis=1, keepdims=True)
    return np.asarray(c / np.where(norms > 0, norms, 1.0), dtype=emb.dtype)


def turn_matrix(ctx: IngestContext) -> np.ndarray:
    """``ctx.turn_embeddings`` as float32, or zeros when the turns have none."""
    if ctx.turn_embeddings is not None and len(ctx.turn_embeddings) == len(ctx.turns):
        return np.asarray(ctx.turn_embeddings, dtype=np.float32)
    dim = getattr(ctx.embedder, "dim", 384)
    return np.zeros((len(ctx.turns), dim), dtype=np.float32)
