"""The geometry of one ``objects`` row as numpy rings, lines and points, in pixels.

Areas (boxes, rotated boxes, polygons, segmentation zones) become a list of zones, each a list of
rings: the region first, then its holes (filled even-odd, so holes stay empty). Polylines become
one open line, points one ``[x, y]``. Other tools (NER spans, PDF areas, ...) have no picture
geometry here and give ``None``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ango_frames.look.raster import box_ring, rotated_ring

__all__ = ["AREA_TOOLS", "Shape", "shape_of"]

AREA_TOOLS = ("bounding-box", "rotated-bounding-box", "polygon", "segmentation")


class Shape(NamedTuple):
    """``kind`` is "area", "line" or "point"; ``zones`` lists rings per zone (region, holes)."""

    kind: str
    zones: list[list[np.ndarray]]


def _missing(value: Any) -> bool:
    return value is None or (np.ndim(value) == 0 and pd.isna(value))


def _ring(value: Any) -> np.ndarray | None:
    """An ``(n, 2)`` float array from a list (or numpy object array) of ``[x, y]``."""
    if _missing(value):
        return None
    items = value.tolist() if hasattr(value, "tolist") else list(value)
    if not items:
        return None
    arr = np.array([np.asarray(p, dtype=np.float64)[:2] for p in items], dtype=np.float64)
    return arr if arr.ndim == 2 and arr.shape[1] == 2 else None


def _number(row: Any, name: str) -> float:
    value = row.get(name)
    return float("nan") if _missing(value) else float(value)


def shape_of(row: Any) -> Shape | None:
    """The shape of an ``objects`` row (a dict or Series); None when it has no picture geometry."""
    tool = row.get("tool")
    if tool == "bounding-box":
        x, y, w, h = (_number(row, c) for c in ("x", "y", "width", "height"))
        if not np.isfinite([x, y, w, h]).all():
            return None
        return Shape("area", [[box_ring(x, y, w, h)]])
    if tool == "rotated-bounding-box":
        corners = _ring(row.get("corners"))
        if corners is None or len(corners) < 3:
            x, y, w, h = (_number(row, c) for c in ("x", "y", "width", "height"))
            if not np.isfinite([x, y, w, h]).all():
                return None
            rot = _number(row, "rotation")
            corners = rotated_ring(x, y, w, h, 0.0 if np.isnan(rot) else rot)
        return Shape("area", [[corners]])
    if tool == "polygon":
        ring = _ring(row.get("points"))
        return None if ring is None or len(ring) < 3 else Shape("area", [[ring]])
    if tool == "segmentation":
        zones = row.get("zones")
        if _missing(zones):
            return None
        out = []
        for zone in zones:
            region = _ring(zone.get("region"))
            if region is None or len(region) < 3:
                continue
            holes = [
                _ring(h) for h in (zone.get("holes") if not _missing(zone.get("holes")) else [])
            ]
            out.append([region, *[h for h in holes if h is not None and len(h) >= 3]])
        return Shape("area", out) if out else None
    if tool == "polyline":
        line = _ring(row.get("points"))
        return None if line is None or len(line) < 2 else Shape("line", [[line]])
    if tool == "point":
        pt = _ring(row.get("points"))
        if pt is None:
            x, y = _number(row, "x"), _number(row, "y")
            if not np.isfinite([x, y]).all():
                return None
            pt = np.array([[x, y]])
        return Shape("point", [[pt[:1]]])
    return None
