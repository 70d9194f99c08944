"""Arrow tables of the tidy schemas to pandas DataFrames, with Arrow-backed dtypes throughout.

Every column becomes a ``pd.ArrowDtype``: nullable integers and booleans, UTC timestamps, and
lists / structs (points, zones, answer paths) as real values rather than JSON text. The same
conversion serves ``read_export`` and the Parquet reader, so both give equal frames.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from ango_frames.errors import ConfigError
from ango_frames.schemas import schema_for

__all__ = ["empty_frame", "pandas_dtypes", "to_pandas"]


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
