"""``read_export`` on Dask: one export (or many) as one Dask DataFrame per tidy table.

Each part of the export (``records.plan_parts``) is flattened once, on a worker, by
``parts.flatten_part`` and the result stays on that worker (``dask.persist``). Only a summary of
each part travels back: its ``tasks`` schema, its unknown keys and its row counts. The ``tasks``
schema of the whole export is then ``parts.unify`` of the part schemas, which is what a Dask
DataFrame needs up front as ``meta``; every table's partition ``i`` is cut from part ``i``.

Why flatten first rather than run a light schema pass: the ``metadata_*`` / ``context_*`` types
come from the Flattener's own widening rules, and the Flattener walks every record's content
even when only ``tasks`` is asked for, so a separate pass would cost about one whole extra read.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import dask
import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
from dask import delayed
from dask.sizeof import sizeof

from ango_frames.errors import ConfigError
from ango_frames.export.dtypes import empty_frame, to_pandas
from ango_frames.export.flatten.columns import conform
from ango_frames.export.flatten.flattener import Flattener, warn_unknown_keys
from ango_frames.export.parts import FlatPart, flatten_part, unify
from ango_frames.export.records import ExportPart, ReadLimits, plan_parts, source_provenance
from ango_frames.export.tables import ExportTables, TableSet
from ango_frames.export_file import ExportFile
from ango_frames.schemas import SCHEMAS, TABLE_NAMES

__all__ = ["DaskExportTables", "read_export"]


@sizeof.register(FlatPart)
def _sizeof_flat(flat: FlatPart) -> int:
    # Without this Dask sees a few hundred bytes and never spills the parts it holds.
    return sum(t.nbytes for t in flat.tables.values()) + 1000


@dataclass(frozen=True)
class _Summary:
    """What the client needs of one flattened part: small, whatever the part's size."""

    tasks_schema: pa.Schema | None
    unknown_keys: Counter
    records: int
    rows: dict[str, int]


def _flatten(part: ExportPart, tables: tuple[str, ...], limits: ReadLimits | None) -> FlatPart:
    return flatten_part(part, tables=tables, limits=limits)


def _summarize(flat: FlatPart) -> _Summary:
    tasks = flat.tables.get("tasks")
    return _Summary(
        None if tasks is None else tasks.schema,
        flat.unknown_keys,
        flat.records,
        {name: t.num_rows for name, t in flat.tables.items()},
    )


def _frame(flat: FlatPart, name: str, schema: pa.Schema, offset: int) -> pd.DataFrame:
    """Partition of table ``name``: its rows of one part, indexed as in the whole export."""
    frame = to_pandas(conform(flat.tables[name], schema), name)
    frame.index = pd.RangeIndex(offset, offset + len(frame))
    return frame


class DaskExportTables(TableSet[dd.DataFrame]):
    """The tidy tables of one or more exports: one ``dask.dataframe.DataFrame`` per table.

    Mirrors :class:`ango_frames.ExportTables`: an attribute per table (tasks, objects,
    classifications, relations, stage_history, history_objects, history_classifications,
    history_relations, issues), ``names()``, ``items()``, ``[name]`` and ``provenance``.
    Partition ``i`` of every table holds the rows of export part ``i``, so the rows of one task
    are in the same partition of every table (``map_partitions`` joins need no shuffle), and
    the index runs 0..n-1 over the whole export, as in the single-machine frames.

    Attributes
    ----------
    provenance : dict
        Where the data came from (one source: as ``ExportTables.provenance``; several:
        ``{"format": "many", "sources": [...]}``). Never secrets.
    parts : list of ExportPart
        The parts read, in order (partition ``i`` is ``parts[i]``).
    records : int
        Top-level records read.
    rows : dict of str to int
        Rows per table (known without computing the frames).
    tables : tuple of str
        The tables that were built; the others are empty frames.
    """

    def __init__(
        self,
        frames: dict[str, dd.DataFrame],
        *,
        provenance: dict[str, Any] | None = None,
        parts: list[ExportPart] | None = None,
        records: int = 0,
        rows: dict[str, int] | None = None,
    ) -> None:
        self.tables = tuple(name for name in TABLE_NAMES if name in frames)
        for name in TABLE_NAMES:
            frame = frames.get(name)
            if frame is None:
                frame = dd.from_pandas(empty_frame(name), npartitions=1)
            setattr(self, name, frame)
        self.provenance = dict(provenance or {})
        self.parts = list(parts or [])
        self.records = records
        self.rows = {name: 0 for name in TABLE_NAMES} | dict(rows or {})

    def __repr__(self) -> str:
        counts = ", ".join(f"{name}={self.rows[name]}" for name in TABLE_NAMES)
        return f"DaskExportTables({len(self.parts)} parts; {counts})"

    def compute(self, **kwargs: Any) -> ExportTables:
        """Every table as pandas, in one Dask computation: an :class:`ExportTables`.

        Only for results that fit the client's memory; keyword arguments go to ``dask.compute``.
        """
        frames = dask.compute(*(getattr(self, name) for name in TABLE_NAMES), **kwargs)
        return ExportTables(dict(zip(TABLE_NAMES, frames, strict=True)), self.provenance)

    def to_parquet(self, dest: str | os.PathLike, **kwargs: Any) -> dict[str, str]:
        """Write the tables as Parquet datasets: see :func:`ango_frames.dask.to_parquet`."""
        from ango_frames.dask._parquet import to_parquet

        return to_parquet(self, dest, **kwargs)


def _sources(srcs: Any) -> list[Any]:
    if isinstance(srcs, (str, os.PathLike, ExportFile)):
        return [srcs]
    if hasattr(srcs, "read"):
        raise ConfigError(
            "a file object cannot be read on a cluster: pass a path or an fsspec URL that "
            "every worker can open"
        )
    sources = list(srcs)
    for src in sources:
        if not isinstance(src, (str, os.PathLike, ExportFile)):
            raise ConfigError(
                f"each source must be a path, an fsspec URL or an ExportFile, "
                f"not {type(src).__name__}"
            )
    if not sources:
        raise ConfigError("no export sources given")
    return sources


def _provenance(sources: list[Any], storage_options: dict[str, Any] | None) -> dict[str, Any]:
    infos = [source_provenance(s, storage_options=storage_options) for s in sources]
    if len(infos) == 1:
        return infos[0]
    return {"format": "many", "sources": infos}


def read_export(
    srcs: Any,
    *,
    storage_options: dict[str, Any] | None = None,
    target_bytes: int = 64 * 2**20,
    tables: Iterable[str] | None = None,
    limits: ReadLimits | None = None,
) -> DaskExportTables:
    """Read one or many Ango exports into one Dask DataFrame per tidy table.

    The frames have the columns and dtypes of :func:`ango_frames.read_export` (Arrow-backed;
    ``tasks`` with the dynamic ``metadata_*`` / ``context_*`` columns of ALL parts) and, computed,
    the same rows in the same order. Runs on the current Dask scheduler: a
    ``dask.distributed.Client`` if one is active, else Dask's local threads.

    Flattening happens here, once per part, on the workers; the results stay there (as with
    ``persist``) so computing any number of tables never reads the export again.

    Parameters
    ----------
    srcs : path, fsspec URL or ExportFile, or a list of them
        Exports (zip, split zip, .json array, .ndjson; v3 or legacy) that every worker can
        open: a shared filesystem or object storage (``s3://``, ``gs://``, ``abfs://``...).
    storage_options : dict, optional
        fsspec options (credentials) for the sources; they travel to the workers inside the
        tasks, never in task names.
    target_bytes : int
        Size of the byte ranges an ndjson file is cut into (each zip member is one part; a
        .json array is one part).
    tables : iterable of str, optional
        Build only these tables (the others are empty frames).
    limits : ReadLimits, optional
        Safety limits of the reader (zip bombs, nesting depth).

    Returns
    -------
    DaskExportTables

    Raises
    ------
    ConfigError
        Unknown table names, a file object source, no sources, bad ``target_bytes``.
    ExportFormatError
        A part is not valid JSON / not an export (names the file, member and position).

    Warns
    -----
    UnknownKeysWarning
        Once, with the unknown keys of all parts and their counts (as the single-machine read).
    """
    sources = _sources(srcs)
    wanted = Flattener(tables).tables  # validates the names before any work
    parts: list[ExportPart] = []
    for src in sources:
        parts.extend(
            plan_parts(
                src, storage_options=storage_options, target_bytes=target_bytes, limits=limits
            )
        )
    provenance = _provenance(sources, storage_options)
    # A fresh token per read: results held on the cluster must never be mistaken for those
    # of an earlier read of a file that has changed since.
    token = uuid.uuid4().hex
    flats = [
        delayed(_flatten, pure=False)(
            part, wanted, limits, dask_key_name=f"ango-flatten-{token}-{i}"
        )
        for i, part in enumerate(parts)
    ]
    flats = list(dask.persist(*flats))
    summaries: tuple[_Summary, ...] = dask.compute(
        *(
            delayed(_summarize)(flat, dask_key_name=f"ango-summary-{token}-{i}")
            for i, flat in enumerate(flats)
        )
    )
    unknown: Counter = Counter()
    for summary in summaries:
        unknown.update(summary.unknown_keys)
    names = [str(s.path if isinstance(s, ExportFile) else s) for s in sources]
    warn_unknown_keys(unknown, ", ".join(names))

    frames: dict[str, dd.DataFrame] = {}
    rows: dict[str, int] = {}
    for name in wanted:
        if name == "tasks" and summaries:
            schema = unify(name, [s.tasks_schema for s in summaries if s.tasks_schema is not None])
        else:
            schema = SCHEMAS[name]
        meta = empty_frame(name, schema)
        if not flats:  # a zip without data members
            frames[name] = dd.from_pandas(meta, npartitions=1)
            rows[name] = 0
            continue
        pieces, offset = [], 0
        for i, (flat, summary) in enumerate(zip(flats, summaries, strict=True)):
            key = f"ango-{name.replace('_', '-')}-{token}-{i}"
            pieces.append(delayed(_frame)(flat, name, schema, offset, dask_key_name=key))
            offset += summary.rows[name]
        frames[name] = dd.from_delayed(pieces, meta=meta, verify_meta=False)
        rows[name] = offset
    return DaskExportTables(
        frames,
        provenance=provenance,
        parts=parts,
        records=sum(s.records for s in summaries),
        rows=rows,
    )
