"""Our Parquet datasets read with their documented types by pandas, pyarrow, polars and DuckDB;
ExportTables.to_arrow / to_polars / to_duckdb."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from ango_frames.export.parquet import export_to_parquet
from ango_frames.export.tables import ExportTables, read_export
from ango_frames.schemas import schema_for

SRC = Path(__file__).parent.parent / "data" / "parquet_v1" / "export.ndjson"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("interop")
    out = {}
    for by in (None, "stage", "batch"):
        out[by] = root / str(by)
        export_to_parquet(SRC, out[by], partition_by=by)
    return out


def _glob(path: Path) -> str:
    return f"{path}/**/*.parquet"


def test_plain_pandas_reads_documented_dtypes(written: dict) -> None:
    ours = ExportTables.from_parquet(written[None])
    for name in ("tasks", "objects", "classifications", "issues"):
        plain = pd.read_parquet(written[None] / name)
        assert list(plain.columns) == list(ours[name].columns)
        for field in ours[name].columns:
            kind = ours[name][field].dtype.pyarrow_dtype
            got = plain[field].dtype
            if pa.types.is_nested(kind):
                assert got == np.dtype(object), field  # pandas' own dtype for lists and structs
            elif pa.types.is_string(kind):
                assert got == pd.StringDtype("pyarrow"), field
            else:
                assert got == pd.ArrowDtype(kind), field
    objects = pd.read_parquet(written[None] / "objects")
    assert str(objects["page"].dtype) == "int32[pyarrow]"
    assert objects["page"].tolist()[:2] == [10, 11] and objects["page"].isna().sum() == 4
    assert str(objects["lock"].dtype) == "bool[pyarrow]"
    assert objects["lock"].dropna().tolist() == [False, True, False, True]
    tasks = pd.read_parquet(written[None] / "tasks")
    assert str(tasks["metadata_night"].dtype) == "bool[pyarrow]"
    assert str(tasks["updated_at"].dtype) == "timestamp[ms, tz=UTC][pyarrow]"
    assert isinstance(tasks.index, pd.RangeIndex)


def test_pyarrow_reads_the_schema(written: dict) -> None:
    for name in ("tasks", "objects", "stage_history", "issues"):
        table = pq.read_table(written[None] / name)
        expected = schema_for(name)
        assert table.schema.names[: len(expected)] == expected.names
        for field in expected:
            assert table.schema.field(field.name).type == field.type, (name, field.name)


@pytest.mark.parametrize("by", ["stage", "batch"])
def test_partitioned_read_by_each_tool(written: dict, by: str) -> None:
    root = written[by]
    ours = ExportTables.from_parquet(root)
    stage_of = dict(zip(ours.tasks["task_id"], ours.tasks["stage"], strict=True))
    # pyarrow / pandas infer a dictionary for the folders; with a null folder present, name the type
    partitioning = ds.partitioning(pa.schema([(by, pa.string())]), flavor="hive")
    tasks = pd.read_parquet(root / "tasks", partitioning=partitioning)
    assert len(tasks) == 4
    if by == "stage":
        assert sorted(tasks["stage"]) == sorted(stage_of.values())
        objects = pd.read_parquet(root / "objects")  # no null folder: plain call
        assert {t: s for t, s in zip(objects["task_id"], objects["stage"], strict=True)} == (
            stage_of
        )
        assert str(objects["page"].dtype) == "int32[pyarrow]"
    frame = pl.read_parquet(_glob(root / "objects"), hive_partitioning=True)
    assert frame.schema["page"] == pl.Int32 and frame.schema["key_frame"] == pl.Boolean
    assert frame.height == 12
    rows = duckdb.sql(
        f"SELECT count(*), count(DISTINCT {by}) FROM read_parquet('{_glob(root / 'objects')}', "
        "hive_partitioning = true)"
    ).fetchall()[0]
    assert rows == (12, 4 if by == "stage" else 2)


def test_polars_and_duckdb_read_documented_types(written: dict) -> None:
    objects = pl.read_parquet(_glob(written[None] / "objects"))
    assert objects.schema["page"] == pl.Int32
    assert objects.schema["lock"] == pl.Boolean
    assert objects.schema["points"] == pl.List(pl.List(pl.Float64))
    assert objects.schema["created_at"] == pl.Datetime("ms", "UTC")
    assert objects["page"].to_list()[:2] == [10, 11]
    types = dict(
        duckdb.sql(
            f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
            f"read_parquet('{_glob(written[None] / 'objects')}'))"
        ).fetchall()
    )
    assert types["page"] == "INTEGER" and types["lock"] == "BOOLEAN"
    assert types["points"] == "DOUBLE[][]"
    assert types["created_at"] == "TIMESTAMP WITH TIME ZONE"
    tasks = dict(
        duckdb.sql(
            f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
            f"read_parquet('{_glob(written[None] / 'tasks')}'))"
        ).fetchall()
    )
    assert tasks["metadata_night"] == "BOOLEAN" and tasks["task_index"] == "INTEGER"


def test_to_arrow_types_and_no_copy() -> None:
    tables = read_export(SRC)
    arrow = tables.to_arrow()
    assert list(arrow) == list(tables.names())
    for name, table in arrow.items():
        assert table.num_rows == len(tables[name])
        for field in schema_for(name):
            assert table.schema.field(field.name).type == field.type
    column = arrow["objects"].column("x")
    held = tables.objects["x"].array._pa_array  # the frame's own Arrow data
    assert column.chunk(0).buffers()[1].address == held.chunk(0).buffers()[1].address


def test_to_polars() -> None:
    frames = read_export(SRC).to_polars()
    assert frames["objects"].schema["page"] == pl.Int32
    assert frames["tasks"].schema["metadata_night"] == pl.Boolean
    assert frames["tasks"].height == 4 and frames["history_relations"].height == 0


def test_to_polars_without_polars_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "polars", None)  # makes `import polars` raise ImportError
    with pytest.raises(ImportError, match=r"ango-frames\[polars\]"):
        read_export(SRC).to_polars()
    monkeypatch.setitem(sys.modules, "duckdb", None)
    with pytest.raises(ImportError, match=r"ango-frames\[duckdb\]"):
        read_export(SRC).to_duckdb()


def test_to_duckdb_joins_objects_and_classifications() -> None:
    tables = read_export(SRC)
    con = duckdb.connect()
    assert tables.to_duckdb(con) is con
    rows = con.sql(
        """
        SELECT o.title, c.answer, count(*) AS n
        FROM objects o JOIN classifications c USING (task_id, object_id)
        GROUP BY ALL ORDER BY n DESC, o.title
        """
    ).fetchall()
    assert rows == [("wheel", "red", 4)]
    per_stage = con.sql(
        "SELECT t.stage, count(*) FROM tasks t JOIN objects o USING (task_id) "
        "GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert per_stage == [("Complete", 3), ("Label", 3), ("Quality Check", 3), ("Review", 3)]
    types = dict(con.sql("SELECT column_name, column_type FROM (DESCRIBE objects)").fetchall())
    assert types["page"] == "INTEGER" and types["key_frame"] == "BOOLEAN"
    other = tables.to_duckdb(prefix="e1_")
    assert other.sql("SELECT count(*) FROM e1_tasks").fetchall()[0] == (4,)
