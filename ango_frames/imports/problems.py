"""Row-level validation of import frames: collect every problem, then report them all at once.

The payload builders check each row before anything is sent and record problems here with a
reason code; :class:`Problems` turns them into the ``failure_cases`` frame of one
:class:`~ango_frames.errors.PayloadError` (columns ``row``, ``column``, ``reason``, ``value``).
Checks work on whole columns (numpy masks), so a million rows cost a few array passes.

The reason codes are the members of :class:`Reason` (a ``str`` enum: ``Reason.NOT_FINITE ==
"not_finite"``, and the report's ``reason`` column holds the plain strings).
This module is the leaf of ``imports/``: it imports nothing else of the package.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd

from ango_frames.errors import PayloadError

__all__ = [
    "REASONS",
    "Problems",
    "Reason",
    "finite_check",
    "float_column",
    "raise_if",
]


class Reason(str, Enum):
    """Why a row cannot be imported (the ``reason`` column of a failure-cases table)."""

    #: neither asset_id nor external_id (nor a task_id that maps to one)
    MISSING_ASSET_KEY = "missing_asset_key"
    #: one asset named by asset_id in some rows and by external_id in others, and no mapping
    #: between the two is known (the hub would get two labels, the second replacing the first)
    CONFLICTING_ASSET_KEY = "conflicting_asset_key"
    #: schema_id / title not in the ontology (or not under the object's class)
    UNKNOWN_CLASS = "unknown_class"
    #: a title shared by several classes: the hub would pick one at random
    AMBIGUOUS_TITLE = "ambiguous_title"
    #: a column the row's tool needs is absent, or a row with no geometry at all
    MISSING_COLUMN = "missing_column"
    #: a point list of the wrong length (odd flat list, too few vertices)
    WRONG_ARITY = "wrong_arity"
    #: a value of the wrong type (text, bool, date or complex where a number belongs, ...)
    WRONG_TYPE = "wrong_type"
    #: NaN, missing or infinite value (also one that overflows when converted)
    NOT_FINITE = "not_finite"
    #: width / height <= 0, or end <= start
    NON_POSITIVE_SIZE = "non_positive_size"
    #: outside the asset (only checked when its size is known)
    OUT_OF_BOUNDS = "out_of_bounds"
    #: the same object_id twice in one asset and page
    DUPLICATE_OBJECT_ID = "duplicate_object_id"
    #: a relation end that is no object of that asset
    DANGLING_RELATION = "dangling_relation"
    #: a nested answer whose object (or parent answer) is not in the input
    DANGLING_ANSWER = "dangling_answer"
    #: a list for a single-answer class, a non-string answer, ...
    WRONG_ANSWER_TYPE = "wrong_answer_type"
    #: an answer that is not an option value / tree path of its classification
    UNKNOWN_OPTION = "unknown_option"
    #: geometry that does not fit the class's tool
    TOOL_MISMATCH = "tool_mismatch"
    #: an attachment URL that is not http(s) / s3 / gs / azure (javascript:, file:, no scheme)
    INVALID_URL = "invalid_url"
    #: a brush mask (brushDataUrl / medicalBrushDataUrl), which the spec's labels body cannot
    #: carry: send it with ``body="import-file"`` or through annotate
    BRUSH_NEEDS_IMPORT_FILE = "brush_needs_import_file"
    #: two different brush masks of one kind for one asset (the hub keeps one per asset)
    CONFLICTING_BRUSH = "conflicting_brush"

    def __str__(self) -> str:
        return self.value


#: Every reason code, as plain strings.
REASONS: tuple[str, ...] = tuple(r.value for r in Reason)
_KNOWN = frozenset(REASONS)

_COLUMNS = ["row", "column", "reason", "value"]


class Problems:
    """Problems found in one input frame, by row position; ``frame()`` gives the report.

    Parameters
    ----------
    index : pandas.Index
        The input frame's index: ``row`` in the report is the index label, not the position.
    prefix : str
        Put before column names (``"classifications."``) when the frame is not the objects frame,
        so one report can cover several input frames.
    """

    def __init__(self, index: pd.Index, prefix: str = "") -> None:
        self.index = index
        self.prefix = prefix
        self.bad = np.zeros(len(index), dtype=bool)
        self._parts: list[tuple[np.ndarray, str, str, Sequence[Any] | None]] = []

    def add(
        self,
        where: np.ndarray | Iterable[int],
        column: str,
        reason: str,
        values: Sequence[Any] | np.ndarray | None = None,
    ) -> None:
        """Record ``reason`` for the rows ``where`` (a boolean mask or positions).

        ``values`` is aligned with the whole frame (a full column) or with ``where``'s positions.
        """
        reason = _code(reason)
        where = np.asarray(where)
        pos = np.flatnonzero(where) if where.dtype == bool else where.astype(np.intp, copy=False)
        if not len(pos):
            return
        self.bad[pos] = True
        if values is not None and len(values) == len(self.bad) and len(pos) != len(self.bad):
            vals: Sequence[Any] | None = [values[int(i)] for i in pos]
        elif values is not None and len(values) == len(self.bad):
            vals = list(values)
        else:
            vals = None if values is None else list(values)
        self._parts.append((pos, column, reason, vals))

    def one(self, pos: int, column: str, reason: str, value: Any = None) -> None:
        """Record one problem at row position ``pos``."""
        reason = _code(reason)
        self.bad[pos] = True
        self._parts.append((np.array([pos], dtype=np.intp), column, reason, [value]))

    def __bool__(self) -> bool:
        return bool(self._parts)

    def frame(self) -> pd.DataFrame:
        """The failure cases: one row per problem, in input row order."""
        if not self._parts:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in _COLUMNS})
        rows: list[Any] = []
        cols: list[str] = []
        reasons: list[str] = []
        values: list[Any] = []
        order: list[np.ndarray] = []
        for pos, column, reason, vals in self._parts:
            order.append(pos)
            rows.append(self.index[pos])
            cols.extend([self.prefix + column] * len(pos))
            reasons.extend([reason] * len(pos))
            values.extend(vals if vals is not None else [None] * len(pos))
        out = pd.DataFrame(
            {
                "row": np.concatenate([np.asarray(r, dtype=object) for r in rows]),
                "column": cols,
                "reason": reasons,
                "value": pd.Series([_plain(v) for v in values], dtype=object),
            }
        )
        sort = np.argsort(np.concatenate(order), kind="stable")
        return out.iloc[sort].reset_index(drop=True)


def _code(reason: str) -> str:
    """The plain string of a reason code (a :class:`Reason` or its value)."""
    code = reason.value if isinstance(reason, Reason) else reason
    if code not in _KNOWN:
        raise ValueError(f"unknown reason code {reason!r}")
    return code


def _plain(value: Any) -> Any:
    """Report values as plain Python (numpy scalars and arrays read badly in a table)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


_NUMERIC_KINDS = frozenset(("floating", "integer", "mixed-integer-float", "decimal", "empty"))


def _is_number(value: Any) -> bool:
    """A real number or text that reads as one; never a bool, date, duration or complex."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, float, np.integer, np.floating, Decimal)):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


def float_column(
    frame: pd.DataFrame, column: str, rows: np.ndarray, problems: Problems
) -> np.ndarray:
    """``frame[column]`` as float64, checked on the rows of the ``rows`` mask.

    Records ``missing_column`` (column absent), ``wrong_type`` (not a number: text, a bool, a
    date or duration, a complex number) and ``not_finite`` (missing, NaN or infinite) for those
    rows; returns NaN where a value is unusable.
    """
    n = len(frame)
    if column not in frame.columns:
        problems.add(rows, column, Reason.MISSING_COLUMN)
        return np.full(n, np.nan)
    series = frame[column]
    dtype = series.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not (
        pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_complex_dtype(dtype)
    ):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
    else:
        given = series.notna().to_numpy(dtype=bool)
        raw = series.to_numpy(dtype=object)
        if (
            pd.api.types.is_object_dtype(dtype)
            and pd.api.types.infer_dtype(series, skipna=True) in _NUMERIC_KINDS
        ):
            wrong = np.zeros(n, dtype=bool)
        elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            wrong = given & ~np.fromiter((_is_number(v) for v in raw), dtype=bool, count=n)
        else:  # bool, datetime, timedelta, period, complex, categorical...: never a coordinate
            wrong = given
        problems.add(rows & wrong, column, Reason.WRONG_TYPE, raw)
        kept = raw.copy()
        kept[wrong] = None
        numbers = pd.Series(kept, dtype="object")
        values = pd.to_numeric(numbers, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        rows = rows & ~wrong
    bad = rows & ~np.isfinite(values)
    if bad.any():
        problems.add(bad, column, Reason.NOT_FINITE, values)
    return values


def finite_check(
    rows: np.ndarray, column: str, problems: Problems, *arrays: np.ndarray
) -> np.ndarray:
    """Record ``not_finite`` where a computed value overflowed (``inf``) on ``rows``; the rows
    still good after it.

    orjson writes ``inf`` as ``null``: a box whose xyxy difference or normalised size overflows
    must be refused, never sent with a null in it.
    """
    ok = rows & ~problems.bad
    with np.errstate(invalid="ignore"):
        finite = np.logical_and.reduce([np.isfinite(a) for a in arrays])
    problems.add(ok & ~finite, column, Reason.NOT_FINITE, arrays[0])
    return rows & ~problems.bad


def raise_if(problems: Iterable[Problems]) -> None:
    """Raise one :class:`PayloadError` holding the problems of every frame, if there are any."""
    frames = [p.frame() for p in problems if p]
    if frames:
        raise PayloadError(pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0])
