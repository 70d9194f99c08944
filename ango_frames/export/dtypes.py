"""Arrow tables of the tidy schemas to pandas DataFrames, with Arrow-backed dtypes throughout.

Every column becomes a ``pd.ArrowDtype``: nullable integers and booleans, UTC timestamps, and
lists / structs (points, zones, answer paths) as real values rather than JSON text. The same
conversion serves ``read_export`` and the Parquet reader, so both give equal frames.
:func:`pandas_metadata` is what the Parquet writer stores so that a plain ``pd.read_parquet``
gives the same dtypes (nested columns excepted: pandas cannot name their types there).
"""

from __future__ import annotations

import orjson
import pandas as pd
import pyarrow as pa

from ango_frames.errors import ConfigError
from ango_frames.schemas import schema_for

__all__ = ["empty_frame", "pandas_dtypes", "pandas_metadata", "to_pandas"]


def pandas_dtypes(name: str, schema: pa.Schema | None = None) -> dict[str, pd.ArrowDtype]:
    """Column -> ``pd.ArrowDtype`` of table ``name`` (or of ``schema``, with dynamic columns)."""
    schema = schema_for(name) if schema is None else schema
    return {field.name: pd.ArrowDtype(field.type) for field in schema}


def empty_frame(name: str, schema: pa.Schema | None = None) -> pd.DataFrame:
    """A frame with no rows and the columns and dtypes of table ``name``."""
    schema = schema_for(name) if schema is None else schema
    return to_pandas(schema.empty_table(), name)


def to_pandas(table_or_batch: pa.Table | pa.RecordBatch, name: str) -> pd.DataFrame:
    """Convert one tidy table to pandas, every column as a ``pd.ArrowDtype``.

    Parameters
    ----------
    table_or_batch : pyarrow.Table or pyarrow.RecordBatch
        Holds at least the columns of ``schemas.schema_for(name)``, with their types; extra
        (dynamic ``metadata_*`` / ``context_*``) columns come after them.
    name : str
        The table's name, one of ``schemas.TABLE_NAMES``.

    Raises
    ------
    ConfigError
        A column of the schema is missing or has another type (not a tidy table of that name).
    """
    expected = schema_for(name)
    got = table_or_batch.schema
    for field in expected:
        index = got.get_field_index(field.name)
        if index < 0 or not got.field(index).type.equals(field.type):
            have = "missing" if index < 0 else str(got.field(index).type)
            raise ConfigError(
                f"table {name!r}: column {field.name!r} should be {field.type}, is {have}"
            )
    frame = table_or_batch.to_pandas(types_mapper=pd.ArrowDtype, ignore_metadata=True)
    return frame.reset_index(drop=True)


def _pandas_column(field: pa.Field) -> dict[str, object]:
    kind = field.type
    if pa.types.is_nested(kind):  # "list<item: double>[pyarrow]" is not a name pandas parses
        return {"pandas_type": "object", "numpy_type": "object"}
    if pa.types.is_string(kind):
        pandas_type = "unicode"  # numpy_type "string[pyarrow]": pandas' nullable string dtype
    elif pa.types.is_timestamp(kind):
        pandas_type = "datetimetz" if kind.tz else "datetime"
    elif pa.types.is_floating(kind):
        pandas_type = f"float{kind.bit_width}"
    else:
        pandas_type = str(kind)
    return {"pandas_type": pandas_type, "numpy_type": str(pd.ArrowDtype(kind))}


def pandas_metadata(schema: pa.Schema) -> bytes:
    """The ``b"pandas"`` schema metadata that makes ``pd.read_parquet`` / ``Table.to_pandas``
    give every scalar column its ``pd.ArrowDtype`` (strings: ``string[pyarrow]``), no index.

    pandas itself writes nested types' names, which it then fails to read back; they are stored
    as ``object`` here (pandas' default for lists and structs).
    """
    columns = [
        {"name": f.name, "field_name": f.name, **_pandas_column(f), "metadata": None}
        for f in schema
    ]
    blob = {
        "index_columns": [],
        "column_indexes": [],
        "columns": columns,
        "attributes": {},
        "creator": {"library": "ango_frames"},
        "pandas_version": pd.__version__,
    }
    return orjson.dumps(blob)
