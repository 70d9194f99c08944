"""read_export and ExportTables: frames, dtypes, json vs ndjson, warnings."""

from __future__ import annotations

import warnings
from pathlib import Path

import orjson
import pandas as pd
import pandas.testing as pdt
import pytest

from ango_frames.errors import ConfigError, UnknownKeysWarning
from ango_frames.export.dtypes import empty_frame, pandas_dtypes, to_pandas
from ango_frames.export.tables import ExportTables, read_export
from ango_frames.schemas import SCHEMAS, TABLE_NAMES


def _asset(i: int) -> dict:
    return {
        "asset": f"https://files.example.org/{i}.jpg",
        "externalId": f"{i}.jpg",
        "metadata": {"width": 640, "height": 480},
        "batches": ["b1"],
        "task": {
            "taskId": f"t{i}",
            "stage": "Complete",
            "updatedAt": "2024-11-02T09:14:07.120Z",
            "tools": [
                {"objectId": f"o{i}", "bounding-box": {"x": 1, "y": 2, "width": -3, "height": 4}},
                {"objectId": f"p{i}", "polygon": [[0, 0], [1, 0], [1, 1]]},
            ],
            "classifications": [{"objectId": f"c{i}", "tool": "checkbox", "answer": ["a", "b"]}],
            "relations": [{"objectId": f"r{i}", "from": f"o{i}", "to": f"p{i}"}],
        },
    }


RECORDS = [_asset(i) for i in range(5)]


def test_frames_dtypes_and_joins() -> None:
    t = read_export(RECORDS)
    assert isinstance(t, ExportTables)
    assert t.names() == TABLE_NAMES and list(t) == list(TABLE_NAMES)
    assert (len(t.tasks), len(t.objects), len(t.classifications), len(t.relations)) == (
        5,
        10,
        10,
        5,
    )
    assert all(isinstance(d, pd.ArrowDtype) for _, f in t.items() for d in f.dtypes)
    assert str(t.tasks["updated_at"].dtype) == "timestamp[ms, tz=UTC][pyarrow]"
    assert t.tasks["metadata_width"].tolist() == [640] * 5
    joined = t.objects.merge(t.tasks[["task_id", "external_id"]], on="task_id")
    assert joined["external_id"].tolist() == [f"{i}.jpg" for i in range(5) for _ in (0, 1)]
    assert t["objects"] is t.objects
    assert repr(t).startswith("ExportTables(tasks=5, objects=10, classifications=10, relations=5")
    assert t.issues.empty and list(t.issues.columns) == SCHEMAS["issues"].names
    assert t.provenance["source"] == "<records>"


def test_empty_frames_have_schema_dtypes() -> None:
    frame = empty_frame("objects")
    assert list(frame.columns) == SCHEMAS["objects"].names
    assert dict(frame.dtypes) == pandas_dtypes("objects")
    with pytest.raises(ConfigError, match="task_id"):
        to_pandas(SCHEMAS["objects"].empty_table().drop(["task_id"]), "objects")


def test_json_and_ndjson_files_give_identical_tables(tmp_path: Path) -> None:
    as_json = tmp_path / "export.json"
    as_json.write_bytes(orjson.dumps(RECORDS))
    as_ndjson = tmp_path / "export.ndjson"
    as_ndjson.write_bytes(b"\n".join(orjson.dumps(r) for r in RECORDS) + b"\n")
    a, b = read_export(as_json), read_export(str(as_ndjson))
    for name in TABLE_NAMES:
        pdt.assert_frame_equal(a[name], b[name])
    pdt.assert_frame_equal(a.objects, read_export(RECORDS).objects)
    assert a.provenance["source"].endswith("export.json")


def test_unknown_keys_warned_once_with_counts() -> None:
    records = [{**r, "surprise": 1, "task": {**r["task"], "odd": 2}} for r in RECORDS]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = read_export(records)
    ours = [w for w in caught if issubclass(w.category, UnknownKeysWarning)]
    assert len(ours) == 1
    message = str(ours[0].message)
    assert "asset.surprise (5)" in message and "task.odd (5)" in message
    assert ours[0].filename == __file__  # points at the caller
    assert t.tasks["extra"].tolist() == ['{"surprise":1,"task.odd":2}'] * 5


def test_tables_subset() -> None:
    t = read_export(RECORDS, tables=["objects"])
    assert len(t.objects) == 10 and t.tasks.empty and t.classifications.empty
    with pytest.raises(ConfigError):
        read_export(RECORDS, tables=["object"])


def test_widened_dynamic_column_across_batches() -> None:
    # enough rows for several Flattener batches; the type changes in the last record
    records = [{"externalId": f"{i}", "metadata": {"k": i}} for i in range(70000)]
    records.append({"externalId": "last", "metadata": {"k": "text"}, "contextData": {"new": 1.5}})
    t = read_export(records, tables=["tasks"])
    assert str(t.tasks["metadata_k"].dtype) == "string[pyarrow]"
    assert t.tasks["metadata_k"].iloc[[0, 69999, 70000]].tolist() == ["0", "69999", "text"]
    assert t.tasks["context_new"].isna().sum() == 70000
