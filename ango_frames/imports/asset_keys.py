"""Which asset (or task) each input row belongs to, numbered in order of first appearance.

A row names its asset by ``asset_id`` or ``external_id`` (``asset_id`` wins when both are set), or
by ``task_id`` mapped through an export's ``tasks`` table. The payload has one label per asset;
keys are compared as ``"<kind>\\x1f<value>"`` strings so that an assetId and an externalId that
happen to be equal never merge.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ango_frames.imports.problems import Problems

__all__ = [
    "KIND_FIELDS",
    "AssetKeys",
    "anything",
    "as_bool",
    "as_int",
    "first_present",
    "group_bounds",
    "id_column",
    "object_values",
]

#: Key kind letter -> the field name in the request body.
KIND_FIELDS = {"a": "assetId", "e": "externalId", "t": "taskId"}
SEP = "\x1f"


def id_column(frame: pd.DataFrame | None, column: str) -> np.ndarray:
    """``frame[column]`` as an object array of ``str`` with ``None`` for missing or empty values."""
    if frame is None:
        return np.empty(0, dtype=object)
    n = len(frame)
    out = np.full(n, None, dtype=object)
    if column not in frame.columns or not n:
        return out
    series = frame[column]
    mask = series.notna().to_numpy(dtype=bool)
    # the series, not its dtype: an object column is only taken as-is when every value is a str
    if mask.all() and pd.api.types.is_string_dtype(series):
        values = series.to_numpy(dtype=object)
    else:
        values = series[mask].astype(str).to_numpy(dtype=object)
        out[mask] = values
        values = out
    empty = values == ""
    if empty.any():
        values = values.copy()
        values[empty] = None
    return values


def object_values(series: pd.Series) -> np.ndarray:
    """A column as an object array with ``None`` for every missing value (NaN, NA, None)."""
    values = series.to_numpy(dtype=object)
    missing = series.isna().to_numpy(dtype=bool)
    if missing.any():
        values = values.copy()
        values[missing] = None
    return values


def _prefixed(prefix: str, values: np.ndarray) -> np.ndarray:
    out = np.full(len(values), None, dtype=object)
    mask = pd.notna(values)
    if mask.any():
        out[mask] = (prefix + pd.Series(values[mask], dtype=object)).to_numpy(dtype=object)
    return out


class AssetKeys:
    """Collects row keys from every input frame, then numbers the assets.

    Parameters
    ----------
    by : {"asset", "task"}
        ``asset``: labels per asset (``/import/labels``); ``task``: per task (``/annotate``).
    tasks : DataFrame, optional
        An export's tasks table: ``task_id`` -> ``asset_id`` / ``external_id``.
    """

    def __init__(self, by: str = "asset", tasks: pd.DataFrame | None = None) -> None:
        self.by = by
        self._map: dict[str, pd.Series] = {}
        if tasks is not None and "task_id" in tasks.columns:
            base = tasks.drop_duplicates("task_id")
            for col in ("asset_id", "external_id"):
                if col in base.columns:
                    self._map[col] = pd.Series(
                        id_column(base, col), index=id_column(base, "task_id"), dtype=object
                    )
        self._keys: list[np.ndarray] = []
        self.uniques: np.ndarray = np.empty(0, dtype=object)

    def add(
        self, frame: pd.DataFrame, problems: Problems | None
    ) -> tuple[int, np.ndarray, np.ndarray]:
        """Register a frame's rows; returns (slot, asset_ids, external_ids) per row.

        Rows without a usable key are recorded as ``missing_asset_key`` on ``problems``.
        """
        if self.by == "task":
            task = id_column(frame, "task_id")
            keys = _prefixed("t" + SEP, task)
            if problems is not None:
                problems.add(pd.isna(keys), "task_id", "missing_asset_key")
            self._keys.append(keys)
            return len(self._keys) - 1, task, task
        aid = id_column(frame, "asset_id")
        ext = id_column(frame, "external_id")
        if self._map and "task_id" in frame.columns:
            task = pd.Series(id_column(frame, "task_id"), dtype=object)
            for col, target in (("asset_id", aid), ("external_id", ext)):
                if col in self._map:
                    mapped = task.map(self._map[col]).to_numpy(dtype=object)
                    fill = pd.isna(target) & pd.notna(mapped)
                    target[fill] = mapped[fill]
        keys = _prefixed("e" + SEP, ext)
        has_aid = pd.notna(aid)
        keys[has_aid] = _prefixed("a" + SEP, aid[has_aid])
        if problems is not None:
            column = "asset_id" if "asset_id" in frame.columns else "external_id"
            if "task_id" in frame.columns and not {"asset_id", "external_id"} & set(frame.columns):
                column = "task_id"
            problems.add(pd.isna(keys), column, "missing_asset_key")
        self._keys.append(keys)
        return len(self._keys) - 1, aid, ext

    def number(self) -> list[np.ndarray]:
        """Number the assets (first appearance over the frames, in the order added).

        Returns one int array of asset codes per added frame (-1 where a row has no key).
        """
        sizes = [len(k) for k in self._keys]
        allkeys = np.concatenate(self._keys) if self._keys else np.empty(0, dtype=object)
        codes, uniques = pd.factorize(pd.Series(allkeys, dtype=object), use_na_sentinel=True)
        self.uniques = np.asarray(uniques, dtype=object)
        return list(np.split(np.asarray(codes, dtype=np.int64), np.cumsum(sizes)[:-1]))

    def field(self, code: int) -> tuple[str, str]:
        """(body field, value) of asset ``code``, e.g. ``("externalId", "0001.jpg")``."""
        kind, _, value = str(self.uniques[code]).partition(SEP)
        return KIND_FIELDS[kind], value

    def fields(self) -> list[tuple[str, str]]:
        return [self.field(i) for i in range(len(self.uniques))]

    def __len__(self) -> int:
        return len(self.uniques)


def group_bounds(codes: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """A stable sort of ``codes`` and the start offset of each group in it (length n_groups+1)."""
    order = np.argsort(codes, kind="stable")
    counts = (
        np.bincount(codes[codes >= 0], minlength=n_groups)
        if len(codes)
        else np.zeros(n_groups, dtype=np.int64)
    )
    starts = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    offset = int((codes < 0).sum())
    return order[offset:], starts


def as_bool(frame: pd.DataFrame, column: str) -> np.ndarray | None:
    """A nullable bool column as an object array of True / False / None (``None`` if absent)."""
    if column not in frame.columns:
        return None
    values = object_values(frame[column])
    out = np.full(len(values), None, dtype=object)
    for i, v in enumerate(values.tolist()):
        if v is not None and not (isinstance(v, float) and np.isnan(v)):
            out[i] = bool(v)
    return out


def as_int(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray] | None:
    """An integer column as (int64 values, present mask), or ``None`` when absent."""
    if column not in frame.columns:
        return None
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy("float64", na_value=np.nan)
    # beyond int64 (or inf) the cast gives garbage: such values count as not present (callers
    # that validate report them, see labels_objects)
    present = np.isfinite(values) & (np.abs(values) < 2.0**63)
    return np.where(present, values, 0).astype(np.int64), present


def first_present(frame: pd.DataFrame, *columns: str) -> str | None:
    """The first of ``columns`` that the frame has."""
    return next((c for c in columns if c in frame.columns), None)


def anything(value: Any) -> bool:
    """True for a present value (not None / NaN / NA)."""
    if value is None:
        return False
    try:
        return not bool(pd.isna(value))
    except (TypeError, ValueError):
        return True
