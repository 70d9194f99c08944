"""Python column lists to typed Arrow arrays, without losing a value that does not fit.

``pa.array(values, type=...)`` is the fast path. It is guarded, because Arrow silently truncates
``1.5`` into an integer column and turns ``True`` into ``1.0``: scalar columns whose Python types
are not exactly the expected ones take a slow path that moves each misfit to the row's ``extra``
dict (under the column's name) and nulls the cell. Also here: the type inference of the dynamic
``metadata_*`` / ``context_*`` task columns and the conversion of earlier batches to a widened
schema (used by read_export and by the Parquet writer alike, so both give the same values).
"""

from __future__ import annotations

import math
from typing import Any

import orjson
import pyarrow as pa

__all__ = ["KIND_TYPES", "conform", "dynamic_array", "to_array", "widen"]

_NONE = type(None)
_ALLOWED: dict[pa.DataType, frozenset] = {
    pa.string(): frozenset((str, _NONE)),
    pa.float64(): frozenset((float, int, _NONE)),
    pa.int64(): frozenset((int, _NONE)),
    pa.int32(): frozenset((int, _NONE)),
    pa.bool_(): frozenset((bool, _NONE)),
}
_I64 = 2**63
_NULL = pa.null()
_INT64 = pa.int64()
_BOOL = pa.bool_()
_FROM_INT = (pa.float64(), pa.int32())

# Kinds of dynamic columns, from the values seen so far: "null" (only nulls), "bool", "int",
# "float" (ints and floats), "string", "json" (mixed or nested: JSON text for non-strings).
KIND_TYPES = {
    "null": pa.string(),
    "bool": pa.bool_(),
    "int": pa.int64(),
    "float": pa.float64(),
    "string": pa.string(),
    "json": pa.string(),
}
_KIND_OF_TYPE = {bool: "bool", int: "int", float: "float", str: "string", _NONE: "null"}


def widen(kind: str | None, value: Any) -> tuple[str, Any, bool]:
    """The kind after seeing ``value``, the value to store, and whether it fits at all.

    Ints beyond int64 and non-finite floats do not fit (the caller keeps them in ``extra``).
    """
    if value is None:
        return kind or "null", None, True
    t = type(value)
    if (t is int and not -_I64 <= value < _I64) or (t is float and not math.isfinite(value)):
        return kind or "null", None, False
    new = _KIND_OF_TYPE.get(t, "json")
    if kind is None or kind == "null" or kind == new:
        return new, value, True
    if kind in ("int", "float") and new in ("int", "float"):
        return "float", value, True
    return "json", value, True


def _json(values: list) -> list:
    dumps = orjson.dumps
    return [v if v is None or type(v) is str else dumps(v).decode() for v in values]


def dynamic_array(values: list, kind: str) -> pa.Array:
    """The Arrow array of one dynamic column of the given kind."""
    if kind == "json":
        return pa.array(_json(values), type=pa.string())
    if kind == "float":
        try:
            return pa.array(values, type=pa.float64())
        except pa.ArrowInvalid:  # ints above 2**53 beside floats: the nearest double
            return pa.array([float(v) if type(v) is int else v for v in values], pa.float64())
    return pa.array(values, type=KIND_TYPES[kind])


def _fits(value: Any, typ: pa.DataType, allowed: frozenset | None) -> Any:
    """``value`` converted for ``typ``; raises ValueError when it does not fit."""
    if allowed is not None:
        t = type(value)
        if t not in allowed:
            if not (t is float and typ in (pa.int64(), pa.int32()) and value.is_integer()):
                raise ValueError
            value = int(value)  # a whole float for an integer column, if it fits (checked below)
    try:
        pa.array([value], type=typ)
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        raise ValueError from None
    return value


def to_array(values: list | tuple, field: pa.Field, extras: list) -> pa.Array:
    """``values`` as an array of ``field.type``; misfits go to ``extras[i][field.name]``.

    Scalar columns are converted with Arrow's type inference first (one C pass, which tells
    ``1.5`` from ``1`` and ``True`` from ``1``), then cast where the inferred type is a narrower
    one the column accepts (int64 -> float64 / int32, all-null -> any); only a column holding
    misfits takes the value-by-value path.
    """
    typ = field.type
    allowed = _ALLOWED.get(typ)
    if allowed is None:
        try:
            return pa.array(values, type=typ)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            pass
    else:
        try:
            arr = pa.array(values)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            arr = None
        if arr is not None and arr.type != _BOOL and bool in set(map(type, values)):
            arr = None  # Arrow reads [0.0, False] as floats: a bool there is a misfit, always
        if arr is not None:
            kind = arr.type
            if kind == typ:
                return arr
            if kind == _NULL:
                return pa.nulls(len(arr), typ)
            if kind == _INT64 and typ in _FROM_INT:
                try:
                    return arr.cast(typ)  # safe cast: overflow / precision loss raise
                except (pa.ArrowException, OverflowError):
                    pass
    out = list(values)
    for i, value in enumerate(out):
        if value is None:
            continue
        try:
            out[i] = _fits(value, typ, allowed)
        except ValueError:
            out[i] = None
            if extras[i] is None:
                extras[i] = {}
            extras[i][field.name] = value
    return pa.array(out, type=typ)


def _convert(column: pa.Array, typ: pa.DataType) -> pa.Array:
    if column.type == typ:
        return column
    if column.null_count == len(column):
        return pa.nulls(len(column), type=typ)
    if typ == pa.string():  # widened to JSON text: encode exactly as the flattener does
        return pa.array(_json(column.to_pylist()), type=typ)
    return column.cast(typ, safe=False)  # int64 -> float64 (above 2**53: the nearest double)


def conform(batch: pa.RecordBatch | pa.Table, schema: pa.Schema) -> pa.RecordBatch | pa.Table:
    """``batch`` with exactly the columns of ``schema`` (missing ones null, narrower widened)."""
    if batch.schema.equals(schema):
        return batch
    n = batch.num_rows
    names = set(batch.schema.names)
    arrays = []
    for field in schema:
        if field.name in names:
            col = batch.column(field.name)
            if isinstance(col, pa.ChunkedArray):
                col = pa.chunked_array([_convert(c, field.type) for c in col.chunks], field.type)
            else:
                col = _convert(col, field.type)
        else:
            col = pa.nulls(n, type=field.type)
        arrays.append(col)
    if isinstance(batch, pa.Table):
        return pa.Table.from_arrays(arrays, schema=schema)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
