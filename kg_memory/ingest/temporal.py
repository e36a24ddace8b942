"""The ``time`` stage: time expressions resolved to ISO intervals against the session date.

Every turn already carries its session's date (``Turn.props.date_time``).
This stage finds the expressions in the turn's own text that denote a
resolvable time ("last Saturday", "two weeks ago", "next month", "in 2022",
"on 5 May", "last summer") and resolves each to an inclusive interval
``[begin, end]`` of ISO dates with a grain (day, days, week, weekend, month,
season, year, years), relative to the session date.

Candidates come from regular expressions (below) run on the turn text; spaCy
DATE entities are not needed for recall on the forms we can resolve, and
everything vague ("recently", "lately", "someday", "once a year") is left
alone on purpose. Resolution is our own calendar arithmetic (``datetime`` +
``dateutil.relativedelta``); conventions (the same as the gold set's
``tests/data/README.md``):

* "last <weekday>" = the latest such day strictly before the session date,
  "next <weekday>" = the first strictly after, "this <weekday>" = that day of
  the session's ISO week (Monday-Sunday); a bare "on Friday" is the previous
  one in a past-tense sentence, else the next one.
* "last/this/next week" = the ISO week; "last weekend" = the latest
  Saturday-Sunday ended before the session date; "this weekend" = that of the
  session's ISO week.
* month / year / season: the whole calendar unit (seasons northern,
  meteorological: summer = Jun-Aug); "last summer" = the latest summer ended
  before the session date.
* a past-tense "this weekend" said on a weekday is the weekend just gone;
* "N days ago" (or "N days back") = that day, "N weeks ago" = the ISO week of session - 7N days,
  "N months ago" = that month, "N years ago" = that year; "a few days ago" =
  [d-5, d-2], "a few weeks ago" = ISO weeks 4..2 back, "a few years ago" =
  years -5..-2, "a couple of X ago" = 2 X ago.
* Absolute "5 May" / "May 5th" = that day of the session year (or of the
  given year), "May 2023" = the month, "(in) 2022" = the year.

Nodes: one ``TimeInterval`` per distinct interval of the conversation (id
``ctx.make_id("time", begin, end)``, props begin, end, grain, text = first
expression, texts = every expression), linked from each Turn that mentions it
with ``MENTIONS`` (props ``text``). Fact/Event nodes link to it with
``DURING``. Artifact ``"times"``: one list of :class:`TimeMention` per turn.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from typing import Any

from dateutil.relativedelta import relativedelta

from kg_memory.dates import iso_date
from kg_memory.ingest.artifacts import TimeMention
from kg_memory.ingest.context import IngestContext

_WD = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "wednesday": 2,
    "wed": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
_MONTHS = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
_SEASONS = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}
_NUM = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "a couple of": 2,
    "a couple": 2,
    "couple of": 2,
    "a few": -1,
    "few": -1,
    "several": -1,
}

_WD_RE = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues|tue|wed|thurs|thur|thu|fri|sat|sun)\.?"
_MONTH_RE = r"(?:january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)"
_NUM_RE = r"(?:\d+|a couple of|a couple|couple of|a few|few|several|an|a|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty)"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (name, re.compile(rx, re.I))
    for name, rx in [
        (
            "dayword",
            r"\b(?:the\s+day\s+before\s+yesterday|the\s+day\s+after\s+tomorrow|yesterday|today|tonight|tomorrow|last\s+night|this\s+(?:morning|afternoon|evening))\b",
        ),
        (
            "rel_wd",
            rf"\b(last|this|next|this\s+past|this\s+coming|past|coming)\s+({_WD_RE})(?![a-z])",
        ),
        (
            "rel_unit",
            r"\b(last|this|next|this\s+past|this\s+coming|past|coming|earlier\s+this|later\s+this)\s+(week|weekend|month|year|spring|summer|fall|autumn|winter)\b",
        ),
        ("ago", rf"\b({_NUM_RE})\s+(day|week|month|year)s?\s+(?:ago|back)\b"),
        ("the_other_day", r"\bthe\s+other\s+day\b"),
        (
            "dmy",
            rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\b\.?(?:,?\s+(\d{{4}}))?",
        ),
        (
            "mdy",
            rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?!\s*(?:am|pm|:))(?:,?\s+(\d{{4}}))?",
        ),
        ("my", rf"\b({_MONTH_RE})\s+(\d{{4}})\b"),
        ("in_month", rf"\b(?:in|during|since|until|by)\s+({_MONTH_RE})\b(?!\s+\d)"),
        ("year", r"\b(?:in|during|since|of|back\s+in)\s+((?:19|20)\d\d)\b"),
        ("on_wd", rf"\b(?:on|this)\s+({_WD_RE})(?![a-z])"),
        ("weekend", r"\b(?:over|on|during)\s+the\s+weekend\b"),
    ]
]


#: A turn is scanned only when one of these words occurs (every pattern needs one of them:
#: "tomorrow" and "tonight" have no "day").
_SCAN_WORDS = (
    r"\d|day|week|month|year|ago|back|night|tomorrow|morning|afternoon|evening|spring|summer|"
    r"fall|autumn|winter|"
)


def _d(x: date) -> str:
    return x.isoformat()


def _week(d: date) -> tuple[date, date]:
    mon = d - timedelta(days=d.weekday())
    return mon, mon + timedelta(days=6)


def _month(y: int, m: int) -> tuple[date, date]:
    start = date(y, m, 1)
    return start, start + relativedelta(months=1) - timedelta(days=1)


def _season(y: int, start_month: int) -> tuple[date, date]:
    start = date(y, start_month, 1)
    return start, start + relativedelta(months=3) - timedelta(days=1)


def _num(s: str) -> int:
    s = re.sub(r"\s+", " ", s.lower().strip())
    if s.isdigit():
        return int(s)
    return _NUM.get(s, 0)


def _past_tense(doc: Any, start: int, end: int) -> bool | None:
    if doc is None:
        return None
    span = doc.char_span(start, end, alignment_mode="expand")
    if span is None:
        return None
    sent = span.sent
    tags = [t.tag_ for t in sent if t.pos_ in ("VERB", "AUX")]
    future = any(t.lower_ in ("will", "'ll", "gonna", "going") for t in sent)
    return any(t in ("VBD", "VBN") for t in tags) and not future


Interval = tuple[date, date, str]  # (begin, end, grain)


def resolve(kind: str, m: re.Match[str], ref: date, doc: Any = None) -> Interval | None:
    """Resolve one regex match to (begin, end, grain) against the reference date.

    >>> resolve("year", re.match(r"in (\\d{4})", "in 2022"), date(2023, 5, 8))
    (datetime.date(2022, 1, 1), datetime.date(2022, 12, 31), 'year')
    """
    fn = _RESOLVERS.get(kind)
    if fn is None:
        return None
    g = [x.lower() if x else x for x in m.groups()]
    return fn(g, m, ref, doc)


def _dayword(g: list[Any], m: re.Match[str], ref: date, doc: Any) -> Interval | None:
    t = re.sub(r"\s+", " ", m.group(0).lower())
    off = {
        "yesterday": -1,
        "last night": -1,
        "tomorrow": 1,
        "the day before yesterday": -2,
        "the day after tomorrow": 2,
    }.get(t, 0)
    d = ref + timedelta(days=off)
    return d, d, "day"


def _weekday(g: list[Any], m: re.Match[str], ref: date, doc: Any, *, relative: bool) -> Interval:
    """ "last Saturday" (``relative``), "on Friday" (past tense: the previous one)."""
    if relative:
        rel, wd = re.sub(r"\s+", " ", g[0]), _WD[g[1].rstrip(".")]
    else:
        wd = _WD[g[0].rstrip(".")]
        if m.group(0).lower().startswith("this"):
            rel = "this"
        else:
            past = _past_tense(doc, m.start(), m.end())
            rel = "last" if past else "next"
    if rel in ("last", "past", "this past"):
        delta = (ref.weekday() - wd) % 7 or 7
        d = ref - timedelta(days=delta)
    elif rel in ("next", "coming", "this coming"):
        delta = (wd - ref.weekday()) % 7 or 7
        d = ref + timedelta(days=delta)
    else:
        d = _week(ref)[0] + timedelta(days=wd)
    return d, d, "day"


def _rel_unit(g: list[Any], m: re.Match[str], ref: date, doc: Any) -> Interval | None:
    """ "last week", "this weekend", "next month", "last year", "last summer"."""
    rel, unit = re.sub(r"\s+", " ", g[0]), g[1]
    step = {
        "last": -1,
        "past": -1,
        "this past": -1,
        "next": 1,
        "coming": 1,
        "this coming": 1,
    }.get(rel, 0)
    if unit == "week":
        b, e = _week(ref + timedelta(weeks=step))
        return b, e, "week"
    if unit == "weekend":
        if step == 0 and ref.weekday() < 5 and _past_tense(doc, m.start(), m.end()):
            step = -1  # "I went hiking this weekend" said on a weekday: the one just gone
        if step < 0:
            # latest Saturday-Sunday that ended before ref
            sun = ref - timedelta(days=(ref.weekday() + 1) % 7 or 7)
            if sun >= ref:
                sun -= timedelta(days=7)
            return sun - timedelta(days=1), sun, "weekend"
        mon = _week(ref)[0] + timedelta(weeks=max(step, 0))
        return mon + timedelta(days=5), mon + timedelta(days=6), "weekend"
    if unit == "month":
        x = ref + relativedelta(months=step)
        b, e = _month(x.year, x.month)
        return b, e, "month"
    if unit == "year":
        y = ref.year + step
        return date(y, 1, 1), date(y, 12, 31), "year"
    sm = _SEASONS[unit]
    # the season of the session year; winter starts in December
    b, e = _season(ref.year if sm != 12 else ref.year - (1 if ref.month <= 2 else 0), sm)
    if step < 0:
        while e >= ref:
            b, e = _season(b.year - 1, sm)
    elif step > 0:
        while b <= ref:
            b, e = _season(b.year + 1, sm)
    return b, e, "season"


def _ago(g: list[Any], m: re.Match[str], ref: date, doc: Any) -> Interval | None:
    """ "two weeks ago"; "a few X ago" (a negative count) is a range of X."""
    n, unit = _num(g[0]), g[1]
    if n == 0:
        return None
    if unit == "day":
        if n < 0:
            return ref - timedelta(days=5), ref - timedelta(days=2), "days"
        d = ref - timedelta(days=n)
        return d, d, "day"
    if unit == "week":
        if n < 0:
            return (
                _week(ref - timedelta(weeks=4))[0],
                _week(ref - timedelta(weeks=2))[1],
                "weeks",
            )
        b, e = _week(ref - timedelta(weeks=n))
        return b, e, "week"
    if unit == "month":
        if n < 0:
            x, z = ref - relativedelta(months=5), ref - relativedelta(months=2)
            return _month(x.year, x.month)[0], _month(z.year, z.month)[1], "months"
        x = ref - relativedelta(months=n)
        b, e = _month(x.year, x.month)
        return b, e, "month"
    if n < 0:
        return date(ref.year - 5, 1, 1), date(ref.year - 2, 12, 31), "years"
    y = ref.year - n
    return date(y, 1, 1), date(y, 12, 31), "year"


def _day_month(
    g: list[Any], m: re.Match[str], ref: date, doc: Any, *, dmy: bool
) -> Interval | None:
    """ "5 May (2023)" (``dmy``) or "May 5th (2023)"; modal "may 2 ..." is not a date."""
    if dmy:
        dd, mno, yr = int(g[0]), _MONTHS[g[1]], g[2]
    else:
        mno, dd, yr = _MONTHS[g[0]], int(g[1]), g[2]
    if g[0] == "may" and not dmy and not m.group(0)[0].isupper():
        return None
    try:
        d = date(int(yr) if yr else ref.year, mno, dd)
    except ValueError:
        return None
    return d, d, "day"


def _month_year(g: list[Any], m: re.Match[str], ref: date, doc: Any) -> Interval | None:
    b, e = _month(int(g[1]), _MONTHS[g[0]])
    return b, e, "month"


def _in_month(g: list[Any], m: re.Match[str], ref: date, doc: Any) -> Interval | None:
    if g[0] == "may" and not m.group(1)[0].isupper():
        return None
    b, e = _month(ref.year, _MONTHS[g[0]])
    return b, e, "month"


def _year(g: list[Any], m: re.Match[str], ref: date, doc: Any) -> Interval | None:
    y = int(g[0])
    return date(y, 1, 1), date(y, 12, 31), "year"


def _weekend(g: list[Any], m: re.Match[str], ref: date, doc: Any) -> Interval | None:
    """A bare "the weekend": the last one in a past-tense sentence, else this one."""
    if _past_tense(doc, m.start(), m.end()):
        sun = ref - timedelta(days=(ref.weekday() + 1) % 7 or 7)
        return sun - timedelta(days=1), sun, "weekend"
    mon = _week(ref)[0]
    return mon + timedelta(days=5), mon + timedelta(days=6), "weekend"


def _other_day(g: list[Any], m: re.Match[str], ref: date, doc: Any) -> Interval | None:
    return ref - timedelta(days=7), ref - timedelta(days=1), "days"


_Resolver = Callable[[list[Any], re.Match[str], date, Any], Interval | None]
#: Pattern kind -> its resolver.
_RESOLVERS: dict[str, _Resolver] = {
    "dayword": _dayword,
    "rel_wd": partial(_weekday, relative=True),
    "on_wd": partial(_weekday, relative=False),
    "rel_unit": _rel_unit,
    "ago": _ago,
    "the_other_day": _other_day,
    "dmy": partial(_day_month, dmy=True),
    "mdy": partial(_day_month, dmy=False),
    "my": _month_year,
    "in_month": _in_month,
    "year": _year,
    "weekend": _weekend,
}


def find_times(
    text: str, ref: date, doc: Any = None
) -> list[tuple[int, int, str, date, date, str]]:
    """All (start, end, text, begin, end, grain) in ``text``, longest match first, no overlaps."""
    found: list[tuple[int, int, str, date, date, str]] = []
    for kind, rx in _PATTERNS:
        for m in rx.finditer(text):
            r = resolve(kind, m, ref, doc)
            if r is None:
                continue
            s, e = m.start(), m.end()
            # report the expression without a leading preposition
            lead = re.match(
                r"(?:on|in|during|since|until|by|of|over|back\s+in)\s+", m.group(0), re.I
            )
            if lead and kind in ("year", "in_month", "on_wd", "weekend", "dmy"):
                s += lead.end()
            found.append((s, e, text[s:e].rstrip("."), r[0], r[1], r[2]))
    found.sort(key=lambda x: (x[0], -(x[1] - x[0])))
    out: list[tuple[int, int, str, date, date, str]] = []
    for f in found:
        if any(f[0] < o[1] and o[0] < f[1] for o in out):
            continue
        out.append(f)
    return out


def _ref_date(iso: str | None) -> date | None:
    """:func:`~kg_memory.dates.iso_date`, else the date its first ten characters spell."""
    found = iso_date(iso)
    if found is not None or not iso:
        return found
    try:
        return date.fromisoformat(iso[:10])
    except ValueError:
        return None


def run(ctx: IngestContext) -> None:
    docs = ctx.docs
    times: list[list[TimeMention]] = []
    texts: dict[str, list[str]] = {}
    for ti, rec in enumerate(ctx.turns):
        ref = _ref_date(rec.date)
        turn_times: list[TimeMention] = []
        text = rec.raw.text
        if (
            ref is not None
            and text
            and re.search(
                _SCAN_WORDS + _WD_RE + "|" + _MONTH_RE,
                text,
                re.I,
            )
        ):
            doc = docs[ti] if docs is not None else None
            for s, e, expr, b, en, grain in find_times(text, ref, doc):
                nid = ctx.make_id("time", _d(b), _d(en))
                texts.setdefault(nid, [])
                if expr not in texts[nid]:
                    texts[nid].append(expr)
                ctx.add_node(
                    nid,
                    "TimeInterval",
                    text=f"{_d(b)} {_d(en)} " + " ".join(texts[nid]),
                    props={
                        "begin": _d(b),
                        "end": _d(en),
                        "grain": grain,
                        "expression": texts[nid][0],
                        "texts": list(texts[nid]),
                    },
                )
                ctx.add_edge(rec.id, "MENTIONS", nid, {"text": expr})
                turn_times.append(TimeMention(expr, s, e, _d(b), _d(en), grain, nid))
        times.append(turn_times)
    ctx.artifacts.times = times


def config() -> dict[str, object]:
    """No numeric settings: the expressions and conventions are code (``PIPELINE_VERSION``)."""
    return {}
