"""Crash safety (issue 16, item 2): ``kg-memory ingest`` killed with SIGKILL at 20 points.

For each store, one uninterrupted run of ``kg-memory ingest`` on the first
sessions of a LoCoMo conversation gives the reference (what a clean ingest
stores) and the run's timing. Twenty kill points follow, from a fixed seed:
twelve spread over the whole run by time (one in each twelfth of it, the
imports and model loading included), eight inside the write transaction (after
the child announces it, one in each eighth of the reference write's length).
After each kill the store must open and hold either nothing or exactly the
reference (a file lands whole or not at all), and ingesting the file again
must give exactly the reference: the same counts per label and edge type, the
same node ids, the same edge keys. The test prints every kill point and its
outcome.
"""

from __future__ import annotations

import functools
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.helpers import (
    KINDS,
    Child,
    locomo_part,
    open_memory,
    snapshot,
    store_args,
)

SEED = 16
BY_TIME = 12
IN_WRITE = 8
#: The write-anchored points cover the reference write and a quarter more (the commit).
WRITE_SPAN = 1.25


def _reset(kind: str, where: str) -> None:
    """Make the store location empty again."""
    if kind == "embedded":
        shutil.rmtree(where, ignore_errors=True)
        return
    with open_memory(kind, where) as mem:
        mem.store.delete_namespace(where)


def _kill_points() -> list[tuple[str, float]]:
    """``(anchor, fraction)``: of the run from its start, or of the write after ``KG-WRITE``
    (stratified: one point in each equal slice)."""
    rng = random.Random(SEED)
    points = [("start", (i + rng.random()) / BY_TIME) for i in range(BY_TIME)]
    points += [("write", WRITE_SPAN * (i + rng.random()) / IN_WRITE) for i in range(IN_WRITE)]
    return points


@dataclass
class Pace:
    """How long a run and its write take: from the reference run, then from every run
    that got that far (the machine's speed drifts; a point is a fraction of these)."""

    total: float
    write: float

    def delay(self, anchor: str, fraction: float) -> float:
        return fraction * (self.total if anchor == "start" else self.write)

    def learn(self, child: Child) -> None:
        begun, committed = child.seen("KG-WRITE"), child.seen("KG-COMMITTED")
        if begun is not None and committed is not None:
            self.write = committed - begun


def _kill_at(
    args: list[str], anchor: str, fraction: float, pace: Pace, reset: Callable[[], None]
) -> tuple[str, float, float]:
    """Run the child, SIGKILL it at ``fraction`` of the run (or write); its phase, age and
    the delay used.

    A child that ended before its kill point teaches the pace its run time, and the
    point is tried again once at that pace, on an empty store again.
    """
    for _ in range(2):
        reset()  # an empty store: the child has the whole ingest to do
        child = Child(args)
        t0 = child.wait_for("KG-WRITE") if anchor == "write" else 0.0
        delay = pace.delay(anchor, fraction)
        deadline = child.started + t0 + delay
        while time.monotonic() < deadline and child.proc.poll() is None:
            time.sleep(0.002)
        exited = child.proc.poll() is not None
        child.kill()
        age = time.monotonic() - child.started
        pace.learn(child)
        if not exited:
            return child.phase, age, delay
        pace.total = age
    return "exited before the kill", age, delay


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_sigkill_at_twenty_points_then_reingest_is_clean(
    kind: str, locomo_dir: Path, tmp_path: Path, places: Any
) -> None:
    data = locomo_part(locomo_dir, tmp_path / "conv.json")
    where = places(kind)
    args = ["ingest", str(data), *store_args(kind, where), "--json"]

    ref = Child(args)
    rc, _, err = ref.finish()
    assert rc == 0, err
    total = time.monotonic() - ref.started
    write = ref.seen("KG-COMMITTED") - ref.wait_for("KG-WRITE")  # type: ignore[operator]
    pace = Pace(total, write)
    with open_memory(kind, where) as mem:
        clean = snapshot(mem)
    assert clean["counts"]["nodes"]["Turn"] > 40 and len(clean["edges"]) > 1000

    outcomes: list[dict[str, Any]] = []
    for i, (anchor, fraction) in enumerate(_kill_points()):
        phase, age, delay = _kill_at(
            args, anchor, fraction, pace, functools.partial(_reset, kind, where)
        )
        with open_memory(kind, where) as mem:  # the store opens
            after_kill = snapshot(mem)
            state = (
                "empty"
                if not after_kill["nodes"]
                else "whole"
                if after_kill == clean
                else "PARTIAL"
            )
            mem.ingest([data])
            again = snapshot(mem) == clean
        outcomes.append(
            {
                "point": i,
                "anchor": anchor,
                "delay": delay,
                "age": age,
                "phase": phase,
                "store": state,
                "reingest_clean": again,
            }
        )

    print(f"\nkill points on the {kind} store (reference run {total:.1f} s, write {write:.2f} s):")
    for o in outcomes:
        print(
            f"  #{o['point']:2d} {o['anchor']:>5} +{o['delay']:6.2f}s (at {o['age']:5.1f}s, "
            f"in {o['phase']}): store {o['store']}, re-ingest "
            f"{'clean' if o['reingest_clean'] else 'DIFFERS'}"
        )
    survived = sum(o["store"] != "PARTIAL" and o["reingest_clean"] for o in outcomes)
    print(f"  tried {len(outcomes)}, survived {survived}")
    assert survived == len(outcomes) == BY_TIME + IN_WRITE
    # the points really are spread: some before the write, some inside it
    phases = {o["phase"] for o in outcomes}
    assert {"start", "write"} <= phases, phases
