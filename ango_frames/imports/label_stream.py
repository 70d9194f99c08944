"""The labels of a validated import, made on demand: a range of labels at a time.

:func:`ango_frames.imports.labels.build_batch` checks every row and resolves every column
(classes, tools, geometry, ids, nested answers, relations) as whole arrays; what it hands on is
a :class:`LabelStream`, which writes the label dicts (and their object dicts) only for the labels
asked for, a block at a time. The importers cut chunks from it and serialise each chunk when it
is sent, so a million-row import never holds every label dict, or every chunk's bytes, at once.
A stream gives the same labels, in the same order, however it is sliced.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ango_frames.imports.asset_keys import AssetKeys
from ango_frames.imports.objects import ObjectRows

__all__ = ["LabelStream", "no_gc"]

#: Labels written per block: enough to amortise the vectorised column reads, small enough that
#: a block's object dicts stay a few megabytes.
BLOCK = 1024


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic GC while many small dicts are made.

    The dicts hold no cycles; without this the collector rescans the growing heap every few
    thousand allocations and building takes about twice as long.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class LabelStream:
    """The labels of a built import, in sending order, written on demand.

    Parameters
    ----------
    rows : ObjectRows
        The resolved object rows.
    keys : AssetKeys
        The asset keys (the label's ``externalId`` / ``assetId`` / ``taskId``).
    codes : numpy.ndarray
        The asset code of each label, increasing.
    sorted_pos : numpy.ndarray
        The positions of the sent object rows, grouped by asset in code order.
    starts : numpy.ndarray
        ``sorted_pos[starts[c]:starts[c + 1]]`` are the object rows of asset ``c``.
    parts : tuple of dict
        Per asset code: global classifications, relations and brush fields.
    body : str
        ``labels``, ``import-file`` or ``annotate`` (see :data:`~ango_frames.imports.labels.BODIES`).
    extra : dict
        ``status`` / ``assignee`` put on every spec label.
    """

    def __init__(
        self,
        rows: ObjectRows,
        keys: AssetKeys,
        codes: np.ndarray,
        sorted_pos: np.ndarray,
        starts: np.ndarray,
        parts: tuple[dict[int, Any], dict[int, Any], dict[int, Any]],
        body: str,
        extra: dict[str, Any],
    ) -> None:
        self.rows = rows
        self.keys = keys
        self.codes = codes
        self.sorted_pos = sorted_pos
        self.starts = starts
        self.global_cls, self.rels, self.brushes = parts
        self.body = body
        self.extra = extra

    def __len__(self) -> int:
        return len(self.codes)

    def sizes(self) -> list[int]:
        """Per label, how many objects it holds."""
        return (self.starts[self.codes + 1] - self.starts[self.codes]).tolist()

    def labels(self, start: int = 0, stop: int | None = None) -> Iterator[dict[str, Any]]:
        """Labels ``start`` to ``stop`` (all by default), made a block at a time."""
        stop = len(self) if stop is None else min(stop, len(self))
        for lo in range(start, stop, BLOCK):
            yield from self._block(self.codes[lo : min(lo + BLOCK, stop)].tolist())

    def _block(self, codes: list[int]) -> list[dict[str, Any]]:
        """The labels of asset ``codes`` (made with the GC paused: they hold no cycles)."""
        if not codes:
            return []
        with no_gc():
            return self._make(codes)

    def _make(self, codes: list[int]) -> list[dict[str, Any]]:
        first = int(self.starts[codes[0]])
        objs = self.rows.dicts(self.sorted_pos[first : int(self.starts[codes[-1] + 1])])
        starts, keys, extra = self.starts, self.keys, self.extra
        flat = self.body == "import-file"
        out = []
        for code in codes:
            lo, hi = int(starts[code]) - first, int(starts[code + 1]) - first
            answer = {
                "objects": objs[lo:hi],
                "classifications": self.global_cls.get(code, []),
                "relations": [b for _, b in self.rels.get(code, [])],
            }
            brush = self.brushes.get(code) or {}
            if flat:
                field, value = keys.external_field(code)
                out.append({field: value, **answer, **brush})
            else:
                field, value = keys.field(code)
                out.append({field: value, "answer": answer, **brush, **extra})
        return out
