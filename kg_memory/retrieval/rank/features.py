"""Features of every candidate turn of a :class:`~kg_memory.retrieval.rank.candidates.Pool`.

One row per candidate, one column per name in :data:`FEATURES`, float32, NaN
where a signal did not fire (LightGBM treats NaN as missing). Columns come in
groups (:data:`GROUPS`) so that the bench can ablate a whole signal family.
"""

from __future__ import annotations

import functools
import math
from datetime import date

import numpy as np

from kg_memory.dates import iso_date
from kg_memory.retrieval.rank import form
from kg_memory.retrieval.rank.candidates import Pool
from kg_memory.retrieval.rank.question import QTYPES, time_range
from kg_memory.text import tokenize

#: graph layers whose projected rank is a feature (``found_by`` names)
LAYER_RANKS: tuple[str, ...] = (
    "event.bm25",
    "event.dense",
    "note.bm25",
    "fact.bm25",
    "hyperedge.bm25",
    "summary.bm25",
    "summary.dense",
)
GROUPS: dict[str, tuple[str, ...]] = {
    "retrieval": (
        "graph_rank",
        "graph_score_rel",
        "rank_bm25",
        "rank_dense",
        "adjacent",
        "linked_note",
        "rank_gap",
        "cos_q",
        "cos_q_gap",
        "cos_q_rank",
        "cos_prev",
        "cos_next",
        "session_hits",
        "top_distance",
    ),
    "lexical": (
        "idf_overlap",
        "idf_overlap_ctx",
        "idf_overlap_prev",
        "idf_overlap_next",
        "terms_matched",
        "max_idf_matched",
        "log_len",
        "has_caption",
    ),
    "layers": (
        *(f"rank_{name}" for name in LAYER_RANKS),
        *(f"w_{name}" for name in LAYER_RANKS),
    ),
    "entity": ("speaker_named", "other_speaker_named", "names_in_turn"),
    "subject": ("subject_turn", "subject_mention", "subject_rank", "rank_subject", "cos_sub"),
    "entity_overlap": ("entity_overlap", "entity_count"),
    "aggregation": ("has_focus", "rank_focus", "cos_focus", "cos_focus_gap"),
    "content": ("cos_c", "cos_c_gap", "cos_c_rank"),
    "time": (
        "q_time_cue",
        "q_has_range",
        "turn_times",
        "session_in_range",
        "time_in_range",
        "session_pos",
        "turn_position",
        "q_current",
    ),
    "time_layer": ("date_distance", "time_distance"),
    "current": ("newer_similar", "newer_subject"),
    "question": (*(f"q_{t}" for t in QTYPES), "q_terms", "q_coordinated"),
    "form": form.COLUMNS,
}
FEATURES: tuple[str, ...] = tuple(f for cols in GROUPS.values() for f in cols)
NAN = float("nan")
#: turn texts whose tokens and form are kept between asks (a few MB)
TEXT_CACHE = 16384


def _cos(table: dict[str, float], ids: list[str | None]) -> np.ndarray:
    """Each turn's cosine from ``table`` (NaN: no turn, or not among the cosines read)."""
    return np.array([table.get(i, NAN) if i else NAN for i in ids], dtype=np.float32)


def _rank(pool: Pool, name: str) -> np.ndarray:
    return np.array([pool.found_by.get(i, {}).get(name, NAN) for i in pool.ids], dtype=np.float32)


@functools.lru_cache(maxsize=TEXT_CACHE)
def _words(text: str) -> tuple[frozenset[str], int]:
    """A turn text's distinct tokens and its token count (cached: a process answering
    questions about one memory featurises the same turns ask after ask).

    >>> words, n = _words("Red, red wine")
    >>> sorted(words), n
    (['red', 'wine'], 3)
    """
    toks = tokenize(text)
    return frozenset(toks), len(toks)


def _lexical(pool: Pool, cols: dict[str, np.ndarray]) -> None:
    idf = pool.idf
    total = sum(idf.values()) or 1.0
    qset = set(idf)
    words: dict[str, set[str]] = {}

    def terms_of(j: str | None) -> set[str]:
        if not j or j not in pool.context:
            return set()
        if j not in words:
            words[j] = set(_words(pool.context[j].text or "")[0] & qset)
        return words[j]

    def weight(ts: set[str]) -> float:
        return sum(idf[t] for t in ts) / total

    rows = []
    for i in pool.ids:
        node = pool.nodes[i]
        distinct, length = _words(node.text or "")
        hit = set(distinct & qset)
        before, after = terms_of(pool.prev.get(i)), terms_of(pool.next.get(i))
        rows.append(
            (
                weight(hit),
                weight(hit | before | after),
                weight(before),
                weight(after),
                len(hit),
                max((idf[t] for t in hit), default=0.0),
                math.log1p(length),
                1.0 if node.props.get("caption") else 0.0,
            )
        )
    arr = np.array(rows, dtype=np.float32).reshape(len(pool.ids), len(GROUPS["lexical"]))
    for c, name in enumerate(GROUPS["lexical"]):
        cols[name] = arr[:, c]


def _entity(pool: Pool, cols: dict[str, np.ndarray]) -> None:
    names = set(pool.info.names)
    speakers = {str(n.props.get("speaker") or "").lower() for n in pool.nodes.values()}
    asked = names & speakers
    spk, other, inside = [], [], []
    for i in pool.ids:
        node = pool.nodes[i]
        s = str(node.props.get("speaker") or "").lower()
        spk.append(1.0 if s in asked else 0.0)
        other.append(1.0 if asked and s not in asked else 0.0)
        rest = names - speakers
        inside.append(len(rest & _words(node.text or "")[0]) / len(rest) if rest else NAN)
    cols["speaker_named"] = np.array(spk, dtype=np.float32)
    cols["other_speaker_named"] = np.array(other, dtype=np.float32)
    cols["names_in_turn"] = np.array(inside, dtype=np.float32)


def _time(pool: Pool, cols: dict[str, np.ndarray]) -> None:
    info = pool.info
    dates = {i: iso_date(pool.nodes[i].props.get("date_time")) for i in pool.ids}
    known = [d for d in dates.values() if d is not None]
    span = time_range(info.text, max(known) if known else None)
    sessions = [int(pool.nodes[i].props.get("session") or 0) for i in pool.ids]
    top = max(sessions, default=0) or 1
    in_sess, in_time = [], []
    for i in pool.ids:
        d = dates[i]
        if span is None:
            in_sess.append(NAN)
            in_time.append(NAN)
            continue
        lo, hi = span[0].isoformat(), span[1].isoformat()
        in_sess.append(1.0 if d is not None and span[0] <= d <= span[1] else 0.0)
        in_time.append(1.0 if any(b <= hi and lo <= e for b, e in pool.times.get(i, [])) else 0.0)
    n = len(pool.ids)
    cols["q_time_cue"] = np.full(n, float(info.time_cue), dtype=np.float32)
    cols["q_has_range"] = np.full(n, float(span is not None), dtype=np.float32)
    cols["turn_times"] = np.array([len(pool.times.get(i, [])) for i in pool.ids], np.float32)
    cols["session_in_range"] = np.array(in_sess, dtype=np.float32)
    cols["time_in_range"] = np.array(in_time, dtype=np.float32)
    cols["session_pos"] = np.array(sessions, dtype=np.float32) / top
    cols["turn_position"] = np.array(
        [float(pool.nodes[i].props.get("position") or 0) for i in pool.ids], dtype=np.float32
    )
    cols["q_current"] = np.full(n, float(info.current), dtype=np.float32)


def _days(d: date, lo: date, hi: date) -> float:
    """log(1 + days) from ``d`` to the span ``[lo, hi]`` (0 inside)."""
    return math.log1p(max((lo - d).days, (d - hi).days, 0))


def _time_layer(pool: Pool, cols: dict[str, np.ndarray]) -> None:
    """How far the turn's session date and its resolved time intervals are from the
    question's time constraint (NaN without one)."""
    dates = [iso_date(pool.nodes[i].props.get("date_time")) for i in pool.ids]
    known = [d for d in dates if d is not None]
    span = time_range(pool.info.text, max(known) if known else None)
    n = len(pool.ids)
    dd = np.full(n, NAN, dtype=np.float32)
    td = np.full(n, NAN, dtype=np.float32)
    if span is not None:
        lo, hi = span
        for r, (i, d) in enumerate(zip(pool.ids, dates, strict=True)):
            if d is not None:
                dd[r] = _days(d, lo, hi)
            ends = [(iso_date(b), iso_date(e)) for b, e in pool.times.get(i, [])]
            gaps = [
                min(_days(b, lo, hi), _days(e, lo, hi), 0.0 if b <= hi and lo <= e else 99.0)
                for b, e in ends
                if b is not None and e is not None
            ]
            if gaps:
                td[r] = min(gaps)
    cols["date_distance"] = dd
    cols["time_distance"] = td


def _current(pool: Pool, cols: dict[str, np.ndarray]) -> None:
    """Current-value signals: how many candidates are later *and* closer to the question
    (all of them, and those of the same subject); 0 marks the latest best statement."""
    keys = [
        (
            int(pool.nodes[i].props.get("session") or 0),
            float(pool.nodes[i].props.get("position") or 0),
        )
        for i in pool.ids
    ]
    order = np.array([s * 10_000 + p for s, p in keys], dtype=np.float64)
    cos = np.nan_to_num(_cos(pool.cos_q, list(pool.ids)), nan=-2.0)
    newer = (order[None, :] > order[:, None]) & (cos[None, :] >= cos[:, None])
    cols["newer_similar"] = newer.sum(axis=1).astype(np.float32)
    subj = pool.links.subject_of()
    if subj:
        bit = {name: 1 << b for b, name in enumerate(sorted(pool.links.subject_turns))}
        mask = np.array([sum(bit[s] for s in subj.get(i, ())) for i in pool.ids], np.int64)
        same = (mask[:, None] & mask[None, :]) != 0
        cols["newer_subject"] = np.where(mask > 0, (newer & same).sum(axis=1), NAN).astype(
            np.float32
        )
    else:
        cols["newer_subject"] = np.full(len(pool.ids), NAN, dtype=np.float32)


def _subject(pool: Pool, cols: dict[str, np.ndarray]) -> None:
    """Subject aggregation and entity-node overlap (:mod:`.entities`)."""
    links = pool.links
    subj = links.subject_of()
    ids = pool.ids
    cols["subject_turn"] = np.array([1.0 if i in subj else 0.0 for i in ids], np.float32)
    cols["subject_mention"] = np.array(
        [1.0 if i in links.mentions_subject else 0.0 for i in ids], np.float32
    )
    cols["subject_rank"] = np.array([pool.subject_rank.get(i, NAN) for i in ids], np.float32)
    cols["rank_subject"] = _rank(pool, "subject.dense")
    cols["cos_sub"] = _cos(pool.cos_sub, list(ids))
    total = sum(links.weight.values())
    ents = [links.turn_entities.get(i, set()) for i in ids]
    cols["entity_overlap"] = np.array(
        [sum(links.weight[e] for e in es) / total if total else NAN for es in ents], np.float32
    )
    cols["entity_count"] = np.array([float(len(es)) if total else NAN for es in ents], np.float32)


def _retrieval(pool: Pool, cols: dict[str, np.ndarray]) -> None:
    ids = pool.ids
    grank = np.array([pool.graph_rank.get(i, NAN) for i in ids], dtype=np.float32)
    top = max(pool.graph_score.values(), default=0.0) or 1.0
    cols["graph_rank"] = grank
    cols["graph_score_rel"] = np.array(
        [pool.graph_score.get(i, NAN) / top for i in ids], dtype=np.float32
    )
    cols["rank_bm25"] = _rank(pool, "bm25")
    cols["rank_dense"] = _rank(pool, "dense")
    cols["adjacent"] = np.array(
        [1.0 if "adjacent" in pool.found_by.get(i, {}) else 0.0 for i in ids], np.float32
    )
    cols["linked_note"] = np.array(
        [1.0 if "linked-note" in pool.found_by.get(i, {}) else 0.0 for i in ids], np.float32
    )
    cols["rank_gap"] = np.array(
        [
            min(
                (r for k, r in pool.found_by.get(i, {}).items() if k.startswith("gap:")),
                default=NAN,
            )
            for i in ids
        ],
        dtype=np.float32,
    )
    cos = _cos(pool.cos_q, list(ids))
    cols["cos_q"] = cos
    cols["cos_q_gap"] = cos - np.nanmax(cos) if len(cos) else cos
    cols["cos_q_rank"] = (np.argsort(np.argsort(-np.nan_to_num(cos, nan=-2.0))) + 1).astype(
        np.float32
    )
    cols["cos_prev"] = _cos(pool.cos_q, [pool.prev.get(i) for i in ids])
    cols["cos_next"] = _cos(pool.cos_q, [pool.next.get(i) for i in ids])
    _session(pool, grank, cols)


def _session(pool: Pool, grank: np.ndarray, cols: dict[str, np.ndarray]) -> None:
    """How many of the graph's top 20 share the turn's session; distance to a top-5 turn."""
    where = [
        (pool.nodes[i].props.get("session"), float(pool.nodes[i].props.get("position") or 0))
        for i in pool.ids
    ]
    hits: dict[object, int] = {}
    tops: dict[object, list[float]] = {}
    for (sess, pos), r in zip(where, grank, strict=True):
        if r <= 20:
            hits[sess] = hits.get(sess, 0) + 1
        if r <= 5:
            tops.setdefault(sess, []).append(pos)
    cols["session_hits"] = np.array([hits.get(s, 0) for s, _ in where], dtype=np.float32)
    cols["top_distance"] = np.array(
        [min((abs(p - t) for t in tops.get(s, [])), default=NAN) for s, p in where],
        dtype=np.float32,
    )


def _aggregation(pool: Pool, cols: dict[str, np.ndarray]) -> None:
    n = len(pool.ids)
    cols["has_focus"] = np.full(n, float(pool.fv is not None), dtype=np.float32)
    cols["rank_focus"] = _rank(pool, "focus.dense")
    cos = _cos(pool.cos_f, list(pool.ids))
    cols["cos_focus"] = cos
    gap = np.full(n, NAN, dtype=np.float32)
    if pool.fv is not None and n:
        gap = cos - np.nanmax(cos)
    cols["cos_focus_gap"] = gap


def _content(pool: Pool, cols: dict[str, np.ndarray]) -> None:
    """Cosine with the content query (the question without its names), its gap to the
    pool's best and its rank in the pool; NaN without a content query."""
    n = len(pool.ids)
    if not pool.cos_c:
        for name in GROUPS["content"]:
            cols[name] = np.full(n, NAN, dtype=np.float32)
        return
    cos = _cos(pool.cos_c, list(pool.ids))
    cols["cos_c"] = cos
    cols["cos_c_gap"] = cos - np.nanmax(cos)
    cols["cos_c_rank"] = (np.argsort(np.argsort(-np.nan_to_num(cos, nan=-2.0))) + 1).astype(
        np.float32
    )


def _layers_and_question(pool: Pool, cols: dict[str, np.ndarray]) -> None:
    n = len(pool.ids)
    for name in LAYER_RANKS:
        cols[f"rank_{name}"] = _rank(pool, name)
        cols[f"w_{name}"] = np.full(n, pool.weights.get(name, NAN), dtype=np.float32)
    for t in QTYPES:
        cols[f"q_{t}"] = np.full(n, float(pool.info.qtype == t), dtype=np.float32)
    cols["q_terms"] = np.full(n, float(len(pool.info.terms)), dtype=np.float32)
    cols["q_coordinated"] = np.full(n, float(pool.info.coordinated), dtype=np.float32)


#: :func:`.form.turn_form` cached like :func:`_words`
_turn_form = functools.lru_cache(maxsize=TEXT_CACHE)(form.turn_form)


def _form(pool: Pool, cols: dict[str, np.ndarray]) -> None:
    """The utterance's phrasing (:mod:`.form`): first/second person, questions."""
    rows = [
        _turn_form(str(pool.nodes[i].props.get("utterance") or pool.nodes[i].text or ""))
        for i in pool.ids
    ]
    arr = np.array(rows, dtype=np.float32).reshape(len(pool.ids), len(form.COLUMNS))
    for c, name in enumerate(form.COLUMNS):
        cols[name] = arr[:, c]


def featurize(pool: Pool) -> np.ndarray:
    """The ``(candidates, len(FEATURES))`` matrix of ``pool``, columns in :data:`FEATURES` order."""
    cols: dict[str, np.ndarray] = {}
    if pool.ids:
        for part in (
            _retrieval,
            _lexical,
            _entity,
            _subject,
            _aggregation,
            _content,
            _time,
            _time_layer,
            _current,
            _layers_and_question,
            _form,
        ):
            part(pool, cols)
    else:
        return np.zeros((0, len(FEATURES)), dtype=np.float32)
    return np.column_stack([cols[f] for f in FEATURES]).astype(np.float32)
