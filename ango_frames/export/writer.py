"""Per-table, optionally partitioned Parquet datasets, written a row group at a time.

``dest/<table>/part-00000.parquet`` (``dest/<table>/<partition_by>=<value>/...`` when
partitioned). When a new ``metadata_*`` / ``context_*`` key appears mid-stream the ``tasks``
schema widens: the current file is closed and a new one starts with the wider schema; at the
end, files written with an older schema are rewritten to the final one, one row group at a time.
Every file's key-value metadata holds ``b"ango_frames"``: JSON ``{"schema_version", "table",
"provenance"}``, and ``b"pandas"`` (see ``dtypes.pandas_metadata``) so that plain pandas reads the
documented dtypes. Partition folders are made by :mod:`ango_frames.export.hive`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import fsspec
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from ango_frames.errors import ConfigError
from ango_frames.export import hive
from ango_frames.export.dtypes import pandas_metadata
from ango_frames.export.flatten.columns import conform
from ango_frames.schemas import SCHEMA_VERSION

__all__ = [
    "METADATA_KEY",
    "PARTITIONS",
    "ROW_GROUP_BYTES",
    "DatasetWriter",
    "dictionary_columns",
    "file_metadata",
    "filesystem",
    "release_unused",
    "with_metadata",
]

# A row group is also written once its table holds this many bytes of Arrow data, whatever
# ``row_group_rows`` says: wide tables (objects, classifications) would otherwise keep ~75 MB
# queued each, and the writer's memory would be most of the converter's. 4 MiB rather than 8 MiB
# keeps each converting process ~20 MB smaller, for Parquet files 0.5% larger.
ROW_GROUP_BYTES = 4 * 2**20

# String columns whose values are (nearly) unique per row: a Parquet dictionary of them is built
# for nothing (measured: dictionaries only on the repeating columns write ~25% faster and give
# ~15% smaller files than dictionaries on every column). `extra` is in every table.
_UNIQUE_STRINGS = {
    "tasks": frozenset(
        (
            "task_id",
            "asset_id",
            "external_id",
            "asset",
            "consensus_detailed",
            "brush_data_url",
            "medical_brush_data_url",
        )
    ),
    "objects": frozenset(("object_id", "selection", "pdf_text", "pdf_image")),
    "classifications": frozenset(("classification_id",)),
    "relations": frozenset(("relation_id",)),
    "stage_history": frozenset(("brush_data_url", "medical_brush_data_url")),
    "issues": frozenset(("issue_id", "content", "position")),
}

METADATA_KEY = b"ango_frames"
PARTITIONS = hive.PARTITIONS


def filesystem(dest: str | os.PathLike, storage_options: dict[str, Any] | None) -> tuple[Any, str]:
    """The fsspec filesystem of ``dest`` and the dataset root path in it (no trailing /)."""
    fs, root = fsspec.core.url_to_fs(os.fspath(dest), **(storage_options or {}))
    return fs, root.rstrip("/")


def dictionary_columns(table: str, schema: pa.Schema) -> list[str]:
    """The columns of ``table`` worth a Parquet dictionary: its strings that repeat across rows.

    Ids of the table's own rows, free text and ``extra`` are (nearly) unique; numbers, times and
    lists are plain-encoded, as a dictionary of them rarely pays.
    """
    unique = _UNIQUE_STRINGS.get(table.removeprefix("history_"), frozenset())
    return [
        f.name
        for f in schema
        if f.type == pa.string() and f.name != "extra" and f.name not in unique
    ]


def file_metadata(
    table: str, provenance: dict[str, Any], schema: pa.Schema | None = None
) -> dict[bytes, bytes]:
    """The key-value metadata of one table's files: ``ango_frames`` and, given the files'
    ``schema``, ``pandas``."""
    blob = {"schema_version": SCHEMA_VERSION, "table": table, "provenance": provenance}
    meta = {METADATA_KEY: orjson.dumps(blob, default=str)}
    if schema is not None:
        meta[b"pandas"] = pandas_metadata(schema)
    return meta


def with_metadata(table: str, schema: pa.Schema, provenance: dict[str, Any]) -> pa.Schema:
    """``schema`` carrying :func:`file_metadata` (its own metadata dropped)."""
    plain = schema.remove_metadata()
    return plain.with_metadata(file_metadata(table, provenance, plain))


def release_unused() -> None:
    """Hand the freed pages of Arrow's default pool (mimalloc) back: doing so after each flush
    kept a 300 MB conversion ~55 MB smaller, at no measured cost. mimalloc collects the calling
    thread's heap, so every writing thread calls this."""
    pa.default_memory_pool().release_unused()


@dataclass
class _Part:
    """One (table, partition) being written: its current file and the rows not yet written."""

    directory: str
    schema: pa.Schema | None = None
    writer: pq.ParquetWriter | None = None
    handle: Any = None
    parts: int = 0
    pending: list[pa.RecordBatch] = field(default_factory=list)
    pending_rows: int = 0
    pending_bytes: int = 0


class DatasetWriter:
    """Writes record batches as per-table, optionally partitioned Parquet datasets."""

    def __init__(
        self,
        fs: Any,
        root: str,
        provenance: dict[str, Any],
        row_group_rows: int,
        partition_by: str | None,
        file_prefix: str = "part-",
    ) -> None:
        hive.check(partition_by)
        if row_group_rows < 1:
            raise ConfigError(f"row_group_rows must be >= 1, got {row_group_rows}")
        self.fs, self.root, self.partition_by = fs, root, partition_by
        self.row_group_rows = row_group_rows
        self.provenance = provenance
        self.file_prefix = file_prefix  # parallel writers: "part-<part index>-"
        self._parts: dict[tuple[str, str | None], _Part] = {}
        self.files: dict[str, list[str]] = {}

    def write_all(
        self,
        batches: dict[str, pa.RecordBatch],
        tables: Iterable[str],
        task_keys: dict[Any, Any] | None = None,
    ) -> None:
        """Write one flush of the Flattener (a record's rows are all in the same flush).

        ``task_keys`` (task_id -> partition value) defaults to the one of ``batches["tasks"]``.
        """
        if task_keys is None:
            task_keys = self.task_keys(batches)
        for table in tables:
            batch = batches.get(table)
            if batch is not None and batch.num_rows:
                self.write_batch(table, batch, task_keys)
        release_unused()

    def task_keys(self, batches: dict[str, pa.RecordBatch]) -> dict[Any, Any]:
        """task_id -> partition value of the tasks of one flush (empty when not partitioned)."""
        if self.partition_by is None or "tasks" not in batches:
            return {}
        return hive.task_keys(batches["tasks"], self.partition_by)

    def write_batch(self, table: str, batch: pa.RecordBatch, task_keys: dict[Any, Any]) -> None:
        """One table's batch of a flush, into its partitions. The tables of a flush may be
        written by different threads at once, each table by one thread at a time."""
        by = self.partition_by
        if by is None:
            self.write(table, None, batch)
            return
        for key, rows in hive.split(batch, hive.partition_keys(table, batch, by, task_keys)):
            self.write(table, key, hive.strip(table, rows, by))

    def write(self, table: str, key: Any, batch: pa.RecordBatch) -> None:
        """Queue ``batch`` for (table, key); a row group is written at ``row_group_rows``."""
        part = self._parts.get((table, key))
        if part is None:
            directory = f"{self.root}/{table}"
            if self.partition_by is not None:
                directory = hive.folder(directory, self.partition_by, key)
            part = self._parts[(table, key)] = _Part(directory)
        if part.schema is not None and not part.schema.equals(batch.schema):
            self._drain(table, part)  # the tasks schema widened: finish this file, start another
            self._close(part)
        part.schema = batch.schema
        part.pending.append(batch)
        part.pending_rows += batch.num_rows
        part.pending_bytes += batch.nbytes
        if part.pending_rows >= self.row_group_rows or part.pending_bytes >= ROW_GROUP_BYTES:
            self._drain(table, part)

    def _drain(self, table: str, part: _Part) -> None:
        if not part.pending:
            return
        data = pa.Table.from_batches(part.pending)
        part.pending, part.pending_rows, part.pending_bytes = [], 0, 0
        if part.writer is None:
            path = f"{part.directory}/{self.file_prefix}{part.parts:05d}.parquet"
            part.parts += 1
            self.fs.makedirs(part.directory, exist_ok=True)
            # a local file through Arrow's own stream: writes then never wait for the GIL
            local = "file" in (self.fs.protocol if isinstance(self.fs.protocol, tuple) else ())
            part.handle = pa.OSFile(path, "wb") if local else self.fs.open(path, "wb")
            schema = with_metadata(table, data.schema, self.provenance)
            part.writer = pq.ParquetWriter(
                part.handle, schema, use_dictionary=dictionary_columns(table, schema)
            )
            self.files.setdefault(table, []).append(path)
        part.writer.write_table(data, row_group_size=self.row_group_rows)

    @staticmethod
    def _close(part: _Part) -> None:
        if part.writer is not None:
            part.writer.close()
            part.handle.close()
        part.writer = part.handle = None

    def close(self, schemas: dict[str, pa.Schema]) -> None:
        """Write what is queued, close every file, then give every part of a table its final schema.

        Tables in ``schemas`` that got no rows get one empty file, so readers see their columns.
        """
        self.close_files()
        self.finish(schemas)

    def close_files(self) -> None:
        """Write what is queued and close every file (a parallel worker's last step)."""
        for (table, _key), part in self._parts.items():
            self._drain(table, part)
            self._close(part)

    def finish(self, schemas: dict[str, pa.Schema]) -> None:
        """Bring every file listed in :attr:`files` to its table's final schema (see close).

        ``schemas`` are the tables' (a partitioned file leaves out what its folder holds).
        """
        for table, schema in schemas.items():
            if table not in self.files:
                self._write_empty(table, schema)
                continue
            for path in self.files[table]:
                self._unify(path, table, hive.file_schema(table, schema, self.partition_by))

    def _write_empty(self, table: str, schema: pa.Schema) -> None:
        directory = f"{self.root}/{table}"
        path = f"{directory}/part-00000.parquet"
        self.fs.makedirs(directory, exist_ok=True)
        with self.fs.open(path, "wb") as handle:
            pq.write_table(with_metadata(table, schema, self.provenance).empty_table(), handle)
        self.files[table] = [path]

    def _unify(self, path: str, table: str, schema: pa.Schema) -> None:
        """Rewrite ``path`` with ``schema`` if it was written with a narrower one."""
        with self.fs.open(path, "rb") as handle:
            old = pq.read_schema(handle)
        if old.remove_metadata().equals(schema):
            return
        tmp = f"{path}.rewrite"
        with self.fs.open(path, "rb") as src, self.fs.open(tmp, "wb") as out:
            reader = pq.ParquetFile(src)
            with pq.ParquetWriter(
                out,
                with_metadata(table, schema, self.provenance),
                use_dictionary=dictionary_columns(table, schema),
            ) as writer:
                for i in range(reader.num_row_groups):
                    group = reader.read_row_group(i)
                    writer.write_table(conform(group, schema), row_group_size=self.row_group_rows)
        self.fs.rm(path)
        self.fs.mv(tmp, path)
