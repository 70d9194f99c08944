"""Every example notebook runs top to bottom against the local hub, without errors, and its
committed outputs are what a fresh run gives (text outputs; image bytes depend on the installed
matplotlib and FreeType, so they are checked to be present and well-formed PNGs instead)."""

from __future__ import annotations

import base64
import importlib.util
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def _load(name: str):
    """A helper module of notebooks/ (not a package), imported by path."""
    where = str(REPO / "notebooks")
    if where not in sys.path:
        sys.path.insert(0, where)
    spec = importlib.util.spec_from_file_location(name, REPO / "notebooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


common = _load("_common")


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS] == [
        "01_export_and_analyse.ipynb",
        "02_training_data.ipynb",
        "03_prelabels.ipynb",
        "04_look_and_masks.ipynb",
    ]
    built = _load("_build").NOTEBOOKS
    assert sorted(built) == [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_committed_with_their_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert all(c.outputs for c in code[:1])  # the setup cell says where it runs
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    text = path.read_text(encoding="utf-8")
    for leak in ("/tmp/", "/home/", "/root/", "/work/", '"execution": {', "Traceback"):
        assert leak not in text
    assert "127.0.0.1:PORT" in text or "127.0.0.1:" not in text  # the hub's port is masked
    images = [
        o["data"]["image/png"] for c in code for o in c.outputs if "image/png" in o.get("data", {})
    ]
    for png in images:
        assert base64.b64decode(png).startswith(b"\x89PNG\r\n\x1a\n")
    if path.stem[:2] in ("01", "04"):
        assert images, "the plots are not in the committed outputs"
    # the cells are exactly the ones _build.py writes
    cells = _load("_build").NOTEBOOKS[path.name]
    assert [c.source for c in nb.cells] == [c.source for c in common.build(path.name, cells).cells]


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_gives_the_committed_outputs(path, tmp_path, monkeypatch):
    # never a real project from the developer's environment: execute() runs the local hub only
    monkeypatch.setenv("ANGO_API_KEY", "must-not-reach-the-kernel")
    committed = nbformat.read(path, as_version=4)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    probe = nbformat.v4.new_code_cell(
        "import os, sys; print(sys.executable, 'ANGO_API_KEY' in os.environ, end='')"
    )
    nb.cells.append(probe)  # not saved: asks the kernel which interpreter runs it
    work = tmp_path / "work"
    work.mkdir()
    common.execute(nb, work)  # raises CellExecutionError, naming the cell, on any error
    assert probe.outputs[0]["text"] == f"{sys.executable} False"
    nb.cells.pop()
    assert list(work.iterdir()) == []  # nothing left in the working directory
    first = next(c for c in nb.cells if c.cell_type == "code")
    setup = "".join(o.get("text", "") for o in first.outputs)
    assert "127.0.0.1" in setup
    assert common.text_outputs(common.scrub(nb)) == common.text_outputs(committed)
