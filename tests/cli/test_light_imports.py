"""The light commands never import torch or spaCy (``python -X importtime`` in a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

KGM = str(Path(sys.executable).with_name("kg-memory"))
HEAVY = {"torch", "spacy", "sentence_transformers", "transformers"}


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["stats"],
        ["conversations"],
        ["queries", "list"],
        ["cypher", "MATCH (n) WHERE n.namespace = $namespace RETURN count(n) AS n"],
        ["export", "OUT"],
        ["ask", "--help"],
    ],
)
def test_light_command_imports_no_model(args: list[str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_MEMORY_")}
    env.update(
        KG_MEMORY_STORE=str(tmp_path / "store"), KG_MEMORY_URL="off", PYTHONPROFILEIMPORTTIME="1"
    )
    args = [str(tmp_path / "out.jsonl") if a == "OUT" else a for a in args]
    t0 = time.perf_counter()
    r = subprocess.run([KGM, *args], env=env, capture_output=True, text=True, timeout=60)
    seconds = time.perf_counter() - t0
    imported = {line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines() if "|" in line}
    assert not imported & HEAVY, (args, imported & HEAVY)
    assert r.returncode in (0, 2), r.stderr[-2000:]  # 2: cypher on the embedded store
    print(f"{' '.join(args)}: {seconds:.2f} s")  # the 1 s target is timed by bench serve
