"""export_to_parquet / ExportTables.to_parquet: round trips, metadata, widening, partitions."""

from __future__ import annotations

import uuid
from pathlib import Path

import fsspec
import orjson
import pandas.testing as pdt
import pyarrow.parquet as pq
import pytest

from ango_frames.errors import ConfigError
from ango_frames.export.parquet import METADATA_KEY, export_to_parquet
from ango_frames.export.tables import ExportTables, read_export
from ango_frames.schemas import SCHEMA_VERSION, TABLE_NAMES


def _asset(i: int, stage: str, batch: str, **meta: object) -> dict:
    return {
        "asset": f"https://files.example.org/{i}.jpg",
        "externalId": f"{i}.jpg",
        "metadata": {"width": 640, **meta},
        "batches": [batch],
        "task": {
            "taskId": f"t{i}",
            "stage": stage,
            "tools": [
                {"objectId": f"o{i}", "bounding-box": {"x": i, "y": 2, "width": -3, "height": 4}},
                {
                    "objectId": f"s{i}",
                    "segmentation": {"zones": [{"region": [[0, 0], [1, 1]], "holes": []}]},
                },
            ],
            "classifications": [
                {"objectId": f"c{i}", "tool": "tree-dropdown", "answer": ["A / B"]}
            ],
            "relations": [{"objectId": f"r{i}", "group": [f"o{i}", f"s{i}"]}],
            "stageHistory": [
                {"stage": "Label", "completedAt": 1730448192551, "tools": [{"point": [i, i]}]}
            ],
        },
    }


RECORDS = [_asset(i, ["Label", "Review", "Complete"][i % 3], f"b{i % 2}") for i in range(12)]


def _write(path: Path, records: list) -> Path:
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in records) + b"\n")
    return path


def _assert_equal(a: ExportTables, b: ExportTables, sort: bool = False) -> None:
    for name in TABLE_NAMES:
        left, right = a[name], b[name]
        if sort and len(left):
            keys = [
                c
                for c in (
                    "task_id",
                    "history_order",
                    "object_id",
                    "classification_id",
                    "relation_id",
                    "answer_index",
                )
                if c in left
            ]
            left = left.sort_values(keys).reset_index(drop=True)
            right = right.sort_values(keys).reset_index(drop=True)
        pdt.assert_frame_equal(left, right, check_like=False)


@pytest.mark.parametrize("where", ["local", "memory"])
def test_round_trip_equals_read_export(tmp_path: Path, where: str) -> None:
    src = _write(tmp_path / "export.ndjson", RECORDS)
    dest = str(tmp_path / "out") if where == "local" else f"memory://{uuid.uuid4().hex}"
    paths = export_to_parquet(src, dest)
    assert set(paths) == set(TABLE_NAMES)
    back = ExportTables.from_parquet(dest)
    _assert_equal(read_export(src), back)
    assert back.provenance["source"].endswith("export.ndjson")


def test_every_file_carries_metadata(tmp_path: Path) -> None:
    src = _write(tmp_path / "export.ndjson", RECORDS)
    export_to_parquet(src, tmp_path / "out", row_group_rows=5)
    files = sorted((tmp_path / "out").rglob("*.parquet"))
    assert {f.parent.name for f in files} == set(TABLE_NAMES)  # empty tables too
    for f in files:
        meta = orjson.loads(pq.read_schema(f).metadata[METADATA_KEY])
        assert meta["schema_version"] == SCHEMA_VERSION and meta["table"] == f.parent.name
        assert meta["provenance"]["source"].endswith("export.ndjson")
    objects = pq.ParquetFile(tmp_path / "out" / "objects" / "part-00000.parquet")
    assert objects.metadata.num_row_groups >= 4  # row groups flushed as they fill


def test_dictionaries_only_for_repeating_strings(tmp_path: Path) -> None:
    src = _write(tmp_path / "export.ndjson", RECORDS)
    export_to_parquet(src, tmp_path / "out")
    meta = pq.ParquetFile(tmp_path / "out" / "objects" / "part-00000.parquet").metadata
    group = meta.row_group(0)
    dictionary = {
        group.column(i).path_in_schema: group.column(i).has_dictionary_page
        for i in range(group.num_columns)
    }
    assert dictionary["task_id"] and dictionary["tool"]  # repeats across rows
    assert not dictionary["object_id"] and not dictionary["extra"]  # one value per row
    assert not dictionary["x"]  # numbers are plain-encoded


def test_dynamic_columns_widen_mid_stream(tmp_path: Path) -> None:
    records = [_asset(i, "Complete", "b") for i in range(10)]
    records += [_asset(10 + i, "Complete", "b", height=480, score=0.5) for i in range(10)]
    records += [_asset(20 + i, "Complete", "b", height="tall") for i in range(10)]
    src = _write(tmp_path / "export.ndjson", records)
    dest = f"memory://{uuid.uuid4().hex}"
    export_to_parquet(src, dest, row_group_rows=4)
    fs = fsspec.filesystem("memory")
    parts = sorted(
        p for p in fs.find(dest.removeprefix("memory://") + "/tasks") if p.endswith(".parquet")
    )
    assert len(parts) == 3  # a new part each time the schema widened
    schemas = []
    for p in parts:
        with fs.open(p, "rb") as h:
            schemas.append(pq.read_schema(h).remove_metadata())
    assert all(s.equals(schemas[0]) for s in schemas)  # ... then unified
    assert str(schemas[0].field("metadata_height").type) == "string"
    back = ExportTables.from_parquet(dest)
    _assert_equal(read_export(src), back)
    height = back.tasks["metadata_height"]
    assert height.isna().iloc[9] and height.iloc[10] == "480" and height.iloc[20] == "tall"


@pytest.mark.parametrize("by", ["stage", "batch"])
def test_partitioned_layout_and_equality(tmp_path: Path, by: str) -> None:
    src = _write(tmp_path / "export.ndjson", RECORDS)
    export_to_parquet(src, tmp_path / "out", partition_by=by, row_group_rows=3)
    values = {"stage": {"Label", "Review", "Complete"}, "batch": {"b0", "b1"}}[by]
    for table in ("tasks", "objects", "history_objects", "classifications"):
        dirs = {p.name for p in (tmp_path / "out" / table).iterdir()}
        assert dirs == {f"{by}={v}" for v in values}
    back = ExportTables.from_parquet(tmp_path / "out")
    _assert_equal(read_export(src), back, sort=True)
    # the rows of a task sit in its task's partition
    label = ExportTables.from_parquet(tmp_path / "out", tables=["objects"])
    assert len(label.objects) == 24
    if by == "stage":
        objs = (
            pq.read_table(tmp_path / "out" / "objects" / "stage=Label")
            .column("task_id")
            .to_pylist()
        )
        assert set(objs) == {f"t{i}" for i in range(0, 12, 3)}


def test_exporttables_to_parquet_round_trip(tmp_path: Path) -> None:
    tables = read_export(RECORDS)
    dest = f"memory://{uuid.uuid4().hex}"
    tables.to_parquet(dest)
    _assert_equal(tables, ExportTables.from_parquet(dest))
    tables.to_parquet(tmp_path / "p", partition_by="stage")
    _assert_equal(tables, ExportTables.from_parquet(tmp_path / "p"), sort=True)


def test_bad_arguments(tmp_path: Path) -> None:
    src = _write(tmp_path / "export.ndjson", RECORDS[:1])
    with pytest.raises(ConfigError, match="partition_by"):
        export_to_parquet(src, tmp_path / "o", partition_by="week")
    with pytest.raises(ConfigError, match="row_group_rows"):
        export_to_parquet(src, tmp_path / "o", row_group_rows=0)
    with pytest.raises(ConfigError):
        export_to_parquet(src, tmp_path / "o", tables=["nope"])


def test_progress_and_table_subset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(tmp_path / "export.ndjson", RECORDS)
    paths = export_to_parquet(src, tmp_path / "o", tables=["objects"], progress=True)
    assert list(paths) == ["objects"]
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["objects"]
    assert "records" in capsys.readouterr().err
