"""``read_export``: an Ango export as linked, tidy pandas DataFrames.

::

    tables = read_export("export.zip")
    tables.objects.merge(tables.tasks, on="task_id")

Every table of :mod:`ango_frames.schemas` is an attribute of :class:`ExportTables` (an empty
frame with the right dtypes when the export has none of it). ``task_id`` joins everything to
``tasks``; see the schemas module for the other keys.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

import pandas as pd
import pyarrow as pa

from ango_frames.export import hive
from ango_frames.export import parallel as _parallel
from ango_frames.export import pipeline as _pipeline
from ango_frames.export.destination import staged
from ango_frames.export.dtypes import apply_dtypes, check_dtypes, empty_frame, to_pandas
from ango_frames.export.flatten.columns import conform
from ango_frames.export.flatten.flattener import Flattener, flatten_to_tables, warn_unknown_keys
from ango_frames.export.given import given_records, is_file_source
from ango_frames.export.parquet import DatasetWriter, read_parquet_tables
from ango_frames.export.parts import unify
from ango_frames.export.records import plan_opened
from ango_frames.export.source import Opened, ReadLimits, open_source
from ango_frames.export.writer import filesystem
from ango_frames.export_file import ExportFile
from ango_frames.schemas import TABLE_NAMES

__all__ = ["ExportTables", "TableSet", "read_export"]


F = TypeVar("F")


class TableSet(Generic[F]):
    """One frame per table of ``schemas.TABLE_NAMES``: an attribute each, and read as a mapping
    in schema order. The base of :class:`ExportTables` (pandas) and the Dask reader's tables."""

    tasks: F
    objects: F
    classifications: F
    relations: F
    stage_history: F
    history_objects: F
    history_classifications: F
    history_relations: F
    issues: F

    def names(self) -> tuple[str, ...]:
        """The table names, in schema order."""
        return TABLE_NAMES

    def __iter__(self) -> Iterator[str]:
        return iter(TABLE_NAMES)

    def __getitem__(self, name: str) -> F:
        if name not in TABLE_NAMES:
            raise KeyError(name)
        frame: F = getattr(self, name)
        return frame

    def items(self) -> Iterator[tuple[str, F]]:
        """(name, frame) pairs, in schema order."""
        for name in TABLE_NAMES:
            yield name, getattr(self, name)


class ExportTables(TableSet[pd.DataFrame]):
    """The tidy tables of one export: one ``pandas.DataFrame`` attribute per table.

    Attributes
    ----------
    tasks, objects, classifications, relations, stage_history, history_objects,
    history_classifications, history_relations, issues : pandas.DataFrame
        Arrow-backed frames (``pd.ArrowDtype`` columns), typed per ``schemas.SCHEMAS``.
    provenance : dict
        Where the export came from (source, format, members, export parameters). Never secrets.
    """

    def __init__(
        self, frames: dict[str, pd.DataFrame], provenance: dict[str, Any] | None = None
    ) -> None:
        for name in TABLE_NAMES:
            frame = frames.get(name)
            setattr(self, name, empty_frame(name) if frame is None else frame)
        self.provenance = dict(provenance or {})

    def __repr__(self) -> str:
        counts = ", ".join(f"{name}={len(frame)}" for name, frame in self.items())
        return f"ExportTables({counts})"

    def to_parquet(
        self,
        dest: str | os.PathLike,
        storage_options: dict[str, Any] | None = None,
        partition_by: str | None = None,
        row_group_rows: int = 65536,
        overwrite: bool = False,
    ) -> dict[str, str]:
        """Write every table as a Parquet dataset at ``dest/<table>/`` (as ``export_to_parquet``,
        also its ``overwrite`` rule: a folder holding a dataset is refused unless it is true,
        and is then replaced whole once every table is written).

        Returns table name -> dataset directory URL.
        """
        DatasetWriter(None, "", {}, row_group_rows, partition_by)  # the options, before writing
        arrow = self.to_arrow()
        with staged(dest, storage_options, overwrite) as target:
            fs, root = filesystem(target, storage_options)
            writer = DatasetWriter(fs, root, self.provenance, row_group_rows, partition_by)
            task_keys = None
            if partition_by is not None:
                task_keys = hive.task_keys(arrow["tasks"], partition_by)
            for name, table in arrow.items():
                for batch in table.to_batches(max_chunksize=row_group_rows):
                    writer.write_all({name: batch}, (name,), task_keys)
            writer.close({name: table.schema.remove_metadata() for name, table in arrow.items()})
        base = os.fspath(dest).rstrip("/")
        return {name: f"{base}/{name}" for name in TABLE_NAMES}

    def to_arrow(self) -> dict[str, pa.Table]:
        """One ``pyarrow.Table`` per table, in schema order, typed as ``schemas.SCHEMAS``.

        The frames' Arrow-backed columns are handed over as they are, without copying.
        """
        return {
            name: pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
            for name, frame in self.items()
        }

    def to_polars(self) -> dict[str, Any]:
        """One ``polars.DataFrame`` per table, in schema order (polars reuses the Arrow buffers
        where its types allow). Needs the ``polars`` extra."""
        try:
            import polars as pl
        except ImportError as exc:
            raise ImportError("to_polars needs polars: pip install 'ango-frames[polars]'") from exc
        return {
            name: pl.from_arrow(table, rechunk=False) for name, table in self.to_arrow().items()
        }

    def to_duckdb(self, con: Any = None, *, prefix: str = "") -> Any:
        """Register every table in the DuckDB connection ``con`` (a new in-memory one by default)
        as a view named ``<prefix><table>``, reading the Arrow data in place; returns ``con``::

            con = tables.to_duckdb()
            con.sql("SELECT o.title, c.answer FROM objects o JOIN classifications c"
                    " USING (task_id, object_id)")

        Needs the ``duckdb`` extra. The views hold this object's data as it is now.
        """
        try:
            import duckdb
        except ImportError as exc:
            raise ImportError("to_duckdb needs duckdb: pip install 'ango-frames[duckdb]'") from exc
        con = duckdb.connect() if con is None else con
        for name, table in self.to_arrow().items():
            con.register(f"{prefix}{name}", table)
        return con

    @classmethod
    def from_parquet(
        cls,
        dest: str | os.PathLike,
        storage_options: dict[str, Any] | None = None,
        tables: Iterable[str] | None = None,
    ) -> ExportTables:
        """Read the datasets written by ``export_to_parquet`` or :meth:`to_parquet`.

        Raises
        ------
        ExportFormatError
            A file was written with a newer Parquet schema version than this ango_frames reads.
        """
        arrow, provenance = read_parquet_tables(
            dest, storage_options=storage_options, tables=tables
        )
        return cls({name: to_pandas(table, name) for name, table in arrow.items()}, provenance)


def _read_parts(
    opened: Opened, parts: list, flat: Flattener, workers: int
) -> tuple[dict[str, pa.Table], Counter]:
    """Every part (or chunk of one JSON array) flattened by ``workers`` processes, unified
    into one table per name (``parallel.run_parts``: one runner, one made-up-id policy)."""
    if len(parts) > 1:
        jobs: Iterable[_parallel.PartJob] = (
            _parallel.PartJob(part, i, flat.tables, engine=flat.engine)
            for i, part in enumerate(parts)
        )
    else:
        chunks = _pipeline.chunks_of(opened.records(), _pipeline.CHUNK_BYTES)
        jobs = (
            _parallel.PartJob(None, i, flat.tables, raw=raw, engine=flat.engine)
            for i, raw in enumerate(chunks)
        )
    results = _parallel.run_parts(_parallel.table_job, jobs, workers)
    unknown: Counter = Counter()
    tables = {}
    for name in flat.tables:
        schema = unify(name, [r.schemas[name] for r in results])
        tables[name] = pa.concat_tables([conform(r.tables.pop(name), schema) for r in results])
    for result in results:
        unknown.update(result.unknown_keys)
    return tables, unknown


def read_export(
    src: Any,
    *,
    storage_options: dict[str, Any] | None = None,
    tables: Iterable[str] | None = None,
    workers: int | None = 1,
    limits: ReadLimits | None = None,
    dtypes: Mapping[str, Any] | None = None,
    engine: str | None = None,
) -> ExportTables:
    """Read an Ango export into linked, tidy DataFrames.

    Parameters
    ----------
    src : path, fsspec URL, ExportFile, file object, dict, or iterable of dicts
        The export (zip, .json array, .ndjson; v3 or legacy), or records already parsed: one
        record, a list of them, or what the official client's ``exportV3`` returns (a list in
        json, an ``(iterator, count)`` tuple in ndjson, a zip path with ``zip_file_path``).
    storage_options : dict, optional
        fsspec options for ``src``.
    tables : iterable of str, optional
        Build only these tables (the others are empty frames); faster on big exports.
    workers : int, optional
        Processes reading the parts of a multi-part export (an ndjson file of more than
        64 MiB, a split zip) at once; 1 (the default) reads in this process, None means
        ``min(2, os.cpu_count())``. The frames are the same whatever the number. A JSON
        array (one part) is parsed here and flattened by ``workers`` processes in chunks.
    limits : ReadLimits, optional
        Safety limits of the reader (zip bombs, nesting depth, member count), as for the
        Dask reader.
    dtypes : mapping of str to type, optional
        Types for the inferred ``metadata_*`` / ``context_*`` columns of ``tasks``, e.g.
        ``{"metadata_patient": "string", "metadata_slices": "int64"}`` (an Arrow type name,
        a ``pyarrow.DataType`` or a ``pd.ArrowDtype``). A column the export lacks is added,
        all null; a value that does not convert is a ``ConfigError`` naming the column.
    engine : {"native", "python"}, optional
        The flattening engine (default: ``ango_frames.engine()``); the frames are the same.

    Returns
    -------
    ExportTables

    Raises
    ------
    ExportFormatError
        ``src`` is not valid JSON / not an export (names the file and position), or an
        element of an iterable ``src`` is not a record (names its index).
    ConfigError
        An unknown table name, a bad ``workers`` or ``dtypes``, a ``src`` that is not an export
        at all, a URL whose fsspec filesystem is not installed (names what to install).

    Warns
    -----
    UnknownKeysWarning
        Once, listing the keys the reader does not know and how often they occur; their values
        are kept in the ``extra`` columns.
    """
    workers = _parallel.resolve_workers(workers)
    flat = Flattener(tables, engine=engine)
    wanted = check_dtypes(dtypes)
    if not is_file_source(src):
        records, provenance = given_records(src)
        arrow = flatten_to_tables(records, flat)
        warn_unknown_keys(flat.unknown_keys, "")
    else:
        source = src.path if isinstance(src, ExportFile) else str(getattr(src, "name", src))
        with open_source(src, storage_options, limits) as opened:
            provenance = opened.provenance(src)
            parts: list = []
            if workers > 1 and not _parallel.in_process_only(src, storage_options):
                parts = plan_opened(opened, _parallel.PART_BYTES)
            if len(parts) > 1 or (parts and parts[0].kind in _pipeline.ARRAY_KINDS):
                arrow, unknown = _read_parts(opened, parts, flat, workers)
            else:
                arrow = flatten_to_tables(opened.records(raw=flat.native), flat)
                unknown = flat.unknown_keys
        warn_unknown_keys(unknown, source)
    if wanted and "tasks" in arrow:
        arrow["tasks"] = apply_dtypes(arrow["tasks"], wanted)
    frames = {}
    for name in flat.tables:
        frames[name] = to_pandas(arrow.pop(name), name)
    return ExportTables(frames, provenance)
