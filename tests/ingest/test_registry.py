"""The stage registry: declarations, order checks, dependencies, and the fingerprint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kg_memory import Memory
from kg_memory.errors import ConfigError
from kg_memory.ingest import granularity
from kg_memory.ingest.artifacts import ARTIFACT_KEYS, Artifacts
from kg_memory.ingest.registry import (
    BASE,
    STAGE_ORDER,
    STAGES,
    check_order,
    node_labels,
    resolve_stages,
    stage,
)
from kg_memory.ingest.stage import Stage, StageSpec
from kg_memory.model import NODE_LABELS

DEMO = Path(__file__).resolve().parents[2] / "ingest" / "samples" / "demo.jsonl"


def test_every_stage_implements_the_interface() -> None:
    for s in (BASE, *STAGES):
        assert isinstance(s, Stage)
        json.dumps(dict(s.config()))  # part of the fingerprint: plain JSON
        assert set(s.labels) <= set(NODE_LABELS)
    assert check_order(STAGES) == STAGES


def test_every_artifact_is_produced_by_one_stage() -> None:
    produced = [key for s in STAGES for key in s.outputs]
    assert sorted(produced) == sorted(ARTIFACT_KEYS)
    assert set(ARTIFACT_KEYS) == set(Artifacts.__dataclass_fields__)


def test_node_labels_cover_every_label() -> None:
    """Every label the model allows is written by a stage, hence has a vector index."""
    assert set(node_labels()) == set(NODE_LABELS)


def test_order_is_checked() -> None:
    reader = StageSpec("reader", module="kg_memory.ingest.hyperedges", inputs=("facts",))
    writer = StageSpec("writer", module="kg_memory.ingest.triples", outputs=("facts",))
    assert check_order([writer, reader]) == (writer, reader)
    with pytest.raises(
        ConfigError, match=r"stage 'reader' reads 'facts'.*'writer' writes it later"
    ):
        check_order([reader, writer])
    with pytest.raises(ConfigError, match="no earlier stage writes"):
        check_order([reader])
    with pytest.raises(ConfigError, match="unknown artifact 'nope'"):
        check_order([StageSpec("x", module="m", outputs=("nope",))])
    with pytest.raises(ConfigError, match="registered twice"):
        check_order([writer, writer])


def test_dependencies_come_from_inputs() -> None:
    assert resolve_stages("events") == ("entities", "time", "events")
    assert resolve_stages("notes,granularity") == ("entities", "notes", "granularity")
    assert resolve_stages("all") == STAGE_ORDER
    with pytest.raises(ConfigError, match="unknown stage"):
        resolve_stages("bogus")
    with pytest.raises(ConfigError, match="unknown stage"):
        stage("bogus")


def test_changed_config_reprocesses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Memory.open(store_dir=tmp_path / "m", embedder="hash") as mem:
        first = mem.ingest([DEMO], stages="granularity")
        assert first.conversations == 1 and first.skipped == 0
        same = mem.ingest([DEMO], stages="granularity")
        assert same.conversations == 0 and same.skipped == 1
        monkeypatch.setattr(granularity, "SUMMARY_TURNS", granularity.SUMMARY_TURNS + 1)
        changed = mem.ingest([DEMO], stages="granularity")
        assert changed.conversations == 1 and changed.skipped == 0
        again = mem.ingest([DEMO], stages="granularity")
        assert again.conversations == 0 and again.skipped == 1
        monkeypatch.undo()
        back = mem.ingest([DEMO], stages="granularity")
        assert back.conversations == 1 and back.skipped == 0
