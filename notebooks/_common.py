"""What the notebooks share, and how ``_build.py`` executes them into deterministic outputs.

``execute`` runs a notebook in a kernel of this interpreter (declared in a temporary
``JUPYTER_PATH``, so no user kernelspec is used or written) against the local hub, with no real
project credentials in its environment. ``scrub`` makes the result reproducible: no timing
metadata, no kernel versions, the hub's varying port masked; it refuses outputs that name a
temporary folder. Text outputs are then the same on every run; PNG bytes are the same for the
same matplotlib and FreeType versions (figures are saved without a ``Software`` stamp).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
KERNEL = "ango-frames-this-checkout"
_PORT = re.compile(r"(127\.0\.0\.1|localhost):\d+")

SETUP = """\
import os

import pandas as pd

import ango_frames.accessor  # noqa: F401  (registers df.ango; `import ango_frames` does too)
from ango_frames import Client, read_export

pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 12)

if os.environ.get("ANGO_API_KEY") and os.environ.get("ANGO_PROJECT"):
    # a real project: the key comes from ANGO_API_KEY and is never printed
    hub = None
    client = Client(region=os.environ.get("ANGO_REGION", "eu"))
    project_id = os.environ["ANGO_PROJECT"]
else:
    # the local Ango Hub: a real HTTP server on 127.0.0.1 with a deterministic demo project
    from ango_frames.testing import LocalHub

    hub = LocalHub().start()
    client = Client(base_url=hub.url, api_key=hub.api_key)
    project_id = hub.project_id
# the hub's port changes from run to run: name the host only, so outputs stay the same
where = "local Ango Hub on 127.0.0.1" if hub is not None else client
print(where, "project", project_id)"""

TEARDOWN = """\
client.close()
if hub is not None:
    hub.stop()"""

WHERE = (
    "Runs against the built-in local Ango Hub by default. Set `ANGO_API_KEY` and `ANGO_PROJECT`"
    " (and `ANGO_REGION`, default `eu`) to run it on a real project instead."
)

SHOW = """\
import io

import matplotlib

matplotlib.use("Agg")  # no display needed: each figure goes into the notebook as a PNG
from IPython.display import Image, display


def show(fig, dpi=72):
    \"\"\"Put a matplotlib figure into the notebook (PNG without metadata: stable bytes).\"\"\"
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    display(Image(png.getvalue()))"""


def build(name: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """One notebook, without outputs, for the python3 kernel."""
    nb = new_notebook(
        cells=[
            new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in cells
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{Path(name).stem[:2]}-{i:02d}"  # stable ids: no churn between builds
    return nb


@contextlib.contextmanager
def _environment(jupyter_path: Path) -> Iterator[None]:
    """The kernel's environment: this checkout first, Agg, no real project, our kernel spec."""
    saved = dict(os.environ)
    try:
        for name in ("ANGO_API_KEY", "ANGO_PROJECT"):
            os.environ.pop(name, None)
        path = [str(REPO), os.environ.get("PYTHONPATH", "")]
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in path if p)
        os.environ["MPLBACKEND"] = "Agg"
        os.environ["JUPYTER_PATH"] = str(jupyter_path)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def execute(nb: nbformat.NotebookNode, workdir: Path, timeout: int = 90) -> None:
    """Run every cell of ``nb`` in place (raises ``CellExecutionError`` naming a failing cell)."""
    import nbclient
    from jupyter_client.manager import KernelManager

    with tempfile.TemporaryDirectory(prefix="ango-kernel-") as jupyter:
        spec = Path(jupyter) / "kernels" / KERNEL
        spec.mkdir(parents=True)
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        body = {"argv": argv, "display_name": "ango_frames (this checkout)", "language": "python"}
        (spec / "kernel.json").write_text(json.dumps(body))
        with _environment(Path(jupyter)):
            km = KernelManager(kernel_name=KERNEL)
            if km.kernel_spec.argv[0] != sys.executable:
                raise RuntimeError("the notebook kernel is not this interpreter")
            client = nbclient.NotebookClient(
                nb,
                km=km,
                timeout=timeout,
                record_timing=False,
                resources={"metadata": {"path": str(workdir)}},
            )
            try:
                client.execute()
            finally:
                # nbclient leaves a kernel it was given running: stop it gracefully, so that the
                # kernel's own exit clean-up (temporary export files) runs
                if km.has_kernel:
                    km.shutdown_kernel(now=False)


def scrub(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop what changes between runs; refuse outputs that show a temporary folder."""
    nb.metadata["language_info"] = {"name": "python"}
    temp = tempfile.gettempdir()
    local = (temp, str(REPO), sys.prefix)  # no path of the machine that built it
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for out in cell.get("outputs", []):
            if "text" in out:
                out["text"] = _PORT.sub(r"\1:PORT", out["text"])
            for kind, value in out.get("data", {}).items():
                if kind.startswith("text/") and isinstance(value, str):
                    out["data"][kind] = _PORT.sub(r"\1:PORT", value)
            text = json.dumps(out)
            shown = [p for p in local if p in text]
            if shown or "Traceback" in text:
                raise ValueError(f"cell {cell.get('id')}: output shows {shown} or an error")
    return nb


def text_outputs(nb: nbformat.NotebookNode) -> list[list[str]]:
    """Per code cell, its stream texts and text/* representations (images left out)."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        texts = []
        for o in cell.outputs:
            if "text" in o:
                texts.append(o["text"])
            texts.extend(v for k, v in sorted(o.get("data", {}).items()) if k.startswith("text/"))
        out.append(texts)
    return out


def build_executed(name: str, cells: list[tuple[str, str]]) -> str:
    """The notebook's JSON text: built, executed in an empty folder, scrubbed."""
    nb = build(name, cells)
    with tempfile.TemporaryDirectory(prefix="ango-notebook-") as work:
        execute(nb, Path(work))
        if any(Path(work).iterdir()):
            raise ValueError(f"{name} left files in its working directory")
    nbformat.validate(nb)
    return nbformat.writes(scrub(nb)) + "\n"
