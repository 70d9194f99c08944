"""Parts of one export flatten independently and unify to the single-stream tables."""

from __future__ import annotations

import orjson
import pandas as pd
import pyarrow as pa

from ango_frames import read_export
from ango_frames.export.dtypes import to_pandas
from ango_frames.export.flatten.columns import conform
from ango_frames.export.parts import flatten_part, unify
from ango_frames.export.records import plan_parts


def _asset(i: int, meta: dict) -> dict:
    return {
        "asset": f"https://assets.example.org/{i}.jpg",
        "externalId": f"{i}.jpg",
        "metadata": meta,
        "task": {
            "taskId": f"t{i}",
            "tools": [
                {
                    "bounding-box": {"x": i, "y": 1, "width": 2, "height": 3},
                    "objectId": f"o{i}",
                    "schemaId": "s",
                    "title": "car",
                }
            ],
            "classifications": [],
            "relations": [],
        },
    }


def test_parts_unify_to_the_single_stream_tables(tmp_path):
    # dynamic columns differ between the halves: width is int in one, float in the other,
    # `site` exists only in the second half
    records = [_asset(i, {"width": 100}) for i in range(200)] + [
        _asset(i, {"width": 12.5, "site": "north"}) for i in range(200, 400)
    ]
    path = tmp_path / "e.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in records) + b"\n")
    parts = plan_parts(str(path), target_bytes=4096)
    assert len(parts) > 3
    flat = [flatten_part(p) for p in parts]
    assert sum(f.records for f in flat) == 400
    whole = read_export(str(path))
    for name in ("tasks", "objects"):
        schema = unify(name, [f.tables[name].schema for f in flat])
        table = pa.concat_tables([conform(f.tables[name], schema) for f in flat])
        pd.testing.assert_frame_equal(to_pandas(table, name), whole[name], obj=name)
    assert (
        unify("tasks", [f.tables["tasks"].schema for f in flat]).field("metadata_width").type
        == pa.float64()
    )
