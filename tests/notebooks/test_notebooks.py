"""Every notebook in notebooks/ executes top to bottom, shows its figures inline and saves them.

This is what ``pytest --nbmake notebooks`` does (nbclient with the ``python3``
kernel, the notebook's folder as working directory), plus two checks of the
output: each notebook displays PNG figures in its cells (no Agg backend), and
every figure it names (``save(fig, "name")`` or ``FIGURES / "name.png"``) is
written to ``notebooks/figures/`` by this run.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
FIGURE_NAME = re.compile(r"""save\(fig, "([\w-]+)"\)|FIGURES / "([\w-]+)\.png\"""")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "matplotlib.use(" not in source, "figures must show inline"
    started = time.time() - 1
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    inline = [o for o in outputs if "image/png" in o.get("data", {})]
    assert inline, f"{path.name} shows no figure inline"
    names = {a or b for a, b in FIGURE_NAME.findall(source)}
    for name in names:
        saved = NOTEBOOK_DIR / "figures" / f"{name}.png"
        assert saved.exists() and saved.stat().st_mtime >= started, f"{saved} not written"


def test_every_notebook_saves_its_figures() -> None:
    """Each new notebook's figures are shown and saved by one helper (``save``)."""
    import nbformat

    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert "matplotlib.use(" not in text, path.name
        if path.stem in ("memory_tour", "multi_granularity", "retrieval_analysis"):
            assert len(FIGURE_NAME.findall(text)) >= 3, path.name
