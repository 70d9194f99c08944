"""Exports straight to Parquet, in memory that does not grow with the export.

Records stream from the export reader through a
:class:`~ango_frames.export.flatten.flattener.Flattener` into one
Parquet dataset per table at ``dest/<table>/`` (any fsspec URL), a row group at a time::

    dest/tasks/part-00000.parquet
    dest/objects/stage=Complete/part-00000.parquet      # partition_by="stage"

An export of several parts (an ndjson file of more than 64 MiB, a split zip) is converted by
worker processes, one part each, which write ``part-<part>-<n>.parquet`` files themselves (see
:mod:`ango_frames.export.parallel`); the datasets read back identical to a one-process conversion.
See :mod:`ango_frames.export.writer` for schema widening and the files' ``ango_frames`` metadata.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from ango_frames.errors import ExportFormatError
from ango_frames.export import hive
from ango_frames.export import parallel as _parallel
from ango_frames.export import pipeline as _pipeline
from ango_frames.export.destination import staged
from ango_frames.export.flatten.columns import conform
from ango_frames.export.flatten.flattener import (
    BATCH_ROWS,
    Flattener,
    flatten_records,
    warn_unknown_keys,
)
from ango_frames.export.parts import unify
from ango_frames.export.records import iter_records, plan_parts, source_provenance
from ango_frames.export.threads import Lanes, ahead
from ango_frames.export.writer import (
    METADATA_KEY,
    DatasetWriter,
    file_metadata,
    filesystem,
    release_unused,
)
from ango_frames.export_file import ExportFile
from ango_frames.schemas import SCHEMA_VERSION, TABLE_NAMES, schema_for

__all__ = ["METADATA_KEY", "READABLE_VERSIONS", "export_to_parquet", "read_parquet_tables"]

# Threads writing Parquet beside the native core, one table's file at a time each (pyarrow
# encodes without the GIL): with one, the flattening waited on the writer.
WRITERS = 2

# Every schema version this reader reads; a golden dataset of each is in tests/data/.
READABLE_VERSIONS = (SCHEMA_VERSION,)

# kept importable from here (ExportTables.to_parquet, older callers)
_ = (DatasetWriter, file_metadata)


def _progress(progress: bool | str, total: int | None = None, unit: str = " records") -> Any:
    if not progress:
        return None
    from tqdm.auto import tqdm

    label = progress if isinstance(progress, str) else "export to parquet"
    return tqdm(total=total, unit=unit, desc=label)


def _one_process(
    src: Any, storage_options: Any, flat: Flattener, writer: DatasetWriter, wanted: tuple, bar: Any
) -> None:
    records = iter_records(src, storage_options=storage_options, raw=flat.native)
    lanes = None
    if flat.native:  # the core drops the GIL: a reader and writer threads beside it
        records = ahead(records)
        lanes = Lanes(_writing(writer), WRITERS)
    try:
        for batches in flatten_records(
            records, batch_rows=min(writer.row_group_rows, BATCH_ROWS), flattener=flat
        ):
            if lanes is None:
                writer.write_all(batches, wanted)
            else:
                keys = writer.task_keys(batches)
                for table in wanted:
                    batch = batches.get(table)
                    if batch is not None and batch.num_rows:
                        lanes.put(table, (batch, keys))
            if bar is not None:
                bar.n = flat.records
                bar.refresh()
    except BaseException:
        if lanes is not None:
            with contextlib.suppress(Exception):
                lanes.close()
        raise
    if lanes is not None:
        lanes.close()
    writer.close({t: flat.schema(t) for t in wanted})


def _writing(writer: DatasetWriter) -> Any:
    """A writer thread's job: one table's batch of a flush."""

    def write(table: str, item: tuple) -> None:
        writer.write_batch(table, *item)
        release_unused()

    return write


def _job(build: set, wanted: tuple, writer: DatasetWriter, dest: Any, dest_so: Any) -> Any:
    return _parallel.PartJob(
        None,
        0,
        tuple(build),
        write=wanted,
        dest=os.fspath(dest),
        dest_storage_options=dict(dest_so or {}),
        provenance=writer.provenance,
        row_group_rows=writer.row_group_rows,
        partition_by=writer.partition_by,
    )


def _gather(results: list, writer: DatasetWriter, wanted: tuple) -> Counter:
    """Register the workers' files, bring them to one schema per table; the summed unknowns."""
    unknown: Counter = Counter()
    for result in results:
        for table, paths in result.files.items():
            writer.files.setdefault(table, []).extend(paths)
        unknown.update(result.unknown_keys)
    writer.finish({t: unify(t, [r.schemas[t] for r in results]) for t in wanted})
    return unknown


def _in_workers(
    src: Any, so: Any, parts: list, job: Any, writer: DatasetWriter, workers: int, bar: Any
) -> Counter | None:
    """Parts by workers; one JSON array in chunks (``parallel.run_parts``, one id policy)."""
    if len(parts) > 1:
        return _gather(
            _parallel.run_parts(
                _parallel.parquet_job,
                [replace(job, part=part, index=i) for i, part in enumerate(parts)],
                workers,
                bar,
            ),
            writer,
            job.write,
        )
    chunks = _pipeline.chunks_of(iter_records(src, storage_options=so), _pipeline.CHUNK_BYTES)
    jobs = (replace(job, index=i, raw=raw) for i, raw in enumerate(chunks))
    return _gather(
        _parallel.run_parts(_parallel.parquet_job, jobs, workers, bar), writer, job.write
    )


def export_to_parquet(
    src: Any,
    dest: str | os.PathLike,
    *,
    storage_options: dict[str, Any] | None = None,
    dest_storage_options: dict[str, Any] | None = None,
    partition_by: str | None = None,
    row_group_rows: int = 65536,
    progress: bool | str = False,
    tables: Iterable[str] | None = None,
    workers: int | None = 1,
    engine: str | None = None,
    overwrite: bool = False,
) -> dict[str, str]:
    """Stream an export into one Parquet dataset per table, in bounded memory.

    Parameters
    ----------
    src : path, fsspec URL, ExportFile, or file object
        The export (zip, .json, .ndjson), as accepted by ``records.iter_records``.
    dest : str or path
        Directory or fsspec URL (``memory://``, ``s3://``, ...); each table goes to
        ``dest/<table>/``.
    storage_options, dest_storage_options : dict, optional
        fsspec options for ``src`` and for ``dest``.
    partition_by : {"stage", "batch"}, optional
        Hive-style subdirectories by the task's stage, or by its first batch (``issues`` by their
        own stage / first batch); other tables follow their task through ``task_id``.
    row_group_rows : int
        Rows per row group (the Flattener works in smaller batches, see ``flatten.BATCH_ROWS``).
    progress : bool or str
        Show a tqdm bar counting records (parts, when converted by workers); a string is the
        bar's label (default ``"export to parquet"``).
    tables : iterable of str, optional
        Only these tables (default: all).
    workers : int, optional
        Processes converting the parts of a multi-part export (an ndjson file of more than 64 MiB, a
        split zip) at once; 1 (the default) converts in this process, None means ``min(2,
        os.cpu_count())``. Parallel conversion pays off only on machines with idle cores and costs
        one more process's memory (see the README's figures). A JSON array (one part) is parsed here
        and converted by ``workers`` processes in chunks. Each worker holds one part's batches at a
        time; the output is the same whatever the number. A file object, an in-memory
        (``memory://``) source or destination, or an ndjson file of one part is converted in this
        process.
    engine : {"native", "python"}, optional
        The flattening engine (default: ``ango_frames.engine()``); the output is the same.
    overwrite : bool
        ``dest`` already holding a dataset is an error unless this is true; then the new
        datasets are written beside the old ones and replace them whole (every table, also
        those not in ``tables``) only once all are written, so a failed export leaves the old
        dataset as it was (see :mod:`ango_frames.export.destination`).

    Returns
    -------
    dict of str to str
        Table name -> dataset directory URL.

    Raises
    ------
    ConfigError
        Unknown table or partition, bad ``row_group_rows`` or ``workers``; ``dest`` holds a
        dataset and ``overwrite`` is false.
    ExportFormatError
        The export is not valid JSON / not an export.
    """
    workers = _parallel.resolve_workers(workers)
    wanted = TABLE_NAMES if tables is None else tuple(tables)
    build = set(wanted) | ({"tasks"} if partition_by is not None else set())
    flat = Flattener(build, engine=engine)
    wanted = tuple(t for t in flat.tables if t in wanted)
    DatasetWriter(None, "", {}, row_group_rows, partition_by)  # the options, before any writing
    parallel = not (
        workers == 1
        or _parallel.in_process_only(src, storage_options)
        or _parallel.in_process_only(dest, dest_storage_options)
    )
    with staged(dest, dest_storage_options, overwrite) as target:
        fs, root = filesystem(target, dest_storage_options)
        provenance = source_provenance(src, storage_options=storage_options)
        writer = DatasetWriter(fs, root, provenance, row_group_rows, partition_by)
        parts: list = []
        if parallel:
            parts = plan_parts(
                src, storage_options=storage_options, target_bytes=_parallel.PART_BYTES
            )
        unknown = None
        bar = None
        if len(parts) > 1 or (parts and parts[0].kind in _pipeline.ARRAY_KINDS):
            bar = _progress(progress, len(parts) if len(parts) > 1 else None, " parts")
            job = _job(build, wanted, writer, target, dest_storage_options)
            job = replace(job, engine=flat.engine)
            unknown = _in_workers(src, storage_options, parts, job, writer, workers, bar)
        if unknown is None:
            if bar is not None:
                bar.close()
            bar = _progress(progress)
            _one_process(src, storage_options, flat, writer, wanted, bar)
            unknown = flat.unknown_keys
        if bar is not None:
            bar.close()
    source = src.path if isinstance(src, ExportFile) else str(getattr(src, "name", src))
    warn_unknown_keys(unknown, source)
    base = os.fspath(dest).rstrip("/")
    return {t: f"{base}/{t}" for t in wanted}


def _provenance(meta: dict[bytes, bytes], path: str) -> dict[str, Any]:
    """The provenance in one file's ``ango_frames`` metadata; a newer schema version is an error.

    Files without that metadata (written by another tool) are read as they are.
    """
    if METADATA_KEY not in meta:
        return {}
    try:
        blob = orjson.loads(meta[METADATA_KEY])
        version = str(blob.get("schema_version", SCHEMA_VERSION))
    except (orjson.JSONDecodeError, AttributeError):
        raise ExportFormatError("its ango_frames metadata is not a JSON object", path) from None
    if version not in READABLE_VERSIONS:
        raise ExportFormatError(
            f"written with Parquet schema version {version!r}; this ango_frames reads version(s) "
            f"{', '.join(READABLE_VERSIONS)}: upgrade ango-frames (pip install -U ango-frames)",
            path,
        )
    provenance = blob.get("provenance")
    return provenance if isinstance(provenance, dict) else {}


def read_parquet_tables(
    dest: str | os.PathLike,
    *,
    storage_options: dict[str, Any] | None = None,
    tables: Iterable[str] | None = None,
) -> tuple[dict[str, pa.Table], dict[str, Any]]:
    """The Arrow table of every dataset under ``dest`` and the provenance in their metadata.

    Files are read in path order (partitions, then parts), so an unpartitioned dataset gives its
    rows in the order they were written. A column that a partition folder holds instead of the
    files (``tasks.stage``) is put back from the folder's name; a column the schema gained after
    the files were written is null.

    Raises
    ------
    ExportFormatError
        A file was written with a newer schema version than this reader knows (names the file).
    """
    fs, root = filesystem(dest, storage_options)
    wanted = TABLE_NAMES if tables is None else tuple(tables)
    out: dict[str, pa.Table] = {}
    provenance: dict[str, Any] = {}
    for table in wanted:
        directory = f"{root}/{table}"
        if not fs.exists(directory):
            continue
        paths = sorted(p for p in fs.find(directory) if p.endswith(".parquet"))
        parts = []
        for path in paths:
            with fs.open(path, "rb") as handle:
                part = pq.read_table(handle)
            found = _provenance(part.schema.metadata or {}, path)
            provenance = provenance or found
            relative = path[len(directory) + 1 :]
            parts.append(hive.restore(table, part.replace_schema_metadata(None), relative))
        if not parts:
            continue
        schema = parts[-1].schema
        out[table] = _current_columns(table, pa.concat_tables([conform(p, schema) for p in parts]))
    return out, provenance


def _current_columns(table: str, data: pa.Table) -> pa.Table:
    """``data`` with every column of today's schema of ``table``, in its order: a column added to
    the schema (an additive change, same version) after the files were written reads as null.
    The files' own columns keep their types (a changed type is caught by ``to_pandas``).
    """
    expected = schema_for(table)
    have = data.schema
    if have.names[: len(expected)] == expected.names:
        return data
    fields = [have.field(f.name) if f.name in have.names else f for f in expected]
    fields += [f for f in have if f.name not in expected.names]
    return conform(data, pa.schema(fields))
