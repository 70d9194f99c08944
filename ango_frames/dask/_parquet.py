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
from urllib.parse import quote

import dask
import dask.dataframe as dd
import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from dask import delayed

from ango_frames.errors import ConfigError
from ango_frames.export.parquet import DatasetWriter, file_metadata
from ango_frames.schemas import TABLE_NAMES

__all__ = ["to_parquet"]

_NULL_PART = "__HIVE_DEFAULT_PARTITION__"  # as ango_frames.export.parquet and Hive


def _write_partition(
    frame: pd.DataFrame,
    tasks: pd.DataFrame | None,
    *,
    name: str,
    stem: str,
    fs: Any,
    root: str,
    schema: pa.Schema,
    partition_by: str | None,
    row_group_rows: int,
) -> list[str]:
    """Write one partition of one table; returns the files written (none for no rows)."""
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    if table.num_rows == 0:
        return []
    directory = f"{root}/{name}"
    if partition_by is None:
        groups: list[tuple[str, pa.Table]] = [(directory, table)]
    else:
        # The partition value of each row, by the rules of the single-machine writer.
        writer = DatasetWriter(fs, root, {}, row_group_rows, partition_by)
        task_keys = {}
        if name not in ("tasks", "issues") and tasks is not None:
            task_keys = writer.task_keys(pa.Table.from_pandas(tasks, preserve_index=False))
        keys = writer.partition_keys(name, table, task_keys)
        key_array = pa.array(keys, type=pa.string())
        groups = []
        for key in dict.fromkeys(keys):
            mask = pc.is_null(key_array) if key is None else pc.equal(key_array, key)
            value = _NULL_PART if key is None else quote(str(key), safe="")
            groups.append((f"{directory}/{partition_by}={value}", table.filter(mask)))
    written = []
    for folder, data in groups:
        path = f"{folder}/{stem}.parquet"
        fs.makedirs(folder, exist_ok=True)
        with fs.open(path, "wb") as handle:
            pq.write_table(data, handle, row_group_size=row_group_rows)
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
        Remove existing ``dest/<table>/`` datasets first; without it, a non-empty one is an
        error (stale files would be read back with the new ones).
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
    fs, root = fsspec.core.url_to_fs(os.fspath(dest), **(storage_options or {}))
    root = root.rstrip("/")
    DatasetWriter(fs, root, prov, row_group_rows, partition_by)  # validates both options
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
    for name in frames:
        directory = f"{root}/{name}"
        if fs.exists(directory) and fs.find(directory):
            if not overwrite:
                raise ConfigError(
                    f"{os.fspath(dest).rstrip('/')}/{name} is not empty; pass overwrite=True "
                    f"to replace it"
                )
            fs.rm(directory, recursive=True)

    schemas: dict[str, pa.Schema] = {}
    writes, owners = [], []
    for name, frame in frames.items():
        meta = frame._meta
        schemas[name] = pa.Schema.from_pandas(meta, preserve_index=False).with_metadata(
            file_metadata(name, prov)
        )
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
                    schema=schemas[name],
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
    base = os.fspath(dest).rstrip("/")
    return {name: f"{base}/{name}" for name in frames}
