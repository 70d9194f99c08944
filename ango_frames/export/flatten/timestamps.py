"""Export timestamps to epoch milliseconds (UTC), and the per-annotation audit metadata.

Exports print annotation times as ISO strings but document them as epoch-ms integers, and the stored
answer uses integers (docs/format.md §1.5): both become the same ``timestamp[ms, UTC]`` value. A
value that is neither is never guessed at: the caller keeps it in ``extra`` and nulls the column.

Rows keep timestamps raw; :func:`ts_array` converts a whole column at once when a batch is built
(Arrow parses the usual ``2024-11-02T13:47:40.085Z`` shape in bulk, :func:`ts_ms` takes the rest
one value at a time), which measured ~10x cheaper than parsing every value while rows are built.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["AUDIT_KEYS", "BAD", "NO_AUDIT", "TIMESTAMP", "audit", "ts_array", "ts_ms"]

_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_MS = timedelta(milliseconds=1)
_I64 = 2**63
TIMESTAMP = pa.timestamp("ms", tz="UTC")
# The shape Arrow's cast and datetime.fromisoformat read identically (at most 3 fraction digits,
# an explicit offset, a year >= 1000); anything else is parsed by ts_ms.
_ISO = r"^[1-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$"
_NULL_STR = pa.scalar(None, pa.string())


class _Bad:
    """Marks a value that does not fit its column (the caller moves it to ``extra``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "BAD"


BAD: Any = _Bad()


def ts_ms(value: Any) -> Any:
    """Epoch milliseconds of an ISO-8601 string or an epoch-ms number; ``None`` stays ``None``.

    Naive ISO strings are read as UTC (exports write UTC with a ``Z``). Returns ``BAD`` for
    anything else (bools, unparseable strings, out-of-range numbers).
    """
    if value is None:
        return None
    kind = type(value)
    if kind is str:
        if value.isdigit():  # epoch-ms sent as a string
            ms = int(value)
            return ms if ms < _I64 else BAD
        text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return BAD
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=_UTC)
        try:
            return (dt - _EPOCH) // _MS
        except OverflowError:  # pragma: no cover - datetime bounds are within int64 ms
            return BAD
    if kind is int:
        return value if -_I64 <= value < _I64 else BAD
    if kind is float and math.isfinite(value) and abs(value) < _I64:
        return round(value)
    return BAD


def _one_by_one(values: Any, positions: Any, name: str, extras: list) -> list:
    """ts_ms of ``values[i]`` for each i in ``positions``; misfits go to ``extras[i][name]``."""
    out = []
    for i in positions:
        value = values[i]
        ms = ts_ms(value)
        if ms is BAD:
            if extras[i] is None:
                extras[i] = {}
            extras[i][name] = value
            ms = None
        out.append(ms)
    return out


def _patch(base: pa.Array, mask: list[bool], values: list) -> pa.Array:
    """``base`` with the positions where ``mask`` is true replaced by ``values`` (in order)."""
    return pc.replace_with_mask(base, pa.array(mask), pa.array(values, pa.int64()).cast(TIMESTAMP))


def _strings(arr: pa.Array, values: Any, name: str, extras: list) -> pa.Array:
    """A string column (nulls elsewhere) to timestamps: bulk for the ISO shape, else ts_ms."""
    shaped = pc.match_substring_regex(arr, _ISO)
    if shaped.true_count == len(arr) - arr.null_count:  # the usual case: every string is ISO
        try:
            return pc.cast(arr, TIMESTAMP)
        except pa.ArrowInvalid:
            pass  # e.g. a 30th of February: below, value by value
    try:
        out = pc.cast(pc.if_else(shaped, arr, _NULL_STR), TIMESTAMP)
    except pa.ArrowInvalid:  # e.g. a 30th of February: the whole column goes one by one
        strings = [i for i, v in enumerate(values) if type(v) is str]
        mask = [type(v) is str for v in values]
        return _patch(
            pa.nulls(len(values), TIMESTAMP), mask, _one_by_one(values, strings, name, extras)
        )
    odd = pc.fill_null(pc.invert(shaped), False)
    if not pc.any(odd).as_py():
        return out
    positions = pc.indices_nonzero(odd).to_pylist()
    return _patch(out, odd.to_pylist(), _one_by_one(values, positions, name, extras))


def ts_array(values: Any, name: str, extras: list) -> pa.Array:
    """One ``timestamp[ms, UTC]`` column from raw export values (see :func:`ts_ms`).

    Values that are not timestamps are nulled and kept in ``extras[i][name]``.
    """
    try:
        arr = pa.array(values)  # inference: exact Python types, and no silent coercion
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        arr = None
    if arr is not None:
        kind = arr.type
        if kind == pa.null():
            return pa.nulls(len(arr), TIMESTAMP)
        if kind == pa.int64():
            return arr.cast(TIMESTAMP)
        if kind == pa.string():
            return _strings(arr, values, name, extras)
    # mixed: ISO strings and epoch-ms ints in bulk, every other value one by one
    strings = [v if type(v) is str else None for v in values]
    ints = [v if type(v) is int else None for v in values]
    n = len(values)
    odd = n - (n - strings.count(None)) - (n - ints.count(None)) - values.count(None)
    try:
        whole = pa.array(ints, pa.int64()).cast(TIMESTAMP)
    except (pa.ArrowException, OverflowError):  # an int beyond int64: one by one
        whole, odd = None, 1
    out = _strings(pa.array(strings, pa.string()), values, name, extras)
    if whole is not None:
        out = pc.coalesce(out, whole)
    if not odd:
        return out
    mask = [
        v is not None and type(v) is not str and (whole is None or type(v) is not int)
        for v in values
    ]
    others = [i for i, m in enumerate(mask) if m]
    return _patch(out, mask, _one_by_one(values, others, name, extras))


AUDIT_KEYS = frozenset(
    ("createdAt", "createdBy", "createdIn", "updatedAt", "updatedBy", "updatedIn", "description")
)
NO_AUDIT = (None, None, None, None, None, None, None)


def audit(meta: Any, extra: dict | None, unknown: Counter) -> tuple[tuple, dict | None]:
    """The seven audit columns (six audit fields and ``description``) of an annotation's
    ``metadata`` dict (docs/format.md §1.5).

    Times stay raw (the batch builder converts them with :func:`ts_array`). Returns the column
    values and the row's ``extra`` dict (created when something had to be kept there: a non-dict
    metadata, an unknown metadata key, which is also counted in ``unknown``).
    """
    if meta is None:
        return NO_AUDIT, extra
    if type(meta) is not dict:
        extra = {} if extra is None else extra
        extra["metadata"] = meta
        return NO_AUDIT, extra
    get = meta.get
    values = (
        get("createdAt"),
        get("createdBy"),
        get("createdIn"),
        get("updatedAt"),
        get("updatedBy"),
        get("updatedIn"),
        get("description"),
    )
    if not AUDIT_KEYS.issuperset(meta):
        for key in meta:
            if key not in AUDIT_KEYS:
                extra = {} if extra is None else extra
                extra[f"metadata.{key}"] = meta[key]
                unknown[f"metadata.{key}"] += 1
    return values, extra
