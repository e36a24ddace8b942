"""After ingesting LoCoMo conv-26 with every stage, the graph has every layer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg_memory.cli import app


@pytest.mark.slow
def test_conv26_stats_show_every_layer(
    locomo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KG_MEMORY_EMBEDDER", "hash")
    runner = CliRunner()
    store = str(tmp_path / "s")
    res = runner.invoke(
        app, ["ingest", str(locomo_dir / "conv-26.json"), "--store", store, "--json"]
    )
    assert res.exit_code == 0, res.stderr
    res = runner.invoke(app, ["stats", "--json", "--store", store])
    nodes = json.loads(res.stdout)["nodes"]
    for label in (
        "Entity",
        "Fact",
        "Event",
        "Note",
        "Hyperedge",
        "TimeInterval",
        "Summary",
        "Topic",
    ):
        assert nodes.get(label, 0) > 0, label
    assert nodes["Turn"] == 419
    assert nodes["Summary"] == nodes["Session"] == 19  # one summary per session
    # re-ingesting changes nothing
    before = res.stdout
    res = runner.invoke(
        app, ["ingest", str(locomo_dir / "conv-26.json"), "--store", store, "--json"]
    )
    assert json.loads(res.stdout)["skipped_unchanged"] == 1
    assert runner.invoke(app, ["stats", "--json", "--store", store]).stdout == before
