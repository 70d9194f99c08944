"""imports/ from its folder listing: a leaf of reason codes, no circles, one options object."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pandas as pd
import pytest

import ango_frames.imports as imports_pkg
from ango_frames.errors import ConfigError
from ango_frames.imports.annotate import annotate_payloads, build_annotations
from ango_frames.imports.import_file import build_import_file, import_file_items
from ango_frames.imports.labels import build_labels, labels_payload, validate_labels
from ango_frames.imports.options import PayloadOptions

ROOT = Path(imports_pkg.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every ango_frames.imports module ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if (
                name.startswith("ango_frames.imports.")
                and (ROOT / f"{name.split('.')[2]}.py").exists()
            ):
                found.add(name.split(".")[2])
    return found


GRAPH = {p.stem: _imports(p) - {p.stem} for p in ROOT.glob("*.py") if p.stem != "__init__"}


def test_problems_is_the_leaf():
    assert GRAPH["problems"] == set()


def test_no_import_circle_also_not_through_function_level_imports():
    def reach(start: str) -> set[str]:
        seen, todo = set(), list(GRAPH[start])
        while todo:
            mod = todo.pop()
            if mod not in seen:
                seen.add(mod)
                todo.extend(GRAPH.get(mod, ()))
        return seen

    assert [m for m in GRAPH if m in reach(m)] == []


def test_validate_labels_lives_beside_build_labels():
    assert validate_labels.__module__ == build_labels.__module__ == "ango_frames.imports.labels"


def test_no_module_over_450_lines():
    assert {
        p.name: n for p in ROOT.glob("*.py") if (n := len(p.read_text().splitlines())) > 450
    } == {}


BUILDERS = [labels_payload, build_labels, validate_labels, annotate_payloads, build_annotations,
            build_import_file, import_file_items]  # fmt: skip


@pytest.mark.parametrize("fn", BUILDERS, ids=lambda f: f.__name__)
def test_every_builder_takes_the_one_options_object_not_its_fields(fn):
    params = inspect.signature(fn).parameters
    assert "options" in params
    assert not {"box_format", "normalized", "sizes", "nested", "on_error"} & set(params)


def test_options_are_validated_once_and_keywords_equal_the_object():
    df = pd.DataFrame({"external_id": ["a"], "schema_id": ["s"], "x1": [1.0], "y1": [1.0],
                       "x2": [3.0], "y2": [4.0]})  # fmt: skip
    by_object = labels_payload(df, "P", options=PayloadOptions(box_format="xyxy"))
    assert by_object == labels_payload(df, "P", box_format="xyxy")
    for bad in ({"box_format": "xy"}, {"on_error": "ignore"}, {"status": 3}, {"normalized": "yes"}):
        with pytest.raises(ConfigError):
            PayloadOptions(**bad)
    with pytest.raises(TypeError, match="boxformat"):
        labels_payload(df, "P", boxformat="xyxy")
