"""Arrow tables of the tidy schemas to pandas DataFrames, with Arrow-backed dtypes throughout.

Every column becomes a ``pd.ArrowDtype``: nullable integers and booleans, UTC timestamps, and
lists / structs (points, zones, answer paths) as real values rather than JSON text. The same
conversion serves ``read_export`` and the Parquet reader, so both give equal frames.
:func:`pandas_metadata` is what the Parquet writer stores so that a plain ``pd.read_parquet``
gives the same dtypes (nested columns excepted: pandas cannot name their types there).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa

from ango_frames.errors import ConfigError
from ango_frames.schemas import DYNAMIC_PREFIXES, schema_for

__all__ = [
    "apply_dtypes",
    "check_dtypes",
    "empty_frame",
    "pandas_dtypes",
    "pandas_metadata",
    "to_pandas",
]


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


def _arrow_type(column: str, value: Any) -> pa.DataType:
    if isinstance(value, pa.DataType):
        return value
    if isinstance(value, pd.ArrowDtype):
        return value.pyarrow_dtype
    if isinstance(value, str):
        try:
            return pa.type_for_alias(value.removesuffix("[pyarrow]"))
        except ValueError:
            pass
    try:
        return pa.from_numpy_dtype(value)
    except (TypeError, ValueError, pa.ArrowException):
        pass
    raise ConfigError(
        f"dtypes[{column!r}] = {value!r} is not a type: give an Arrow type name ('int64', "
        "'double', 'string', 'bool', ...), a pyarrow.DataType or a pd.ArrowDtype"
    )


def check_dtypes(dtypes: Mapping[str, Any] | None) -> dict[str, pa.DataType]:
    """``read_export``'s ``dtypes=``: column -> Arrow type, only dynamic ``tasks`` columns."""
    if dtypes is None:
        return {}
    if not isinstance(dtypes, Mapping):
        raise ConfigError(f"dtypes must be a mapping of column -> type, not {type(dtypes)}")
    prefixes = tuple(DYNAMIC_PREFIXES.values())
    out = {}
    for column, value in dtypes.items():
        if not isinstance(column, str) or not column.startswith(prefixes):
            raise ConfigError(
                f"dtypes: {column!r} is not an inferred column; only the tasks columns "
                f"{' / '.join(p + '*' for p in prefixes)} take a dtype (the others are fixed "
                "by the schema)"
            )
        out[column] = _arrow_type(column, value)
    return out


def apply_dtypes(table: pa.Table, dtypes: Mapping[str, pa.DataType]) -> pa.Table:
    """``table`` with its dynamic columns cast to ``dtypes`` (missing ones added, all null)."""
    for column, typ in dtypes.items():
        index = table.schema.get_field_index(column)
        if index < 0:
            table = table.append_column(pa.field(column, typ), pa.nulls(len(table), typ))
            continue
        try:
            cast = table.column(index).cast(typ)
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise ConfigError(
                f"dtypes: column {column!r} ({table.schema.field(index).type}) cannot be "
                f"converted to {typ}: {exc}"
            ) from None
        table = table.set_column(index, pa.field(column, typ), cast)
    return table


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
