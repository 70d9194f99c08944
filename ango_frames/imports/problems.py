"""Row-level validation of import frames: collect every problem, then report them all at once.

The payload builders check each row before anything is sent and record problems here with a
reason code; :class:`Problems` turns them into the ``failure_cases`` frame of one
:class:`~ango_frames.errors.PayloadError` (columns ``row``, ``column``, ``reason``, ``value``).
Checks work on whole columns (numpy masks), so a million rows cost a few array passes.

Reason codes
------------
missing_asset_key   neither asset_id nor external_id (nor a task_id that maps to one)
unknown_class       schema_id / title not in the ontology (or not under the object's class)
ambiguous_title     a title shared by several classes: the hub would pick one at random
missing_column      a column the row's tool needs is absent, or a row with no geometry at all
wrong_arity         a point list of the wrong length (odd flat list, too few vertices)
wrong_type          a value of the wrong type (text where a number belongs, ...)
not_finite          NaN, missing or infinite coordinate
non_positive_size   width / height <= 0, or end <= start
out_of_bounds       outside the asset (only checked when its size is known)
duplicate_object_id the same object_id twice in one asset and page
dangling_relation   a relation end that is no object of that asset
dangling_answer     a nested answer whose object (or parent answer) is not in the input
wrong_answer_type   a list for a single-answer class, a non-string answer, ...
unknown_option      an answer that is not an option value / tree path of its classification
tool_mismatch       geometry that does not fit the class's tool
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ango_frames.errors import PayloadError

__all__ = [
    "REASONS",
    "Problems",
    "float_column",
    "raise_if",
    "validate_labels",
]

REASONS = (
    "missing_asset_key",
    "unknown_class",
    "ambiguous_title",
    "missing_column",
    "wrong_arity",
    "wrong_type",
    "not_finite",
    "non_positive_size",
    "out_of_bounds",
    "duplicate_object_id",
    "dangling_relation",
    "dangling_answer",
    "wrong_answer_type",
    "unknown_option",
    "tool_mismatch",
)

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
        assert reason in REASONS, reason
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


def _plain(value: Any) -> Any:
    """Report values as plain Python (numpy scalars and arrays read badly in a table)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def float_column(
    frame: pd.DataFrame, column: str, rows: np.ndarray, problems: Problems
) -> np.ndarray:
    """``frame[column]`` as float64, checked on the rows of the ``rows`` mask.

    Records ``missing_column`` (column absent), ``wrong_type`` (not a number) and ``not_finite``
    (missing, NaN or infinite) for those rows; returns NaN where a value is unusable.
    """
    n = len(frame)
    if column not in frame.columns:
        problems.add(rows, column, "missing_column")
        return np.full(n, np.nan)
    series = frame[column]
    try:
        values = series.to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError):
        coerced = pd.to_numeric(series, errors="coerce")
        values = coerced.to_numpy(dtype="float64", na_value=np.nan)
        # bools are numbers to numpy but never a coordinate
        wrong = (series.notna().to_numpy() & np.isnan(values)) | series.map(
            lambda v: isinstance(v, (bool, np.bool_))
        ).to_numpy(dtype=bool)
        raw = series.to_numpy(dtype=object)
        problems.add(rows & wrong, column, "wrong_type", raw)
        values = np.where(wrong, np.nan, values)
        rows = rows & ~wrong
    bad = rows & ~np.isfinite(values)
    if bad.any():
        problems.add(bad, column, "not_finite", values)
    return values


def validate_labels(data: Any, ontology: Any = None, **options: Any) -> pd.DataFrame:
    """Every problem that would stop ``labels_payload(data, ...)``, as a failure-cases frame.

    Takes the same arguments as :func:`ango_frames.imports.labels.labels_payload` (without
    ``project``) and returns an empty frame when every row is valid. Nothing is sent.
    """
    from ango_frames.imports.labels import build_labels

    options.pop("on_error", None)
    return build_labels(data, "", ontology, on_error="skip", **options).failures


def raise_if(problems: Iterable[Problems]) -> None:
    """Raise one :class:`PayloadError` holding the problems of every frame, if there are any."""
    frames = [p.frame() for p in problems if p]
    if frames:
        raise PayloadError(pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0])
