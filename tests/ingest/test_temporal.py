"""Time stage: relative and absolute expressions resolved against the session date."""

from __future__ import annotations

from datetime import date

import pytest

from kg_memory.ingest import temporal
from kg_memory.testing import make_context as make_ctx
from kg_memory.testing import make_conversation as make_conv

# 2023-07-20 is a Thursday; 2023-05-21 a Sunday.
THU = date(2023, 7, 20)
SUN = date(2023, 5, 21)


@pytest.mark.parametrize(
    ("text", "ref", "expr", "begin", "end", "grain"),
    [
        ("I saw it yesterday.", THU, "yesterday", "2023-07-19", "2023-07-19", "day"),
        ("I joined last Tues.", THU, "last Tues", "2023-07-18", "2023-07-18", "day"),
        ("See you next Friday!", THU, "next Friday", "2023-07-21", "2023-07-21", "day"),
        ("We went last Thursday.", THU, "last Thursday", "2023-07-13", "2023-07-13", "day"),
        ("It was last week.", THU, "last week", "2023-07-10", "2023-07-16", "week"),
        ("It was last week.", SUN, "last week", "2023-05-08", "2023-05-14", "week"),
        ("Opener is next week.", SUN, "next week", "2023-05-22", "2023-05-28", "week"),
        ("Last weekend was fun.", THU, "Last weekend", "2023-07-15", "2023-07-16", "weekend"),
        ("Last weekend was fun.", SUN, "Last weekend", "2023-05-13", "2023-05-14", "weekend"),
        ("What about this weekend?", THU, "this weekend", "2023-07-22", "2023-07-23", "weekend"),
        ("Festival next month.", THU, "next month", "2023-08-01", "2023-08-31", "month"),
        ("It happened last year.", THU, "last year", "2022-01-01", "2022-12-31", "year"),
        (
            "That was two weeks ago.",
            date(2022, 4, 20),
            "two weeks ago",
            "2022-04-04",
            "2022-04-10",
            "week",
        ),
        (
            "Two days ago I hiked.",
            date(2022, 4, 20),
            "Two days ago",
            "2022-04-18",
            "2022-04-18",
            "day",
        ),
        ("A few days ago I hiked.", THU, "A few days ago", "2023-07-15", "2023-07-18", "days"),
        ("I went a few years ago.", SUN, "a few years ago", "2018-01-01", "2021-12-31", "years"),
        (
            "A gift ten years ago.",
            date(2023, 6, 27),
            "ten years ago",
            "2013-01-01",
            "2013-12-31",
            "year",
        ),
        ("I moved in 2022.", THU, "2022", "2022-01-01", "2022-12-31", "year"),
        ("Last summer was hot.", THU, "Last summer", "2022-06-01", "2022-08-31", "season"),
        (
            "Last summer was hot.",
            date(2023, 10, 2),
            "Last summer",
            "2023-06-01",
            "2023-08-31",
            "season",
        ),
        ("We met on 5 May.", THU, "5 May", "2023-05-05", "2023-05-05", "day"),
        ("We met on May 5th, 2021.", THU, "May 5th, 2021", "2021-05-05", "2021-05-05", "day"),
        ("Since March 2021 I paint.", THU, "March 2021", "2021-03-01", "2021-03-31", "month"),
        (
            "I lost my job this month.",
            date(2023, 1, 20),
            "this month",
            "2023-01-01",
            "2023-01-31",
            "month",
        ),
    ],
)
def test_resolve(text: str, ref: date, expr: str, begin: str, end: str, grain: str) -> None:
    found = temporal.find_times(text, ref)
    assert [(f[2], f[3].isoformat(), f[4].isoformat(), f[5]) for f in found] == [
        (expr, begin, end, grain)
    ]


@pytest.mark.parametrize(
    "text",
    [
        "I've been busy lately.",
        "We go once or twice a year.",
        "It may rain.",
        "Since I was a kid.",
        "See you soon!",
    ],
)
def test_vague_expressions_are_left_alone(text: str) -> None:
    assert temporal.find_times(text, THU) == []


def test_run_builds_interval_nodes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    conv = make_conv(
        "c1",
        [("Caroline", "I went to a workshop last Friday."), ("Melanie", "I went last Friday too!")],
        date="2023-06-27T10:37:00",
    )
    ctx = make_ctx(conv, store=None)
    temporal.run(ctx)  # works without a parse (ctx.docs is None)
    times = ctx.artifacts.times
    assert [t.text for t in times[0]] == ["last Friday"]
    t0 = times[0][0]
    assert (t0.begin, t0.end_date, t0.grain) == ("2023-06-23", "2023-06-23", "day")
    assert times[1][0].node_id == t0.node_id  # one node per interval
    node = ctx.nodes[t0.node_id]
    assert node.label == "TimeInterval"
    assert node.props["begin"] == "2023-06-23" and node.props["grain"] == "day"
    assert (ctx.turns[0].id, "MENTIONS", t0.node_id) in ctx.edges
    assert t0.node_id == ctx.make_id("time", "2023-06-23", "2023-06-23")


def test_bare_weekday_uses_tense() -> None:
    from kg_memory.nlp import load_nlp

    nlp = load_nlp()
    past = "We volunteered at the shelter on Monday."
    fut = "We will volunteer at the shelter on Monday."
    assert temporal.find_times(past, THU, nlp(past))[0][3] == date(2023, 7, 17)
    assert temporal.find_times(fut, THU, nlp(fut))[0][3] == date(2023, 7, 24)
