"""Buffered row tuples to one typed Arrow record batch (the Flattener's flush).

Rows are transposed once (``zip(*rows)``, which measured faster in CPython than appending to one
list per column), every column is converted by :func:`~ango_frames.export.flatten.columns.to_array`
or, for timestamps, :func:`~ango_frames.export.flatten.timestamps.ts_array`, and values that do not
fit their column land in the row's ``extra`` dict under the column's name before ``extra`` becomes
JSON text.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ango_frames.export.flatten.answers import json_text
from ango_frames.export.flatten.columns import KIND_TYPES, dynamic_array, to_array
from ango_frames.export.flatten.timestamps import TIMESTAMP, ts_array
from ango_frames.schemas import dynamic_field

__all__ = ["rows_to_batch"]


def _extra_array(extras: list) -> pa.Array:
    return pa.array([None if e is None else json_text(e) for e in extras], type=pa.string())


def rows_to_batch(
    rows: list[tuple],
    schema: pa.Schema,
    dynamic: list[dict | None] | None = None,
    kinds: dict[str, str] | None = None,
    names: list[str] | None = None,
) -> pa.RecordBatch:
    """The record batch of ``rows`` (tuples in ``schema`` order, ``extra`` dict or None last).

    For ``tasks``, ``dynamic`` holds each row's ``metadata_*`` / ``context_*`` values, ``kinds``
    their inferred kinds and ``names`` the dynamic columns in order; they follow ``extra``.
    """
    columns: list[Any] = list(zip(*rows, strict=True))
    n = len(schema) - 1  # `extra` is last: filled by misfits of the other columns
    extras = list(columns[n])
    arrays = []
    for i in range(n):
        field = schema.field(i)
        values, columns[i] = columns[i], None  # free each column once it is converted
        if field.type == TIMESTAMP:
            arrays.append(ts_array(values, field.name, extras))
        else:
            arrays.append(to_array(values, field, extras))
    fields = list(schema)
    if dynamic is not None and names and kinds is not None:
        for name in names:
            kind = kinds[name]
            arrays.append(dynamic_array([d.get(name) if d else None for d in dynamic], kind))
            fields.append(dynamic_field(name, KIND_TYPES[kind]))
    arrays.insert(n, _extra_array(extras))
    # `extra` sits before the dynamic columns, as in Flattener.schema()
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))
