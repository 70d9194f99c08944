"""Export timestamps to epoch milliseconds (UTC), and the per-annotation audit metadata.

Exports print annotation times as ISO strings but document them as epoch-ms integers, and the
stored answer uses integers (FORMAT.md §1.5): both become the same ``timestamp[ms, UTC]`` value.
A value that is neither is never guessed at: the caller keeps it in ``extra`` and nulls the column.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["BAD", "NO_AUDIT", "audit", "ts_ms"]

_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_MS = timedelta(milliseconds=1)
_I64 = 2**63


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


_AUDIT_KEYS = (
    ("createdAt", "created_at"),
    ("createdBy", "created_by"),
    ("createdIn", "created_in"),
    ("updatedAt", "updated_at"),
    ("updatedBy", "updated_by"),
    ("updatedIn", "updated_in"),
)
_AUDIT_KNOWN = frozenset(k for k, _ in _AUDIT_KEYS)
NO_AUDIT = (None, None, None, None, None, None)


def audit(meta: Any, extra: dict | None, unknown: Counter) -> tuple[tuple, dict | None]:
    """The six audit columns of an annotation's ``metadata`` dict (FORMAT.md §1.5).

    Returns the column values and the row's ``extra`` dict (created when something had to be
    kept there: an unparseable time, a non-dict metadata, an unknown metadata key, which is also
    counted in ``unknown``).
    """
    if meta is None:
        return NO_AUDIT, extra
    if type(meta) is not dict:
        extra = {} if extra is None else extra
        extra["metadata"] = meta
        return NO_AUDIT, extra
    get = meta.get
    c_at = ts_ms(get("createdAt"))
    u_at = ts_ms(get("updatedAt"))
    if c_at is BAD:
        extra = {} if extra is None else extra
        extra["created_at"] = meta["createdAt"]
        c_at = None
    if u_at is BAD:
        extra = {} if extra is None else extra
        extra["updated_at"] = meta["updatedAt"]
        u_at = None
    values = (c_at, get("createdBy"), get("createdIn"), u_at, get("updatedBy"), get("updatedIn"))
    if not _AUDIT_KNOWN.issuperset(meta):
        for key in meta:
            if key not in _AUDIT_KNOWN:
                extra = {} if extra is None else extra
                extra[f"metadata.{key}"] = meta[key]
                unknown[f"metadata.{key}"] += 1
    return values, extra
