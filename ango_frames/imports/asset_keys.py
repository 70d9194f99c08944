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
import pyarrow as pa

from ango_frames.imports.problems import Problems, Reason

__all__ = [
    "KIND_FIELDS",
    "AssetKeys",
    "anything",
    "as_bool",
    "as_int",
    "first_present",
    "group_bounds",
    "id_column",
    "made_up_ids",
    "object_column",
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
    if isinstance(series.dtype, pd.StringDtype):
        # one str per distinct value, not per row: a million rows of three class ids hold three
        codes, uniques = pd.factorize(series)
        values = with_none(uniques)[codes]
        del codes, uniques
        # Arrow's pool keeps the pages its hashing freed (tens of MB on a million rows) for
        # its own reuse: handed back now, they stay out of the import's peak
        pa.default_memory_pool().release_unused()
    elif mask.all() and pd.api.types.is_string_dtype(series):
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


def factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` of an object array (``None`` -> code -1), its hash table grown as
    values come rather than sized for every row first (a million rows of 100k keys: ~40 MB less
    at the peak)."""
    array = np.asarray(values, dtype=object)
    codes, uniques = pd.factorize(array, size_hint=min(len(array), 1 << 14))
    return codes, np.asarray(uniques, dtype=object)


def distinct(values: np.ndarray, where: np.ndarray, block: int = 1 << 16) -> list[Any]:
    """The distinct values of ``values[where]`` but ``None``, in order of first appearance, read
    a block at a time (``pd.unique`` of a million rows sizes a hash table for every row: some
    75 MB for a column of three tools)."""
    seen: dict[Any, None] = {}
    for lo in range(0, len(values), block):
        seen.update(dict.fromkeys(values[lo : lo + block][where[lo : lo + block]].tolist()))
    seen.pop(None, None)
    return list(seen)


def with_none(uniques: Any) -> np.ndarray:
    """``uniques`` (of a factorize) as an object array with ``None`` added at the end, so that
    indexing it by the codes gives ``None`` for code -1 (missing)."""
    out = np.empty(len(uniques) + 1, dtype=object)
    out[:-1] = np.asarray(uniques, dtype=object)
    return out


def object_values(series: pd.Series) -> np.ndarray:
    """A column as an object array with ``None`` for every missing value (NaN, NA, None)."""
    values = series.to_numpy(dtype=object)
    missing = series.isna().to_numpy(dtype=bool)
    if missing.any():
        values = values.copy()
        values[missing] = None
    return values


def object_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """``frame[column]`` as :func:`object_values` gives it; all ``None`` without that column."""
    if column not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    return object_values(frame[column])


def _prefixed_codes(prefix: str, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``factorize`` of the prefixed values, without a prefixed string per row: the distinct
    values prefixed (a million rows of 100k assets make 100k strings)."""
    codes, uniques = factorize(values)
    return codes, np.asarray(prefix + pd.Series(uniques, dtype=object), dtype=object)


def _prefixed(prefix: str, values: np.ndarray) -> np.ndarray:
    codes, uniques = _prefixed_codes(prefix, values)
    return with_none(uniques)[codes]


def _key_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """:func:`id_column`, or, for a column the frame does not have, a read-only column of
    Nones that holds no per-row memory."""
    if column in frame.columns:
        return id_column(frame, column)
    return np.broadcast_to(np.array(None, dtype=object), (len(frame),))


class AssetKeys:
    """Collects row keys from every input frame, then numbers the assets.

    One asset is one label: rows naming an asset by ``asset_id`` and rows naming it by
    ``external_id`` are merged when the mapping between the two is known (rows that give both,
    or the export's ``tasks`` table). When it is not known and the input also names assets by
    ``asset_id`` alone, an ``external_id``-only row may be one of them: it is refused as
    ``conflicting_asset_key`` rather than sent as a second label that would replace the first.

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
        self._rows: list[tuple[np.ndarray, np.ndarray, Problems | None, bool]] = []
        self.uniques: np.ndarray = np.empty(0, dtype=object)
        self.external: dict[str, str] = {}  # asset_id -> its one known external_id

    def add(
        self, frame: pd.DataFrame, problems: Problems | None
    ) -> tuple[int, np.ndarray, np.ndarray]:
        """Register a frame's rows; returns (slot, asset_ids, external_ids) per row.

        Rows without a usable key are recorded as ``missing_asset_key`` on ``problems``.
        """
        if self.by == "task":
            task = id_column(frame, "task_id")
            if problems is not None:
                problems.add(pd.isna(task), "task_id", Reason.MISSING_ASSET_KEY)
            self._rows.append((task, task, problems, True))
            return len(self._rows) - 1, task, task
        aid, ext = _key_column(frame, "asset_id"), _key_column(frame, "external_id")
        if self._map and "task_id" in frame.columns:
            aid, ext = aid.copy(), ext.copy()  # filled in from the tasks table below
            task = pd.Series(id_column(frame, "task_id"), dtype=object)
            for col, target in (("asset_id", aid), ("external_id", ext)):
                if col in self._map:
                    mapped = task.map(self._map[col]).to_numpy(dtype=object)
                    fill = pd.isna(target) & pd.notna(mapped)
                    target[fill] = mapped[fill]
        if problems is not None:
            column = "asset_id" if "asset_id" in frame.columns else "external_id"
            if "task_id" in frame.columns and not {"asset_id", "external_id"} & set(frame.columns):
                column = "task_id"
            problems.add(pd.isna(aid) & pd.isna(ext), column, Reason.MISSING_ASSET_KEY)
        self._rows.append((aid, ext, problems, problems is None))
        return len(self._rows) - 1, aid, ext

    def number(self) -> list[np.ndarray]:
        """Number the assets (first appearance over the frames, in the order added).

        Returns one int array of asset codes per added frame (-1 where a row has no key, or a
        key that conflicts).
        """
        sizes = [len(r[0]) for r in self._rows]
        if self.by == "task":
            codes, uniques = _prefixed_codes("t" + SEP, _concat([r[0] for r in self._rows]))
        else:
            codes, uniques = self._asset_codes(sizes)
        self.uniques = np.asarray(uniques, dtype=object)
        # int32 codes while the assets allow: half the memory of a per-row array held to the end
        codes = codes.astype(np.int32 if len(self.uniques) < 2**31 else np.int64, copy=False)
        return list(np.split(codes, np.cumsum(sizes)[:-1]))

    def _asset_codes(self, sizes: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """The asset code of every row and the keys numbered (``"<kind>\\x1f<value>"``)."""
        aid = _concat([r[0] for r in self._rows])
        ext = _concat([r[1] for r in self._rows])
        has_a, has_e = pd.notna(aid), pd.notna(ext)
        if not has_a.any() or not has_e.any():  # one kind of key only: nothing to merge
            return (
                _prefixed_codes("e" + SEP, ext) if has_e.any() else _prefixed_codes("a" + SEP, aid)
            )
        keys, bad = self._merged_keys(aid, ext, sizes)
        keys[bad] = None  # a conflicting key names no asset: it must not become an empty label
        return factorize(keys)

    def _merged_keys(self, aid: Any, ext: Any, sizes: list[int]) -> tuple[Any, np.ndarray]:
        """Per row its key, and whether it conflicts, when rows name assets both ways."""
        has_a, has_e = pd.notna(aid), pd.notna(ext)
        pairs = pd.DataFrame({"a": aid[has_a & has_e], "e": ext[has_a & has_e]}).drop_duplicates()
        exts_per_aid = pairs.groupby("a")["e"].nunique()
        aids_per_ext = pairs.groupby("e")["a"].nunique()
        one_ext = pairs[pairs["a"].isin(exts_per_aid.index[exts_per_aid == 1])]
        self.external = dict(zip(one_ext["a"], one_ext["e"], strict=True))
        one_aid = pairs[pairs["e"].isin(aids_per_ext.index[aids_per_ext == 1])]
        aid_of_ext = pd.Series(one_aid["a"].to_numpy(), index=one_aid["e"].to_numpy())
        mapped = pd.Series(ext, dtype=object).map(aid_of_ext).to_numpy(dtype=object)
        only_e = has_e & ~has_a
        # asset_id-only assets of the input (not the tasks table) whose external_id is unknown:
        # an external_id-only row may be one of them
        given = np.concatenate(
            [np.full(n, not r[3]) for n, r in zip(sizes, self._rows, strict=True)]
        )
        unknown_aids = pd.Series(aid[given & has_a & ~has_e], dtype=object)
        open_aids = bool((~unknown_aids.isin(list(self.external))).any())
        several = pd.Series(ext, dtype=object).isin(aids_per_ext.index[aids_per_ext > 1])
        conflict_e = only_e & pd.isna(mapped) & (open_aids | several.to_numpy(dtype=bool))
        conflict_a = (
            has_a
            & has_e
            & pd.Series(aid, dtype=object)
            .isin(exts_per_aid.index[exts_per_aid > 1])
            .to_numpy(dtype=bool)
        )
        keys = _prefixed("e" + SEP, ext)
        use_a = only_e & pd.notna(mapped)
        keys[use_a] = _prefixed("a" + SEP, mapped[use_a])
        keys[has_a] = _prefixed("a" + SEP, aid[has_a])
        bad = (conflict_e | conflict_a) & given
        start = 0
        for n, (_, ext_rows, problems, _) in zip(sizes, self._rows, strict=True):
            if problems is not None:
                part = slice(start, start + n)
                problems.add(
                    conflict_e[part], "external_id", Reason.CONFLICTING_ASSET_KEY, ext_rows
                )
                problems.add(conflict_a[part], "asset_id", Reason.CONFLICTING_ASSET_KEY, aid[part])
            start += n
        return keys, bad

    def drop_rows(self) -> None:
        """Forget the per-row keys once the assets are numbered and the rows checked (the
        labels need only :attr:`uniques`)."""
        self._rows = []

    def columns(self, slot: int) -> tuple[np.ndarray, np.ndarray]:
        """(asset_ids, external_ids) of the rows of frame ``slot`` (task ids twice by task)."""
        aid, ext, _, _ = self._rows[slot]
        return aid, ext

    def field(self, code: int) -> tuple[str, str]:
        """(body field, value) of asset ``code``, e.g. ``("externalId", "0001.jpg")``."""
        kind, _, value = str(self.uniques[code]).partition(SEP)
        return KIND_FIELDS[kind], value

    def external_field(self, code: int) -> tuple[str, str]:
        """Like :meth:`field`, but ``externalId`` whenever the asset's external id is known."""
        field, value = self.field(code)
        if field == "assetId" and value in self.external:
            return "externalId", self.external[value]
        return field, value

    def fields(self) -> list[tuple[str, str]]:
        return [self.field(i) for i in range(len(self.uniques))]

    def __len__(self) -> int:
        return len(self.uniques)


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    if len(parts) == 1:  # no copy (the caller only reads it)
        return parts[0]
    return np.concatenate(parts) if parts else np.empty(0, dtype=object)


def group_bounds(codes: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """A stable sort of ``codes`` and the start offset of each group in it (length n_groups+1).

    The order is int32 while the rows allow; codes already in order (rows grouped by asset, the
    usual frame) are not sorted at all.
    """
    small = np.int32 if len(codes) < 2**31 else np.int64
    if len(codes) < 2 or bool((codes[1:] >= codes[:-1]).all()):
        order = np.arange(len(codes), dtype=small)
    else:
        order = np.argsort(codes, kind="stable").astype(small)
    counts = (
        np.bincount(codes[codes >= 0], minlength=n_groups)
        if len(codes)
        else np.zeros(n_groups, dtype=np.int64)
    )
    starts = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    offset = int((codes < 0).sum())
    return order[offset:], starts


_TRUE = frozenset(("true", "1", "yes"))
_FALSE = frozenset(("false", "0", "no"))


def _flag(value: Any) -> bool | None:
    """True / False for a boolean (or 1 / 0, or the text true/false/1/0/yes/no in any case);
    ``None`` for anything else."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def as_bool(
    frame: pd.DataFrame, column: str, problems: Problems | None = None
) -> np.ndarray | None:
    """A boolean column as an object array of True / False / None (``None`` if absent).

    Takes real booleans, 1 / 0 and the text true / false / 1 / 0 / yes / no in any case; any
    other value is recorded as ``wrong_type`` on ``problems`` (``"false"`` is never true).
    """
    if column not in frame.columns:
        return None
    series = frame[column]
    if pd.api.types.is_bool_dtype(series.dtype) and not series.isna().any():
        return series.to_numpy(dtype=object)
    values = object_values(series)
    out = np.full(len(values), None, dtype=object)
    wrong = np.zeros(len(values), dtype=bool)
    for i, v in enumerate(values.tolist()):
        if v is None or (isinstance(v, str) and not v.strip()):
            continue  # an empty cell is no value, as for every other column
        flag = _flag(v)
        if flag is None:
            wrong[i] = True
        out[i] = flag
    if problems is not None and wrong.any():
        problems.add(wrong, column, Reason.WRONG_TYPE, values)
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


_HEX = frozenset("0123456789abcdef")


def _made_up_task(text: str) -> bool:
    """``<externalId>#<16 hex digits>`` (and ``.<n>`` for a repeat): a task id the reader made."""
    _, sep, digest = text.rpartition("#")
    if not sep:
        return False
    digest = digest.split(".", 1)[0] if "." in digest else digest
    return len(digest) == 16 and _HEX.issuperset(digest)


def _is_made_up(value: str, task: Any, letter: str) -> bool:
    head, sep, tail = value.rpartition("/")
    if not sep or tail[:1] != letter or not tail[1:].isdigit():
        return False
    if head == task or _made_up_task(head):
        return True
    base, sep, snap = head.rpartition("/")  # a stage-history snapshot: <task_id>/h<k>/o<n>
    return (
        bool(sep)
        and snap[:1] == "h"
        and snap[1:].isdigit()
        and (base == task or _made_up_task(base))
    )


def made_up_ids(ids: np.ndarray, task_ids: np.ndarray, letter: str) -> np.ndarray:
    """Where ``ids`` are ids the export reader made up, not ids of the hub.

    The reader names an object it found without an ``objectId`` ``<task_id>/o<n>`` (``c`` for
    classifications, ``r`` for relations, ``<task_id>/h<k>/o<n>`` in stage history), with
    ``task_id`` itself made up as ``<externalId>#<16 hex digits>`` when the record had none.
    An id counts as made up when its prefix is the row's ``task_id`` or such a made-up task id.
    One string split per id: real ids (no ``/``) are ruled out at once.
    """
    out = np.zeros(len(ids), dtype=bool)
    pos = np.flatnonzero(pd.notna(ids))
    if not len(pos):
        return out
    tasks = task_ids[pos].tolist() if len(task_ids) == len(ids) else [None] * len(pos)
    out[pos] = np.fromiter(
        (
            isinstance(v, str) and "/" in v and _is_made_up(v, t, letter)
            for v, t in zip(ids[pos].tolist(), tasks, strict=True)
        ),
        dtype=bool,
        count=len(pos),
    )
    return out
