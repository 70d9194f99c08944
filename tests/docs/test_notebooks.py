"""Every example notebook runs top to bottom against the local hub, without errors."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
REPO = Path(__file__).resolve().parents[2]
KERNEL = "ango-frames-this-checkout"


def checkout_kernel(monkeypatch, where: Path):
    """A kernel manager for this checkout's interpreter (``sys.executable``).

    The kernel spec lives in a temporary ``JUPYTER_PATH`` under a name of its own, so a user-level
    ``python3`` kernelspec (pointing to another environment) is neither used nor written over.
    """
    from jupyter_client.manager import KernelManager

    spec = where / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    body = {"argv": argv, "display_name": "ango_frames (this checkout)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(body))
    monkeypatch.setenv("JUPYTER_PATH", str(where))
    km = KernelManager(kernel_name=KERNEL)
    assert km.kernel_spec.argv[0] == sys.executable
    return km


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS] == [
        "01_export_and_analyse.ipynb",
        "02_training_data.ipynb",
        "03_prelabels.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    # never a real project from the developer's environment: the local hub only
    monkeypatch.delenv("ANGO_API_KEY", raising=False)
    monkeypatch.delenv("ANGO_PROJECT", raising=False)
    # the kernel imports this checkout's ango_frames, whatever the working directory
    path_var = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    monkeypatch.setenv("PYTHONPATH", path_var)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    work = tmp_path / "work"
    work.mkdir()
    km = checkout_kernel(monkeypatch, tmp_path / "jupyter")
    probe = nbformat.v4.new_code_cell("import sys; print(sys.executable, end='')")
    nb.cells.append(probe)  # not saved: asks the kernel which interpreter runs it
    client = nbclient.NotebookClient(
        nb, km=km, timeout=60, resources={"metadata": {"path": str(work)}}
    )
    try:
        client.execute()  # raises CellExecutionError, naming the cell, on any error
    finally:
        # nbclient leaves a kernel it did not create running: stop it gracefully, so that the
        # kernel's own exit clean-up (temporary export files) runs
        if km.has_kernel:
            km.shutdown_kernel(now=False)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors
    # the kernel ran this checkout's interpreter, the local hub was used and stopped in the end
    assert probe.outputs[0]["text"] == sys.executable
    setup = "".join(o.get("text", "") for o in code[0].outputs)
    assert "127.0.0.1" in setup
    assert list(work.iterdir()) == []  # nothing left in the working directory
    if path.stem.startswith("01"):
        images = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
        assert images, "the plot did not render into the outputs"
