"""List-valued geometry (polygons, polylines, points, segmentation zones) and 3D shapes.

Points, zones and 3D lines are checked row by row (they are lists in cells); 3D boxes are whole
numeric columns (``x1 .. z2``, or the export's ``x, y, z, width, height, depth``). Called by
:func:`ango_frames.imports.geometry.build_geometry`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ango_frames.imports.asset_keys import object_values
from ango_frames.imports.problems import Problems, Reason, finite_check, float_column

__all__ = ["CORNERS_3D", "listy", "notna_mask", "shapes_3d"]

_MIN_POINTS = {"polygon": 3, "polyline": 2}
#: The columns of a 3D box or line: two corners / end points.
CORNERS_3D = ("x1", "y1", "z1", "x2", "y2", "z2")


def notna_mask(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[column].notna().to_numpy(dtype=bool)


def _ring(value: Any) -> tuple[list[list[float]] | None, str | None]:
    """A ``[[x, y], ...]`` ring from nested pairs or a flat ``[x0, y0, x1, y1, ...]`` list."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        return None, "wrong_type"
    if value and all(isinstance(v, (int, float, np.number)) for v in value):
        if len(value) % 2:
            return None, "wrong_arity"
        value = [value[i : i + 2] for i in range(0, len(value), 2)]
    ring = []
    for pair in value:
        if isinstance(pair, np.ndarray):
            pair = pair.tolist()
        if not isinstance(pair, (list, tuple)):
            return None, "wrong_type"
        if len(pair) != 2:
            return None, "wrong_arity"
        try:
            x, y = float(pair[0]), float(pair[1])
        except (TypeError, ValueError):
            return None, "wrong_type"
        if isinstance(pair[0], (bool, np.bool_)) or isinstance(pair[1], (bool, np.bool_)):
            return None, "wrong_type"
        if not (np.isfinite(x) and np.isfinite(y)):
            return None, "not_finite"
        ring.append([x, y])
    return ring, None


def _scale(ring: list[list[float]], w: float, h: float) -> list[list[float]]:
    w, h = float(w), float(h)  # Python floats overflow to inf without a warning
    return [[x * w, y * h] for x, y in ring]


def _finite(ring: list[list[float]]) -> bool:
    """No coordinate overflowed to inf (as scaling a huge fraction can)."""
    return all(np.isfinite(x) and np.isfinite(y) for x, y in ring)


def _outside(ring: list[list[float]], w: float, h: float) -> bool:
    if np.isnan(w) or np.isnan(h):
        return False
    tol_x, tol_y = 1e-6 * max(w, 1.0), 1e-6 * max(h, 1.0)
    return any(x < -tol_x or y < -tol_y or x > w + tol_x or y > h + tol_y for x, y in ring)


def listy(
    frame: pd.DataFrame,
    tool: str,
    rows: np.ndarray,
    problems: Problems,
    out: list[Any],
    normalized: bool,
    width: np.ndarray,
    height: np.ndarray,
) -> None:
    """Polygons, polylines, points and segmentation zones: list-valued, checked row by row."""
    if tool == "point" and "x" in frame.columns and "y" in frame.columns:
        has_xy = rows & notna_mask(frame, "x") & notna_mask(frame, "y")
        x = float_column(frame, "x", has_xy, problems)
        y = float_column(frame, "y", has_xy, problems)
        if normalized:
            with np.errstate(over="ignore", invalid="ignore"):
                x, y = x * width, y * height
        ok = finite_check(has_xy, "x", problems, x, y)
        for pos, px, py in zip(
            np.flatnonzero(ok).tolist(), x[ok].tolist(), y[ok].tolist(), strict=True
        ):
            if _outside([[px, py]], width[pos], height[pos]):
                problems.one(pos, "x", "out_of_bounds", [px, py])
            else:
                out[pos] = [px, py]
        rows = rows & ~has_xy
    column = "zones" if tool == "segmentation" else "points"
    if not rows.any():
        return
    if column not in frame.columns:
        problems.add(rows, column, "missing_column")
        return
    raw = object_values(frame[column])
    for pos in np.flatnonzero(rows).tolist():
        value = raw[pos]
        w, h = (width[pos], height[pos])
        if value is None:
            problems.one(pos, column, "tool_mismatch", tool)
            continue
        if tool == "segmentation":
            zones, why = _zones(value, normalized, w, h)
            if why:
                problems.one(pos, column, why, _json_safe(value))
            else:
                out[pos] = {"zones": zones}
            continue
        ring, why = _ring(value)
        need = 1 if tool == "point" else _MIN_POINTS[tool]
        if ring is not None and ((tool == "point" and len(ring) != 1) or len(ring) < need):
            why = "wrong_arity"
        if why is None and ring is not None:
            if normalized:
                ring = _scale(ring, w, h)
            if not _finite(ring):
                why = Reason.NOT_FINITE.value
            elif _outside(ring, w, h):
                why = Reason.OUT_OF_BOUNDS.value
        if why is not None or ring is None:
            problems.one(pos, column, why or "wrong_type", _json_safe(value))
        else:
            out[pos] = ring[0] if tool == "point" else ring


def _zones(value: Any, normalized: bool, w: float, h: float) -> tuple[list[Any], str | None]:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or not value:
        return [], "wrong_type"
    zones = []
    for zone in value:
        if not isinstance(zone, Mapping) or "region" not in zone:
            return [], "wrong_type"
        region, why = _ring(zone["region"])
        if why or region is None:
            return [], why or "wrong_type"
        if len(region) < 3:
            return [], "wrong_arity"
        holes = []
        raw_holes = zone.get("holes")
        if isinstance(raw_holes, np.ndarray):
            raw_holes = raw_holes.tolist()
        for hole in raw_holes or ():
            ring, why = _ring(hole)
            if why or ring is None:
                return [], why or "wrong_type"
            holes.append(ring)
        if normalized:
            region = _scale(region, w, h)
            holes = [_scale(r, w, h) for r in holes]
            if not _finite(region) or not all(_finite(r) for r in holes):
                return [], Reason.NOT_FINITE.value
        if _outside(region, w, h) or any(_outside(r, w, h) for r in holes):
            return [], "out_of_bounds"
        zones.append({"region": region, "holes": holes})
    return zones, None


def _box_3d_corners(
    frame: pd.DataFrame, rows: np.ndarray, problems: Problems
) -> tuple[list[np.ndarray], list[str]]:
    """The two corners ``x1 .. z2`` of each 3D box, and the columns they were read from.

    Either given as ``x1 .. z2``, or as the export's tables hold them: the min corner ``x, y,
    z``, the size ``width, height, depth`` and the raw first corner ``origin_x / _y / _z`` (so
    the corners come back in the order they were exported).
    """
    if "x1" in frame.columns or "z1" in frame.columns:
        return [float_column(frame, c, rows, problems) for c in CORNERS_3D], list(CORNERS_3D)
    cols = ("x", "y", "z", "width", "height", "depth")
    lo_x, lo_y, lo_z, w, h, d = (float_column(frame, c, rows, problems) for c in cols)
    firsts, seconds = [], []
    for lo, size, origin in ((lo_x, w, "origin_x"), (lo_y, h, "origin_y"), (lo_z, d, "origin_z")):
        with np.errstate(over="ignore", invalid="ignore"):
            hi = lo + size
            if origin in frame.columns:
                raw = pd.to_numeric(frame[origin], errors="coerce").to_numpy(
                    "float64", na_value=np.nan
                )
                flipped = np.isfinite(raw) & (raw == hi) & (size != 0)
            else:
                flipped = np.zeros(len(frame), dtype=bool)
        firsts.append(np.where(flipped, hi, lo))
        seconds.append(np.where(flipped, lo, hi))
    return [*firsts, *seconds], ["x", "y", "z", "width", "height", "depth"]


def shapes_3d(
    frame: pd.DataFrame, tool: str, rows: np.ndarray, problems: Problems, out: list[Any]
) -> None:
    """Medical 3D boxes (``bounding-box-3d``) and 3D lines (``line-3d``).

    A box is sent as the hub's medical box ``{"bounding-box": {x1, y1, z1, x2, y2, z2}}`` and
    needs a size in each of x, y and z; a line as a ``polyline`` of ``[x, y, z]`` vertices
    (``points``, at least two), as the export holds it.
    """
    if tool == "line-3d":
        _line_3d(frame, rows, problems, out)
        return
    values, names = _box_3d_corners(frame, rows, problems)
    ok = finite_check(rows, names[0], problems, *values)
    x1, y1, z1, x2, y2, z2 = values
    for lo, hi, col in ((x1, x2, names[3]), (y1, y2, names[4]), (z1, z2, names[5])):
        with np.errstate(invalid="ignore"):
            problems.add(ok & ~(hi != lo), col, Reason.NON_POSITIVE_SIZE, hi - lo)
        ok = rows & ~problems.bad
    cols = [v[ok].tolist() for v in values]
    shapes = [dict(zip(CORNERS_3D, corner, strict=True)) for corner in zip(*cols, strict=True)]
    for pos, shape in zip(np.flatnonzero(ok).tolist(), shapes, strict=True):
        out[pos] = shape


def _line_3d(frame: pd.DataFrame, rows: np.ndarray, problems: Problems, out: list[Any]) -> None:
    if "points" not in frame.columns:
        problems.add(rows, "points", Reason.MISSING_COLUMN)
        return
    raw = object_values(frame["points"])
    for pos in np.flatnonzero(rows).tolist():
        line, why = _vertices_3d(raw[pos])
        if why is not None:
            problems.one(pos, "points", why, _json_safe(raw[pos]))
        else:
            out[pos] = line


def _vertices_3d(value: Any) -> tuple[list[list[float]] | None, str | None]:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        return None, Reason.WRONG_TYPE.value
    line = []
    for vertex in value:
        if isinstance(vertex, np.ndarray):
            vertex = vertex.tolist()
        if not isinstance(vertex, (list, tuple)):
            return None, Reason.WRONG_TYPE.value
        if len(vertex) != 3:
            return None, Reason.WRONG_ARITY.value
        if any(
            isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number))
            for v in vertex
        ):
            return None, Reason.WRONG_TYPE.value
        point = [float(v) for v in vertex]
        if not all(np.isfinite(point)):
            return None, Reason.NOT_FINITE.value
        line.append(point)
    if len(line) < 2:
        return None, Reason.WRONG_ARITY.value
    return line, None


def _json_safe(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
