"""The blind gold set is frozen: its bytes match the committed hash, and a changed copy is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kg_memory.ingest import eval_extraction

BLIND = eval_extraction.DEFAULT_GOLDS[1]


def test_blind_gold_set_matches_its_frozen_hash() -> None:
    eval_extraction.check_frozen(BLIND)


def test_a_changed_gold_set_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / BLIND.name
    shutil.copy(BLIND, copy)
    shutil.copy(BLIND.with_suffix(".sha256"), copy.with_suffix(".sha256"))
    copy.write_text(copy.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="differs from the frozen"):
        eval_extraction.check_frozen(copy)


def test_every_blind_line_has_the_scored_fields() -> None:
    rows = eval_extraction._load_gold(BLIND)
    assert len(rows) >= 150
    assert sum(len(r["dates"]) for r in rows) >= 40
    for r in rows:
        assert {"conversation", "turn_id", "entities", "triples", "dates"} <= set(r)
