"""The README documents every column of every table and its two quickstart commands."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ango_frames.schemas import SCHEMAS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_column_is_documented():
    section = README.split("## The tables", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"[a-z_0-9]+", section))
    for table, schema in SCHEMAS.items():
        assert f"**{table}**" in section, table
        missing = [name for name in schema.names if name not in documented]
        assert not missing, (table, missing)


def _quickstart() -> list[str]:
    block = README.split("## Quickstart", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [line for line in block.strip().splitlines() if line.strip()]


def test_quickstart_command_1_installs_the_library_alone_and_runs_the_demo():
    commands = _quickstart()
    assert len(commands) == 2
    assert commands[0] == (
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && ango-frames demo"
    )


def test_quickstart_command_2_installs_the_test_extra_and_runs_the_tests():
    second = _quickstart()[1]
    assert second == ". .venv/bin/activate && pip install -e '.[test]' && python -m pytest"


def test_ci_runs_command_2_and_leaves_the_users_kernels_alone():
    ci = (ROOT / ".ci" / "run").read_text()
    lines = [ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.startswith("#")]
    assert "python -m pip install --quiet -e '.[test]'" in lines
    assert lines[-1] == "python -m pytest"  # command 2's test command, last
    assert lines.index("ruff check .") < lines.index("mypy") < lines.index("python -m pytest")
    assert "ipykernel install" not in ci and "kernelspec" not in ci


def test_the_readme_says_how_to_install_from_a_checkout():
    assert "pip install -e '.[dask]'" in README
    figure = re.search(r"an empty pip cache it took \d+ s on the 2-core machine", README)
    assert figure, "command 1's measured time is in the README"


def _extras_only() -> set[str]:
    """Import names of what the extras add over the core dependencies (pyproject.toml)."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {re.split(r"[<>=\[; ]", d)[0].lower() for d in meta["dependencies"]}
    extra = {
        re.split(r"[<>=\[; ]", d)[0].lower()
        for deps in meta["optional-dependencies"].values()
        for d in deps
    }
    names = {"imerit-ango": "imerit_ango", "pillow": "PIL", "pandas-stubs": "pandas-stubs"}
    return {names.get(n, n.replace("-", "_")) for n in extra - core - {"ango-frames"}}


def test_command_1_needs_nothing_beyond_the_core_dependencies(tmp_path):
    # the demo runs with every package that only an extra installs made unimportable
    blocked = sorted(_extras_only() | {"distributed"})
    assert {"dask", "pytest", "nbclient", "matplotlib"} <= set(blocked)
    script = textwrap.dedent(
        f"""
        import sys
        BLOCKED = {blocked!r}
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"blocked: {{name}}")
        sys.meta_path.insert(0, Block())
        from ango_frames.cli import main
        sys.exit(main(["demo", "--out", "demo"]))
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("ANGO_API_KEY", "PYTHONPATH")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "re-export:" in done.stdout
