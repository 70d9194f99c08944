"""Object columns of few distinct values held as small integer codes (classes, tools, tracks).

A million rows of three class ids are a million int8s, not a million pointers. Coding a column
reads it a block at a time, so that no hash table or int64 code array is sized for every row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ango_frames.imports.asset_keys import factorize, with_none

__all__ = ["Coded", "compact"]

#: Rows coded per block.
BLOCK = 1 << 16


class Coded:
    """An object column as codes into its distinct values; indexes like the array (``None``
    where the column has no value)."""

    def __init__(self, values: np.ndarray, limit: int | None = None) -> None:
        present = pd.notna(values)
        few = _distinct(values, present, limit) if limit is not None else None
        if few is None:
            # only the present values are hashed: a column of a million Nones costs a bool mask
            codes, uniques = factorize(values[present]) if present.any() else (None, [])
        else:
            codes, uniques = None, few
        self.uniques = with_none(uniques)
        small = np.int8 if len(self.uniques) < 127 else np.int32
        self.codes = np.full(len(values), -1, dtype=small)  # -1 picks the None at the end
        if codes is not None:
            self.codes[present] = codes
        elif few:
            index = pd.Index(few, dtype=object)
            for lo in range(0, len(values), BLOCK):
                part = slice(lo, lo + BLOCK)
                self.codes[part] = np.where(present[part], index.get_indexer(values[part]), -1)

    @classmethod
    def blank(cls, n: int) -> Coded:
        """A column of ``n`` Nones that holds no per-row memory (an absent id column)."""
        out = cls.__new__(cls)
        out.uniques = with_none([])
        out.codes = np.broadcast_to(np.int8(-1), (n,))
        return out

    def __getitem__(self, pos: Any) -> np.ndarray:
        return self.uniques[self.codes[pos]]

    def __len__(self) -> int:
        return len(self.codes)


def _distinct(values: np.ndarray, present: np.ndarray, limit: int) -> list[Any] | None:
    """The distinct present values in order of first appearance, read a block at a time; None
    as soon as there are more than ``limit``."""
    seen: dict[Any, None] = {}
    for lo in range(0, len(values), BLOCK):
        seen.update(dict.fromkeys(values[lo : lo + BLOCK][present[lo : lo + BLOCK]].tolist()))
        if len(seen) > limit:
            return None
    return list(seen)


def compact(values: Any) -> Any:
    """``values`` as a :class:`Coded` when that is smaller (few distinct values)."""
    if isinstance(values, np.ndarray) and len(values) > 1024:
        coded = Coded(values, limit=126)
        if len(coded.uniques) < len(values) // 4:
            return coded
    return values
