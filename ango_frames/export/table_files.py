"""Write an export's tidy tables as Parquet, CSV or ndjson files (the CLI's ``export --to``).

CSV and ndjson are made from the Parquet datasets one row group at a time, so memory stays bounded
and every table has one final schema (the ``tasks`` table's dynamic columns are only known at the
end of the stream). In CSV, list and struct cells are JSON text; ndjson keeps them nested.
"""

from __future__ import annotations

import json
import tempfile
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from ango_frames.errors import ConfigError
from ango_frames.export.parquet import export_to_parquet

__all__ = ["TEXT_FORMATS", "write_tables"]

TEXT_FORMATS = ("csv", "ndjson")


def _cell(value: Any) -> Any:
    return json.dumps(value, default=str) if isinstance(value, (list, dict)) else value


def _batches(fs: Any, root: str) -> tuple[list[str], pa.Schema | None]:
    files = sorted(p for p in fs.find(root) if p.endswith(".parquet"))
    schema = pq.read_schema(fs.open(files[0], "rb")) if files else None
    return files, schema


def _write_text(fs: Any, root: str, out: Any, to: str) -> int:
    import pandas as pd

    files, schema = _batches(fs, root)
    rows = 0
    header = True
    for path in files:
        with fs.open(path, "rb") as f:
            pf = pq.ParquetFile(f)
            for i in range(pf.num_row_groups):
                table = pf.read_row_group(i)
                rows += table.num_rows
                records = table.to_pylist()
                if to == "ndjson":
                    for rec in records:
                        out.write(json.dumps(rec, default=str, ensure_ascii=False) + "\n")
                else:
                    frame = pd.DataFrame(
                        [{k: _cell(v) for k, v in r.items()} for r in records],
                        columns=table.schema.names,
                    )
                    frame.to_csv(out, index=False, header=header)
                    header = False
    if to == "csv" and header and schema is not None:  # an empty table still gets its header
        out.write(",".join(schema.names) + "\n")
    return rows


def write_tables(
    src: Any,
    dest: str,
    *,
    to: str = "parquet",
    partition_by: str | None = None,
    progress: bool = False,
    storage_options: dict[str, Any] | None = None,
    dest_storage_options: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> dict[str, int]:
    """Write every table of the export ``src`` under ``dest``; returns rows per table.

    ``to="parquet"`` writes one dataset per table (``dest/<table>/``, see ``export_to_parquet``,
    also for ``overwrite``); ``"csv"`` / ``"ndjson"`` write ``dest/<table>.csv`` /
    ``dest/<table>.ndjson``.
    """
    if to == "parquet":
        written = export_to_parquet(
            src,
            dest,
            storage_options=storage_options,
            dest_storage_options=dest_storage_options,
            partition_by=partition_by,
            progress=progress,
            overwrite=overwrite,
        )
        fs, _ = fsspec.core.url_to_fs(dest, **(dest_storage_options or {}))
        counts = {}
        for table, path in written.items():
            root = fsspec.core.url_to_fs(path, **(dest_storage_options or {}))[1]
            counts[table] = sum(
                pq.ParquetFile(fs.open(p, "rb")).metadata.num_rows
                for p in fs.find(root)
                if p.endswith(".parquet")
            )
        return counts
    if to not in TEXT_FORMATS:
        raise ConfigError(f"to must be parquet, csv or ndjson, got {to!r}")
    if partition_by is not None:
        raise ConfigError("partition_by applies to Parquet output only")
    out_fs, out_root = fsspec.core.url_to_fs(dest, **(dest_storage_options or {}))
    out_fs.makedirs(out_root, exist_ok=True)
    counts = {}
    with tempfile.TemporaryDirectory(prefix="ango-tables-") as tmp:
        label = f"export to {to}" if progress else False  # the bar says what is written
        written = export_to_parquet(src, tmp, storage_options=storage_options, progress=label)
        local = fsspec.filesystem("file")
        for table, path in written.items():
            with out_fs.open(f"{out_root}/{table}.{to}", "w", encoding="utf-8", newline="") as out:
                counts[table] = _write_text(local, path, out, to)
    return counts
