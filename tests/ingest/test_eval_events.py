"""The event-relation judging loop: a stratified sample and precision from judgements."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from kg_memory.ingest import eval_events


def _edges(n_next: int, n_causes: int) -> list[dict[str, object]]:
    return [
        {"key": f"{k}|c|D1:{i}>D1:{i + 1}", "kind": k}
        for k, n in (("NEXT", n_next), ("CAUSES", n_causes))
        for i in range(n)
    ]


def test_stratified_is_seeded_and_covers_every_kind() -> None:
    edges = _edges(50, 3)
    a = eval_events.stratified(edges, 20, 7)
    assert a == eval_events.stratified(edges, 20, 7)
    assert Counter(e["kind"] for e in a) == {"NEXT": 17, "CAUSES": 3}
    assert a != eval_events.stratified(edges, 20, 8)


def test_score_counts_removed_and_unjudged_edges(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    produced = _edges(4, 2)
    edges = tmp_path / "edges.jsonl"
    edges.write_text("".join(json.dumps(e) + "\n" for e in produced))
    judged = tmp_path / "judged.jsonl"
    verdicts = [True, True, True, False, True]  # the last CAUSES edge is left unjudged
    rows = [{"key": e["key"], "correct": v} for e, v in zip(produced, verdicts, strict=False)]
    rows += [{"key": "NEXT|c|D9:1>D9:2", "correct": False}]  # judged, no longer produced
    rows += [{"key": "CAUSES|c|D9:1>D9:1", "correct": True}]
    judged.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code = eval_events.main(["score", "--edges", str(edges), "--judgements", str(judged)])
    out = capsys.readouterr().out
    assert (
        "events NEXT: precision=0.750 (3/4 judged edges still produced; 1 judged edges no "
        "longer produced, 0 of them judged right; 0 produced edges unjudged)"
    ) in out
    assert "events CAUSES: precision=1.000 (1/1 judged edges still produced; 1 judged" in out
    assert "1 of them judged right; 1 produced edges unjudged" in out
    assert "events overall: precision=0.800 (4/5 judged edges still produced; 2 judged" in out
    assert code == 1  # 0.8 < 0.85


def test_bad_judgement_line_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "j.jsonl"
    bad.write_text('{"key": "x", "correct": true}\nnot json\n')
    with pytest.raises(SystemExit, match=r"j\.jsonl:2"):
        eval_events._read_jsonl(bad)
