"""Differential checks between the two flattening engines (native core and Python reference).

``engine_tables`` reads export bytes with one engine into one Arrow table per name (or the
``AngoError`` it raised); ``assert_engines_agree`` reads them with both and asserts that the
tables (schemas and values), the unknown-key counts, the made-up ids and the errors are
exactly the same. Without the native core built, only the Python engine runs.
"""

from __future__ import annotations

import io
import warnings
from collections import Counter
from typing import Any

import orjson
import pyarrow as pa

from ango_frames.errors import AngoError
from ango_frames.export.flatten.flattener import BATCH_ROWS, Flattener, flatten_to_tables
from ango_frames.export.flatten.native import available
from ango_frames.export.records import ReadLimits, iter_records

NATIVE = available()


def engine_tables(
    raw: bytes, engine: str, *, batch_rows: int = BATCH_ROWS, max_depth: int = 64, tables=None
) -> tuple[dict[str, pa.Table], Counter, Counter, Flattener] | AngoError:
    """``raw`` read and flattened by ``engine``: (tables, unknown keys, made-up ids, flattener)."""
    flat = Flattener(tables, engine=engine)
    records = iter_records(io.BytesIO(raw), limits=ReadLimits(max_depth=max_depth), raw=flat.native)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = flatten_to_tables(records, flat, batch_rows=batch_rows)
    except AngoError as error:
        return error
    return out, flat.unknown_keys, flat.made_up_ids(), flat


def _same_error(a: AngoError, b: Any) -> None:
    assert type(b) is type(a), (a, b)
    assert str(b) == str(a)


def assert_engines_agree(raw: bytes, **kw: Any) -> Any:
    """Both engines on ``raw``; returns the Python engine's result (see :func:`engine_tables`)."""
    ref = engine_tables(raw, "python", **kw)
    if not NATIVE:
        return ref
    got = engine_tables(raw, "native", **kw)
    if isinstance(ref, AngoError):
        _same_error(ref, got)
        return ref
    assert not isinstance(got, AngoError), got
    tables, unknown, made, _ = ref
    assert got[1] == unknown
    assert got[2] == made
    assert list(got[0]) == list(tables)
    for name, table in tables.items():
        other = got[0][name]
        assert other.schema.equals(table.schema, check_metadata=True), (name, other.schema)
        if not other.equals(table):
            for column in table.schema.names:
                a, b = table.column(column).to_pylist(), other.column(column).to_pylist()
                assert b == a, (name, column)
            raise AssertionError(f"{name}: tables differ")
    return ref


def ndjson(records: list[Any]) -> bytes | None:
    """``records`` as ndjson bytes (None when orjson cannot write them, e.g. huge ints)."""
    try:
        return b"".join(orjson.dumps(r) + b"\n" for r in records)
    except TypeError:
        return None
