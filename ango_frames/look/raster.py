"""Scanline rasterisation in numpy: rings (polygons with holes) and boxes to pixel masks.

A pixel ``(row, col)`` is inside a shape when its centre ``(col + 0.5, row + 0.5)`` is, so a box
``x=10, width=20`` covers columns 10..29 (20 pixels) and shapes that share an edge never share a
pixel. Rings are lists of ``[x, y]`` vertices in pixels (closed implicitly). The fill rule is
even-odd by default (a ring inside another is a hole, whatever its orientation, as in Ango's
segmentation zones) or nonzero (winding direction decides).

Everything here is vectorised over edges and scanlines; no per-pixel Python loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["box_ring", "box_slices", "fill_box", "fill_rings", "rings_mask", "rotated_ring"]


def box_ring(x: float, y: float, w: float, h: float) -> np.ndarray:
    """The four corners of an axis-aligned box, clockwise from the top-left."""
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float64)


def rotated_ring(x: float, y: float, w: float, h: float, degrees: float) -> np.ndarray:
    """The corners of a box ``(x, y, w, h)`` turned by ``degrees`` about its centre.

    Positive angles turn clockwise on screen (y points down), as Ango's rotation does.
    """
    cx, cy = x + w / 2, y + h / 2
    t = math.radians(degrees or 0.0)
    c, s = math.cos(t), math.sin(t)
    local = box_ring(-w / 2, -h / 2, w, h)
    return np.column_stack(
        [cx + local[:, 0] * c - local[:, 1] * s, cy + local[:, 0] * s + local[:, 1] * c]
    )


def _spans(
    rings: Sequence[np.ndarray], shape: tuple[int, int], rule: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows and [start, stop) columns of the horizontal runs inside ``rings``."""
    h, w = shape
    edges = []
    for ring in rings:
        pts = np.asarray(ring, dtype=np.float64).reshape(-1, 2)
        if len(pts) >= 3:
            edges.append(np.hstack([pts, np.roll(pts, -1, axis=0)]))
    empty = np.zeros(0, np.int64)
    if not edges:
        return empty, empty, empty
    e = np.vstack(edges)
    e = e[np.isfinite(e).all(axis=1) & (e[:, 1] != e[:, 3])]  # horizontal edges cross no centre
    x0, y0, x1, y1 = e.T
    lo, hi = np.minimum(y0, y1), np.maximum(y0, y1)
    # rows r whose centre r + 0.5 lies in [lo, hi)
    r0 = np.clip(np.ceil(lo - 0.5), 0, h).astype(np.int64)
    r1 = np.clip(np.ceil(hi - 0.5), 0, h).astype(np.int64)
    counts = np.maximum(r1 - r0, 0)
    total = int(counts.sum())
    if total == 0:
        return empty, empty, empty
    edge = np.repeat(np.arange(len(e)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    rows = r0[edge] + (np.arange(total) - first)
    yc = rows + 0.5
    xs = x0[edge] + (yc - y0[edge]) * (x1[edge] - x0[edge]) / (y1[edge] - y0[edge])
    winding = np.where(y1[edge] > y0[edge], 1, -1)
    order = np.lexsort((xs, rows))
    rows, xs, winding = rows[order], xs[order], winding[order]
    # running count of crossings to the left, per row
    starts = np.r_[True, rows[1:] != rows[:-1]]
    group = np.cumsum(starts) - 1
    if rule == "evenodd":
        run = np.ones_like(winding)
    elif rule == "nonzero":
        run = winding
    else:
        raise ValueError(f"rule must be 'evenodd' or 'nonzero', got {rule!r}")
    csum = np.cumsum(run)
    base = (csum - run)[starts][group]
    level = csum - base  # crossings so far in this row, including this one
    inside = (level % 2 == 1) if rule == "evenodd" else (level != 0)
    same_row = np.r_[rows[1:] == rows[:-1], False]
    pick = inside & same_row
    idx = np.nonzero(pick)[0]
    c0 = np.clip(np.ceil(xs[idx] - 0.5), 0, w).astype(np.int64)
    c1 = np.clip(np.ceil(xs[idx + 1] - 0.5), 0, w).astype(np.int64)
    keep = c1 > c0
    return rows[idx][keep], c0[keep], c1[keep]


def rings_mask(
    rings: Sequence[np.ndarray], shape: tuple[int, int], rule: str = "evenodd"
) -> tuple[slice, slice, np.ndarray] | None:
    """The inside of ``rings`` within its bounding box: ``(rows, cols, bool array)``, or None."""
    rows, c0, c1 = _spans(rings, shape, rule)
    if rows.size == 0:
        return None
    top, bottom = int(rows.min()), int(rows.max()) + 1
    left, right = int(c0.min()), int(c1.max())
    # within one call runs never overlap: starts are distinct, and so are stops
    diff = np.zeros((bottom - top, right - left + 1), np.int8)
    diff[rows - top, c0 - left] += 1
    diff[rows - top, c1 - left] -= 1
    inside = np.cumsum(diff, axis=1, dtype=np.int8)[:, : right - left].view(np.bool_)
    return slice(top, bottom), slice(left, right), inside


def fill_rings(
    target: np.ndarray, rings: Sequence[np.ndarray], value: int, rule: str = "evenodd"
) -> int:
    """Set the pixels of ``target`` inside ``rings`` to ``value``; returns how many were set."""
    got = rings_mask(rings, target.shape[:2], rule)
    if got is None:
        return 0
    rs, cs, inside = got
    target[rs, cs][inside] = value
    return int(inside.sum())


def box_slices(
    x: float, y: float, w: float, h: float, shape: tuple[int, int]
) -> tuple[slice, slice] | None:
    """Rows and columns of an axis-aligned box clipped to ``shape``; None when empty."""
    rows, cols = shape
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        return None
    x0, x1 = sorted((x, x + w))
    y0, y1 = sorted((y, y + h))
    c0, c1 = (int(min(max(math.ceil(v - 0.5), 0), cols)) for v in (x0, x1))
    r0, r1 = (int(min(max(math.ceil(v - 0.5), 0), rows)) for v in (y0, y1))
    if r1 <= r0 or c1 <= c0:
        return None
    return slice(r0, r1), slice(c0, c1)


def fill_box(target: np.ndarray, x: float, y: float, w: float, h: float, value: int) -> int:
    """Set the pixels of an axis-aligned box (clipped to ``target``); returns how many were set."""
    got = box_slices(x, y, w, h, target.shape[:2])
    if got is None:
        return 0
    target[got] = value
    return (got[0].stop - got[0].start) * (got[1].stop - got[1].start)
