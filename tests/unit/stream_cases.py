"""Frames for the streamed-import tests: the plans they give were recorded with the eager
importer (every label dict and chunk body built at once) in ``tests/data/stream_plans.json``.

Regenerate (only when a payload change is intended): ``python -m tests.unit.stream_cases``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tests.unit.test_labels import SCHEMA

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "stream_plans.json"

# the car / road / light classes of test_labels' ontology, with one global text answer and a
# relation (the recorded plans were made with exactly these classes)
_TOOLS = {tool["title"]: tool for tool in SCHEMA["tools"]}
ONTOLOGY = {
    "tools": [_TOOLS["car"], _TOOLS["road"], _TOOLS["light"]],
    "classifications": [{"tool": "text", "title": "note", "schemaId": "g-text"}],
    "relations": [{"title": "near", "schemaId": "r-near"}],
}


def boxes(n: int, per_asset: int = 3, seed: int = 0, **extra: Any) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    assets = np.arange(n) // per_asset
    frame = pd.DataFrame(
        {
            "external_id": [f"img_{a:05d}.jpg" for a in assets.tolist()],
            "schema_id": "t-car",
            "x": rng.uniform(0, 500, n).round(3),
            "y": rng.uniform(0, 500, n),
            "width": rng.uniform(1, 100, n),
            "height": rng.uniform(1, 100, n),
            "score": rng.uniform(0, 1, n),
        }
    )
    for name, values in extra.items():
        frame[name] = values
    return frame


def _mixed(n: int) -> pd.DataFrame:
    frame = boxes(n, per_asset=4, seed=1)
    tools = np.array(["bounding-box", "polygon", "point", "bounding-box"] * (n // 4 + 1))[:n]
    frame["tool"] = tools
    frame["schema_id"] = pd.Series(tools).map(
        {"bounding-box": "t-car", "polygon": "t-road", "point": "t-light"}
    )
    frame["points"] = [
        [[1.0, 2.0], [3.0, 4.5], [i % 7 + 0.25, 9.0]] if t == "polygon" else None
        for i, t in enumerate(tools)
    ]
    frame.loc[frame["tool"] == "point", ["width", "height"]] = np.nan
    frame["page"] = [i % 3 if i % 5 else None for i in range(n)]
    return frame


def cases() -> dict[str, dict[str, Any]]:
    """name -> keyword arguments of ``import_labels`` (besides client and project)."""
    n = 240
    skip = boxes(n, seed=2)
    skip.loc[[5, 77, 150], "width"] = -1.0  # three bad rows: left out in skip mode
    skip.loc[[9, 10, 11], "height"] = np.nan  # a whole asset rejected: no label for it
    nested = boxes(n, seed=3)
    nested["occ"] = ["yes" if i % 3 == 0 else ("no" if i % 3 == 1 else None) for i in range(n)]
    nested["parts"] = [["wheel", "door"] if i % 4 == 0 else None for i in range(n)]
    rel_objects = boxes(n, seed=4, object_id=[f"ob-{i}" for i in range(n)])
    rel = pd.DataFrame(
        {
            "external_id": [f"img_{a:05d}.jpg" for a in range(0, n // 3, 2)],
            "schema_id": "r-near",
            "from_object_id": [f"ob-{3 * a}" for a in range(0, n // 3, 2)],
            "to_object_id": [f"ob-{3 * a + 1}" for a in range(0, n // 3, 2)],
        }
    )
    cls = pd.DataFrame(
        {
            "external_id": [f"img_{a:05d}.jpg" for a in range(0, n // 3, 3)],
            "schema_id": "g-text",
            "answer": [f"note {a} ü" for a in range(0, n // 3, 3)],
        }
    )
    tracks = boxes(n, per_asset=6, seed=5, track_id=[f"t{i % 2}" for i in range(n)])
    tracks["page"] = np.arange(n) % 6
    out: dict[str, dict[str, Any]] = {
        "boxes": {"data": boxes(n)},
        "boxes_status": {"data": boxes(n, seed=6), "status": "Completed", "assignee": "a@b.c"},
        "skip": {"data": skip, "on_error": "skip"},
        "nested": {"data": nested, "nested": {"occluded": "occ", "c-parts": "parts"}},
        "relations": {"data": rel_objects, "relations": rel, "classifications": cls},
        "tracks": {"data": tracks},
        "mixed": {"data": _mixed(n)},
        "import_file": {"data": boxes(n, seed=7), "body": "import-file"},
        "import_file_nested": {
            "data": nested,
            "body": "import-file",
            "nested": {"occluded": "occ", "c-parts": "parts"},
        },
        "byte_cuts": {"data": boxes(n, seed=8), "chunk_bytes": 1500, "chunk_rows": 7},
        "big_labels": {"data": boxes(60, per_asset=20, seed=9), "chunk_bytes": 500},
        "rows_only": {"data": boxes(n, per_asset=1, seed=10), "chunk_rows": 16},
    }
    for kw in out.values():
        kw.setdefault("chunk_rows", 13)  # several chunks in every case
    return out


def plan_of(dry: Any) -> list[list[Any]]:
    """A dry run's plan as [items, bytes, sha256, key, first, last] rows."""
    cols = ["items", "bytes", "sha256", "key", "first", "last"]
    return [[_plain(v) for v in row] for row in dry.plan[cols].itertuples(index=False)]


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def record() -> None:  # pragma: no cover - run by hand
    from ango_frames.imports.send import import_labels

    out = {}
    for name, kw in cases().items():
        kw = dict(kw)
        data = kw.pop("data")
        dry = import_labels(None, "proj-1", data, ontology=ONTOLOGY, dry_run=True, **kw)
        out[name] = plan_of(dry)
    GOLDEN.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    record()
