"""The Parquet contract: datasets written for SCHEMA_VERSION "1" stay readable, values and types.

The datasets in tests/data/parquet_v1/ were written once and are never regenerated; types.json
is the version 1 type of every column. A change that breaks them needs a new schema version.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import orjson
import pandas as pd
import pyarrow.parquet as pq
import pytest

from ango_frames.errors import ExportFormatError
from ango_frames.export.parquet import METADATA_KEY
from ango_frames.export.tables import ExportTables
from ango_frames.schemas import SCHEMA_VERSION, TABLE_NAMES, schema_for

GOLDEN = Path(__file__).parent.parent / "data" / "parquet_v1"
DATASETS = ("plain", "by_stage", "by_stage_pandas")
TYPES = json.loads((GOLDEN / "types.json").read_text())


def _sorted(frame: pd.DataFrame, *keys: str) -> pd.DataFrame:
    return frame.sort_values(list(keys)).reset_index(drop=True)


@pytest.mark.parametrize("name", DATASETS)
def test_golden_types(name: str) -> None:
    tables = ExportTables.from_parquet(GOLDEN / name)
    for table in TABLE_NAMES:
        frame = tables[table]
        got = {c: str(t.pyarrow_dtype) for c, t in frame.dtypes.items()}
        assert {c: got.get(c) for c in TYPES[table]} == TYPES[table], table
        # columns added to version 1 since (additive changes) read as null, in schema order
        added = [c for c in got if c not in TYPES[table]]
        assert set(added) <= set(schema_for(table).names), table
        assert all(frame[c].isna().all() for c in added), table
        assert list(frame.columns[: len(schema_for(table))]) == schema_for(table).names


@pytest.mark.parametrize("name", DATASETS)
def test_golden_values(name: str) -> None:
    tables = ExportTables.from_parquet(GOLDEN / name)
    assert tables.provenance["source"] == "export.ndjson"
    counts = {t: len(tables[t]) for t in TABLE_NAMES}
    assert counts == {
        "tasks": 4,
        "objects": 12,
        "classifications": 16,
        "relations": 4,
        "stage_history": 4,
        "history_objects": 4,
        "history_classifications": 0,
        "history_relations": 0,
        "issues": 1,
    }
    tasks = _sorted(tables.tasks, "task_id")
    assert tasks["stage"].tolist() == ["Label", "Review", "Complete", "Quality Check"]
    assert tasks["metadata_width"].tolist() == [640, 641, 642, 643]
    assert tasks["metadata_night"].tolist() == [True, False, True, False]
    assert tasks["total_duration_ms"].tolist() == [0, 1000, 2000, 3000]
    assert tasks["updated_at"][0] == pd.Timestamp("2024-11-01T08:03:12.551Z")
    assert list(tasks["batches"][3]) == []
    objects = _sorted(tables.objects, "task_id", "object_id", "page")
    track = objects[objects["object_id"] == "trk1"]
    assert track["page"].tolist() == [11, 12]
    assert track["x"].tolist() == [1.5, 2.5]
    assert track["key_frame"].tolist()[0] is True and pd.isna(track["key_frame"].tolist()[1])
    assert track["interpolation_stopped"].tolist()[1] is True
    point = objects[objects["object_id"] == "pt1"].iloc[0]
    assert point["lock"] is True and list(map(list, point["points"])) == [[1.0, 1.5]]
    nested = tables.classifications.query("classification_id == 'n2'").iloc[0]
    assert (nested["object_id"], nested["answer"]) == ("pt2", "red")
    tags = tables.classifications.query("classification_id == 'k0'")
    assert tags["answer"].tolist() == ["blur", "dark"]
    history = tables.stage_history.iloc[0]
    assert history["completed_at"] == pd.Timestamp(1730448192551, unit="ms", tz="UTC")
    issue = tables.issues.iloc[0]
    assert list(issue["position_values"]) == [212.0, 130.5]
    assert issue["comments"][0]["content"] == "ok"


def test_golden_plain_pandas_types() -> None:
    objects = pd.read_parquet(GOLDEN / "by_stage_pandas" / "objects")
    assert str(objects["page"].dtype) == "int32[pyarrow]"
    assert str(objects["key_frame"].dtype) == "bool[pyarrow]"
    assert sorted(set(objects["stage"])) == ["Complete", "Label", "Quality Check", "Review"]


def test_version_is_still_one() -> None:
    assert SCHEMA_VERSION == "1"  # a new version needs its own golden datasets and reader


def test_newer_schema_version_is_a_clear_error(tmp_path: Path) -> None:
    dest = tmp_path / "d"
    shutil.copytree(GOLDEN / "plain", dest)
    path = dest / "objects" / "part-00000.parquet"
    table = pq.read_table(path)
    blob = orjson.loads(table.schema.metadata[METADATA_KEY])
    blob["schema_version"] = "2"
    meta = {**table.schema.metadata, METADATA_KEY: orjson.dumps(blob)}
    pq.write_table(table.replace_schema_metadata(meta), path)
    with pytest.raises(
        ExportFormatError, match=r"part-00000\.parquet.*schema version '2'.*upgrade"
    ):
        ExportTables.from_parquet(dest)
    assert len(ExportTables.from_parquet(dest, tables=["tasks"]).tasks) == 4
