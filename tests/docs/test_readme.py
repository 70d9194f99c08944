"""The README documents every column of every table and its two quickstart commands."""

from __future__ import annotations

import re
from pathlib import Path

from ango_frames.schemas import SCHEMAS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_column_is_documented():
    section = README.split("## The tables", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"[a-z_0-9]+", section))
    for table, schema in SCHEMAS.items():
        assert f"**{table}**" in section, table
        missing = [name for name in schema.names if name not in documented]
        assert not missing, (table, missing)


def test_quickstart_has_exactly_two_commands():
    block = README.split("## Quickstart", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.strip().splitlines() if line.strip()]
    assert len(commands) == 2
    assert "ango-frames demo" in commands[0] and "pytest" in commands[1]
