"""``recall``: :meth:`kg_memory.Memory.search` plus filters by speaker and time range.

The search itself takes only a conversation; ``speaker``, ``since`` and
``until`` filter its ranked evidence. An evidence item passes when at least
one of its source turns (``turn_ids``) was spoken by ``speaker`` (compared
case-insensitively) in a session dated within ``[since, until]``. ``until``
given as a date includes that whole day; time zones are ignored (session
dates are compared as written). To return ``k`` items after filtering, the
search is repeated with a larger ``k`` (x4 each time, up to
:data:`MAX_FETCH`); if fewer pass even then, fewer are returned and the trace
says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kg_memory.errors import InputError
from kg_memory.ids import stable_id
from kg_memory.memory import Memory
from kg_memory.retrieval.evidence import Answer, Evidence
from kg_memory.retrieval.request import SearchRequest

#: Largest ``k`` a filtered recall asks the search for.
MAX_FETCH = 400


@dataclass(frozen=True)
class Filters:
    speaker: str | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive upper bound

    @classmethod
    def parse(
        cls, speaker: str | None = None, since: str | None = None, until: str | None = None
    ) -> Filters:
        """Check and normalise the filter arguments (InputError names the field).

        >>> Filters.parse(until="2023-05-08").until
        datetime.datetime(2023, 5, 9, 0, 0)
        """
        if speaker is not None and not speaker.strip():
            raise InputError("must not be empty", field="speaker")
        lo = _when(since, "since")
        hi = _when(until, "until")
        if until is not None and hi is not None and len(until.strip()) == 10:
            hi += timedelta(days=1)  # a date: the whole day
        elif hi is not None:
            hi += timedelta(microseconds=1)
        if lo is not None and hi is not None and lo >= hi:
            raise InputError(f"since ({since}) is after until ({until})", field="since")
        return cls(speaker.strip().casefold() if speaker else None, lo, hi)

    @property
    def active(self) -> bool:
        return self.speaker is not None or self.since is not None or self.until is not None

    def turn_ok(self, speaker: str | None, date: str | None) -> bool:
        if self.speaker is not None and (speaker or "").strip().casefold() != self.speaker:
            return False
        if self.since is None and self.until is None:
            return True
        when = _parse_date(date)
        if when is None:
            return False
        return (self.since is None or when >= self.since) and (
            self.until is None or when < self.until
        )


def _when(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    when = _parse_date(value)
    if when is None:
        raise InputError(
            f"{value!r} is not an ISO-8601 date or date-time (e.g. 2023-05-08)", field=field
        )
    return when


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=None)
    except ValueError:
        return None


def recall(mem: Memory, request: SearchRequest, filters: Filters | None = None) -> Answer:
    """Ranked evidence for ``request``, filtered (see the module docstring)."""
    k = request.k
    if not request.question.strip():
        raise InputError("must not be empty", field="question")
    if k < 1:
        raise InputError("must be at least 1", field="k")
    if filters is None or not filters.active:
        return mem.search(request)
    fetch = min(max(4 * k, 20), MAX_FETCH)
    while True:
        ans = mem.search(request.with_k(fetch))
        kept = _filter(mem, ans.evidence, filters)
        exhausted = len(ans.evidence) < fetch or fetch >= MAX_FETCH
        if len(kept) >= k or exhausted:
            break
        fetch = min(fetch * 4, MAX_FETCH)
    ans.trace.append(
        f"filters {_describe(filters)}: {len(kept)} of the top {len(ans.evidence)} passed"
        + ("" if len(kept) >= k else f", fewer than k={k}")
    )
    ans.evidence = kept[:k]
    return ans


def _filter(mem: Memory, evidence: list[Evidence], filters: Filters) -> list[Evidence]:
    """The evidence items with a source turn that passes ``filters`` (one store read)."""
    ids = {
        e.node_id: [stable_id("turn", mem.namespace, e.conversation, t) for t in e.turn_ids]
        for e in evidence
        if e.conversation and e.turn_ids
    }
    wanted = list(dict.fromkeys(i for turn_ids in ids.values() for i in turn_ids))
    turns = {n.id: n.props for n in mem.store.get_nodes(mem.namespace, wanted)}
    kept = []
    for e in evidence:
        if e.node_id not in ids:
            ok = filters.turn_ok(e.speaker, e.session_date)
        else:
            ok = any(
                filters.turn_ok(turns[i].get("speaker"), turns[i].get("date_time"))
                for i in ids[e.node_id]
                if i in turns
            )
        if ok:
            kept.append(e)
    return kept


def _describe(filters: Filters) -> dict[str, Any]:
    return {
        k: v
        for k, v in (
            ("speaker", filters.speaker),
            ("since", filters.since and filters.since.isoformat()),
            ("until (exclusive)", filters.until and filters.until.isoformat()),
        )
        if v is not None
    }
