"""``to_parquet`` on Dask: every table a Parquet dataset, each partition written by a worker.

The layout and file metadata are those of ``ango_frames.export.parquet``, so
``ango_frames.ExportTables.from_parquet(dest)`` (or any Parquet reader) reads the result::

    dest/tasks/part-00000.parquet                 # one file per non-empty partition
    dest/objects/stage=Complete/part-00003.parquet  # partition_by="stage"

Partition ``i`` writes ``part-<i>`` files, so names never collide between workers and reading in
path order gives the rows in partition order. Every file of a table has the same schema (the
frame's ``meta``: for ``tasks`` the unified dynamic columns), so no file is ever rewritten.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import dask
import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from dask import delayed

from ango_frames.errors import ConfigError
from ango_frames.export import hive
from ango_frames.export.destination import staged
from ango_frames.export.writer import DatasetWriter, filesystem, with_metadata
from ango_frames.schemas import TABLE_NAMES

__all__ = ["to_parquet"]


def _write_partition(
    frame: pd.DataFrame,
    tasks: pd.DataFrame | None,
    *,
    name: str,
    stem: str,
    fs: Any,
    root: str,
    schema: pa.Schema,
    stored: pa.Schema,
    partition_by: str | None,
    row_group_rows: int,
) -> list[str]:
    """Write one partition of one table; returns the files written (none for no rows).

    ``schema`` is the frame's, ``stored`` the files' (without what the folder holds) with the
    files' metadata.
    """
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    if table.num_rows == 0:
        return []
    directory = f"{root}/{name}"
    if partition_by is None:
        groups: list[tuple[str, pa.Table]] = [(directory, table)]
    else:
        # The partition value of each row, by the rules of the single-machine writer.
        task_keys = {}
        if tasks is not None:
            task_keys = hive.task_keys(
                pa.Table.from_pandas(tasks, preserve_index=False), partition_by
            )
        keys = hive.partition_keys(name, table, partition_by, task_keys)
        groups = [
            (hive.folder(directory, partition_by, key), hive.strip(name, rows, partition_by))
            for key, rows in hive.split(table, keys)
        ]
    written = []
    for folder, data in groups:
        path = f"{folder}/{stem}.parquet"
        fs.makedirs(folder, exist_ok=True)
        with fs.open(path, "wb") as handle:
            pq.write_table(
                data.replace_schema_metadata(stored.metadata), handle, row_group_size=row_group_rows
            )
        written.append(path)
    return written


def _frames(tables: Any) -> tuple[dict[str, dd.DataFrame], dict[str, Any]]:
    if hasattr(tables, "items") and hasattr(tables, "provenance"):  # DaskExportTables
        built = getattr(tables, "tables", TABLE_NAMES)
        return {n: f for n, f in tables.items() if n in built}, tables.provenance
    if isinstance(tables, Mapping):
        bad = [n for n in tables if n not in TABLE_NAMES]
        if bad:
            raise ConfigError(f"unknown table(s) {bad}; tables are {', '.join(TABLE_NAMES)}")
        return dict(tables), {}
    raise ConfigError(
        f"tables must be a DaskExportTables or a dict of table name -> Dask DataFrame, "
        f"not {type(tables).__name__}"
    )


def to_parquet(
    tables: Any,
    dest: str | os.PathLike,
    *,
    storage_options: dict[str, Any] | None = None,
    partition_by: str | None = None,
    row_group_rows: int = 65536,
    overwrite: bool = False,
    provenance: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Write each table as a (optionally partitioned) Parquet dataset, partitions in parallel.

    Files carry the same ``b"ango_frames"`` key-value metadata as ``ango_frames.export.parquet``
    (schema version, table, provenance), and ``ExportTables.from_parquet(dest)`` gives the
    frames of the single-machine path.

    Parameters
    ----------
    tables : DaskExportTables or dict of str to dask.dataframe.DataFrame
        What to write; of a DaskExportTables, the tables it built.
    dest : str or path
        Directory or fsspec URL that every worker can write (``s3://...``); each table goes
        to ``dest/<table>/``.
    storage_options : dict, optional
        fsspec options for ``dest``.
    partition_by : {"stage", "batch"}, optional
        Hive-style subdirectories by the task's stage or first batch. Other tables follow
        their task, looked up in the same partition of ``tasks`` (so ``tasks`` must be given,
        with the same partitions, as ``read_export`` makes them).
    row_group_rows : int
        Rows per Parquet row group.
    overwrite : bool
        A ``dest`` that already holds a dataset is an error (stale files would be read back
        with the new ones) unless this is true; then the new datasets are written beside the
        old ones and replace them whole once every partition is written, as in
        ``ango_frames.export_to_parquet``.
    provenance : dict, optional
        Provenance stored in the metadata; default: that of the DaskExportTables.

    Returns
    -------
    dict of str to str
        Table name -> dataset directory URL.

    Raises
    ------
    ConfigError
        Unknown table or ``partition_by``, bad ``row_group_rows``, a non-empty destination,
        ``tasks`` missing or partitioned differently when ``partition_by`` is set.
    """
    frames, prov = _frames(tables)
    prov = dict(prov if provenance is None else provenance)
    DatasetWriter(None, "", prov, row_group_rows, partition_by)  # validates both options
    tasks_parts = None
    if partition_by is not None:
        if "tasks" not in frames:
            raise ConfigError(f"partition_by={partition_by!r} needs the tasks table")
        tasks_parts = frames["tasks"].to_delayed(optimize_graph=False)
        uneven = [n for n, f in frames.items() if f.npartitions != len(tasks_parts)]
        if uneven:
            raise ConfigError(
                f"partition_by={partition_by!r}: {uneven} must have the partitions of tasks "
                f"({len(tasks_parts)}); a task's rows are looked up in its own partition"
            )
    with staged(dest, storage_options, overwrite) as target:
        fs, root = filesystem(target, storage_options)
        _write_all(frames, tasks_parts, fs, root, prov, partition_by, row_group_rows)
    base = os.fspath(dest).rstrip("/")
    return {name: f"{base}/{name}" for name in frames}


def _write_all(
    frames: dict[str, dd.DataFrame],
    tasks_parts: list | None,
    fs: Any,
    root: str,
    prov: dict[str, Any],
    partition_by: str | None,
    row_group_rows: int,
) -> None:
    schemas: dict[str, pa.Schema] = {}
    writes, owners = [], []
    for name, frame in frames.items():
        schema = pa.Schema.from_pandas(frame._meta, preserve_index=False)
        schemas[name] = with_metadata(name, schema, prov)
        stored = with_metadata(name, hive.file_schema(name, schema, partition_by), prov)
        pieces = frame.to_delayed(optimize_graph=False)
        width = max(5, len(str(len(pieces) - 1)))
        for i, piece in enumerate(pieces):
            owners.append(name)
            writes.append(
                delayed(_write_partition)(
                    piece,
                    None if tasks_parts is None or name in ("tasks", "issues") else tasks_parts[i],
                    name=name,
                    stem=f"part-{i:0{width}d}",
                    fs=fs,
                    root=root,
                    schema=schema,
                    stored=stored,
                    partition_by=partition_by,
                    row_group_rows=row_group_rows,
                )
            )
    written = dask.compute(*writes)
    have = {name for name, paths in zip(owners, written, strict=True) if paths}
    for name, schema in schemas.items():
        if name not in have:  # no rows anywhere: one empty file, so readers see the columns
            fs.makedirs(f"{root}/{name}", exist_ok=True)
            with fs.open(f"{root}/{name}/part-00000.parquet", "wb") as handle:
                pq.write_table(schema.empty_table(), handle)
