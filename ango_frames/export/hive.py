"""Hive-style partitions of the Parquet datasets: which folder each row goes to, and back.

``dest/<table>/<partition_by>=<value>/...``: the value is the row's task's stage or first batch
(``tasks`` and ``issues`` by their own), percent-encoded, ``__HIVE_DEFAULT_PARTITION__`` for none.
A column the folder name already holds (the ``stage`` of ``tasks`` and ``issues``) is left out of
the files, as Hive does, so that pandas, pyarrow, polars and DuckDB read the dataset without a
clash between the file's column and the folder's; :func:`restore` puts it back on reading. The
single-machine writer, the Dask writer and the reader all use these functions.
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import quote, unquote

import pyarrow as pa
import pyarrow.compute as pc

from ango_frames.errors import ConfigError
from ango_frames.schemas import schema_for

__all__ = [
    "NULL_PART",
    "PARTITIONS",
    "check",
    "file_schema",
    "folder",
    "partition_keys",
    "restore",
    "split",
    "task_keys",
]

PARTITIONS = ("stage", "batch")
NULL_PART = "__HIVE_DEFAULT_PARTITION__"
_OWN_KEYS = ("tasks", "issues")  # partitioned by their own stage / batches, not their task's

Data = TypeVar("Data", pa.Table, pa.RecordBatch)


def check(partition_by: str | None) -> None:
    """Raise ConfigError unless ``partition_by`` is None or one of :data:`PARTITIONS`."""
    if partition_by is not None and partition_by not in PARTITIONS:
        raise ConfigError(f"partition_by must be one of {PARTITIONS} or None, not {partition_by!r}")


def partition_keys(
    table: str, data: pa.Table | pa.RecordBatch, partition_by: str, by_task: dict[Any, Any]
) -> list[Any]:
    """The partition value of each row of ``data`` (its task's, looked up in ``by_task``)."""
    if table in _OWN_KEYS:
        if partition_by == "stage":
            return data.column("stage").to_pylist()
        return [b[0] if b else None for b in data.column("batches").to_pylist()]
    return [by_task.get(t) for t in data.column("task_id").to_pylist()]


def task_keys(tasks: pa.Table | pa.RecordBatch, partition_by: str) -> dict[Any, Any]:
    """task_id -> partition value, from rows of the ``tasks`` table."""
    keys = partition_keys("tasks", tasks, partition_by, {})
    return dict(zip(tasks.column("task_id").to_pylist(), keys, strict=True))


def folder(table_dir: str, partition_by: str, key: Any) -> str:
    """The folder of partition value ``key`` under a table's dataset folder."""
    value = NULL_PART if key is None else quote(str(key), safe="")
    return f"{table_dir}/{partition_by}={value}"


def split(data: Data, keys: list[Any]) -> list[tuple[Any, Data]]:
    """``data`` cut into (partition value, rows) pieces, values in first-seen order."""
    distinct = list(dict.fromkeys(keys))
    if len(distinct) == 1:
        return [(distinct[0], data)]
    key_array = pa.array(keys, type=pa.string())
    out = []
    for key in distinct:
        mask = pc.is_null(key_array) if key is None else pc.equal(key_array, key)
        out.append((key, data.filter(mask)))
    return out


def _held(table: str, partition_by: str | None) -> str | None:
    """The column of ``table`` that its folder names hold, if any."""
    if partition_by is None or table not in _OWN_KEYS:
        return None
    return partition_by if partition_by in schema_for(table).names else None


def file_schema(table: str, schema: pa.Schema, partition_by: str | None) -> pa.Schema:
    """The schema of ``table``'s files: ``schema`` without the column its folders hold."""
    held = _held(table, partition_by)
    if held is None or schema.get_field_index(held) < 0:
        return schema
    return schema.remove(schema.get_field_index(held))


def strip(table: str, data: Data, partition_by: str | None) -> Data:
    """``data`` without the column its folders hold (see :func:`file_schema`)."""
    held = _held(table, partition_by)
    if held is None or data.schema.get_field_index(held) < 0:
        return data
    return data.drop_columns([held]) if isinstance(data, pa.Table) else data.drop_columns(held)


def restore(table: str, data: pa.Table, relative: str) -> pa.Table:
    """Put back the columns that the folders of ``relative`` (a file's path under the table's
    dataset folder) hold, where the schema of ``table`` places them; other folders are ignored.
    """
    names = schema_for(table).names
    for segment in relative.split("/")[:-1]:
        column, sep, value = segment.partition("=")
        if not sep or column not in names or data.schema.get_field_index(column) >= 0:
            continue
        cell = None if value == NULL_PART else unquote(value)
        position = min(names.index(column), data.num_columns)
        data = data.add_column(
            position, pa.field(column, pa.string()), pa.array([cell] * data.num_rows, pa.string())
        )
    return data
