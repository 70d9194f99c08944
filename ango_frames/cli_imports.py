"""The import side of the ``ango-frames`` CLI: reading the input table, flags, the summary.

Key and id columns are read as text: ``00042`` stays ``00042``, a blank in an id column does not
turn ``1000`` into ``1000.0``, and ``1000`` and ``1000.0`` in one column name one asset. A file
that is not a table, or has no rows, is an error before anything is sent.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from ango_frames.errors import ConfigError

__all__ = ["ID_COLUMNS", "REPLACES", "add_import_flags", "finish_import", "read_table"]

#: Columns that hold keys and ids, never numbers.
ID_COLUMNS = (
    "external_id", "asset_id", "task_id", "object_id", "track_id", "schema_id", "title",
    "from_object_id", "to_object_id", "classification", "attachment_url", "url",
)  # fmt: skip

REPLACES = (
    "Each imported label REPLACES its asset's current answer on the hub (human objects, "
    "classifications and relations included; nothing is merged). Use --dry-run to see what "
    "would be sent."
)


def add_import_flags(p: argparse.ArgumentParser, labels: bool = False) -> None:
    """The flags only the import commands have."""
    p.add_argument(
        "--verify",
        action="store_true",
        help="read your writes: export each chunk's assets back and check every label arrived "
        "with its objects (names labels whose asset did not match) (default: off)",
    )
    if labels:
        p.add_argument(
            "--body",
            choices=["labels", "import-file"],
            default="labels",
            help="request body: the spec's labels[].answer (default) or the official client's "
            "jsonContent import-file items (externalId only) (default: %(default)s)",
        )


def _text(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def _ids_as_text(frame: Any) -> Any:
    import pandas as pd

    for name in ID_COLUMNS:
        if name in frame.columns and not pd.api.types.is_string_dtype(frame[name].dtype):
            frame[name] = pd.Series(
                [_text(v) for v in frame[name].tolist()], index=frame.index, dtype=object
            )
    return frame


def read_table(path: str) -> Any:
    """The input table of an import command: Parquet, CSV or TSV, ids as text."""
    import pandas as pd

    if not Path(path).is_file():
        raise ConfigError(f"{path}: no such file")
    is_csv = path.endswith((".csv", ".tsv"))
    frame = None
    if not is_csv:
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            if path.endswith((".parquet", ".pq")):
                raise ConfigError(f"cannot read {path} as Parquet: {exc}") from exc
    if frame is None:
        sep = "\t" if path.endswith(".tsv") else ","
        try:
            head = pd.read_csv(path, sep=sep, nrows=0)
            dtype = {c: str for c in head.columns if c in ID_COLUMNS}
            frame = pd.read_csv(path, sep=sep, dtype=dtype)
        except (ValueError, UnicodeDecodeError) as exc:  # EmptyDataError, ParserError
            raise ConfigError(f"{path} is not a table (Parquet, CSV or TSV): {exc}") from exc
        if len(frame.columns) < 2:
            raise ConfigError(
                f"{path} is not a table of labels: it has {len(frame.columns)} column(s) "
                f"({', '.join(map(str, frame.columns)) or 'none'})"
            )
    if len(frame) == 0:
        raise ConfigError(f"{path} has no rows: nothing to import")
    return _ids_as_text(frame)


def _rejected_path(results: str) -> str:
    stem, dot, ext = results.rpartition(".")
    return f"{stem}.rejected.{ext}" if dot and "/" not in ext else f"{results}.rejected.csv"


def _write(frame: Any, path: str) -> None:
    """A results table as a file, no index column; attrs (the failure table) left out."""
    frame = frame.copy(deep=False)
    frame.attrs = {}  # Parquet metadata cannot hold the failure table riding in attrs
    if path.endswith((".parquet", ".pq")):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)


def finish_import(result: Any, args: argparse.Namespace, incomplete: Any = None) -> int:
    """Print what the import did, write ``--results`` (and the rejected rows); the exit status."""
    from ango_frames.imports.send import DryRun

    if isinstance(result, DryRun):
        print(result.summary())
        return 0
    failures = result.attrs.get("failures")
    rejected = 0 if failures is None else len(failures)
    if args.results:
        _write(result, args.results)
        if rejected:
            where = _rejected_path(args.results)
            _write(failures, where)
            print(
                f"wrote {rejected} rejected row problem(s) (row, column, reason, value) to {where}"
            )
    counts = result["status"].value_counts().to_dict()
    said = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    if rejected:
        rows = failures["row"].nunique()
        said += f"; {rows} input row(s) rejected ({rejected} problem(s)), not sent"
    if incomplete is not None:
        print(f"import incomplete: {said}")
        return 1
    print(f"import finished: {said}")
    return 0
