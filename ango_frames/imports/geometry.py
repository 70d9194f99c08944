"""Geometry columns in the user's convention -> each tool's import shape (docs/format.md §2, §6.2).

Boxes arrive as ``xywh`` (top-left x, y, width, height), ``xyxy`` (x1, y1, x2, y2) or ``cxcywh``
(centre, width, height), in pixels or as fractions of the asset size; they always leave as
top-left ``{x, y, width, height}`` in pixels, the one shape every hub version reads the same way.
Numeric columns are converted and checked as whole arrays; only list-valued geometry (points,
zones) is looked at row by row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson
import pandas as pd

from ango_frames.errors import ConfigError
from ango_frames.imports.asset_keys import object_values
from ango_frames.imports.problems import Problems, float_column

__all__ = [
    "BOX_FORMATS",
    "asset_sizes",
    "build_geometry",
    "infer_tools",
]

#: Box column conventions: name -> the four columns it reads.
BOX_FORMATS: dict[str, tuple[str, str, str, str]] = {
    "xywh": ("x", "y", "width", "height"),
    "xyxy": ("x1", "y1", "x2", "y2"),
    "cxcywh": ("cx", "cy", "width", "height"),
}


_MIN_POINTS = {"polygon": 3, "polyline": 2}
_PDF = ("pdf_x1", "pdf_y1", "pdf_x2", "pdf_y2", "pdf_page_width", "pdf_page_height")


def _notna(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[column].notna().to_numpy(dtype=bool)


def infer_tools(frame: pd.DataFrame, box_format: str = "xywh") -> np.ndarray:
    """Guess each row's tool from which geometry columns it fills (``None`` when it fills none).

    Used only when neither a ``tool`` column nor the ontology names the tool. Points without a
    tool are taken as a polygon (give ``tool`` or an ontology for polylines).
    """
    n = len(frame)
    out = np.full(n, None, dtype=object)
    cols = BOX_FORMATS[box_format]
    # any box-only column filled makes a box (so a missing height is reported, not a point)
    hints = cols[2:] if box_format == "xywh" else cols
    has_box = np.logical_or.reduce([_notna(frame, c) for c in hints]) if n else np.zeros(0, bool)
    has_xy = _notna(frame, "x") & _notna(frame, "y")
    # later assignments win: the most specific signal decides
    out[has_xy] = "point"
    out[_notna(frame, "points")] = "polygon"
    out[has_box] = "bounding-box"
    out[has_box & _notna(frame, "rotation")] = "rotated-bounding-box"
    out[_notna(frame, "start") & _notna(frame, "end")] = "ner"
    out[_notna(frame, "pdf_x1")] = "pdf"
    out[_notna(frame, "zones")] = "segmentation"
    return out


def asset_sizes(
    frame: pd.DataFrame, sizes: Any, asset_ids: np.ndarray, external_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Asset width and height per row (NaN when unknown).

    From the ``asset_width`` / ``asset_height`` columns, else from ``sizes``: a frame keyed by
    ``asset_id`` and/or ``external_id`` with ``width``/``height``, ``asset_width``/
    ``asset_height`` or ``metadata_width``/``metadata_height`` columns (an export's tasks table
    works as is), or a mapping of asset key -> (width, height).
    """
    n = len(frame)
    width = np.full(n, np.nan)
    height = np.full(n, np.nan)
    if sizes is not None:
        for key_values in (external_ids, asset_ids):  # asset_id wins: applied last
            w, h = _lookup_sizes(sizes, key_values)
            known = ~np.isnan(w)
            width[known], height[known] = w[known], h[known]
    if "asset_width" in frame.columns and "asset_height" in frame.columns:
        w = pd.to_numeric(frame["asset_width"], errors="coerce").to_numpy(
            "float64", na_value=np.nan
        )
        h = pd.to_numeric(frame["asset_height"], errors="coerce").to_numpy(
            "float64", na_value=np.nan
        )
        known = ~np.isnan(w)
        width[known], height[known] = w[known], h[known]
    return width, height


def _lookup_sizes(sizes: Any, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keyed = pd.Series(keys, dtype=object)
    if isinstance(sizes, Mapping):
        w = keyed.map(lambda k: sizes[k][0] if k in sizes else np.nan)
        h = keyed.map(lambda k: sizes[k][1] if k in sizes else np.nan)
        return w.to_numpy("float64", na_value=np.nan), h.to_numpy("float64", na_value=np.nan)
    if not isinstance(sizes, pd.DataFrame):
        raise ConfigError("sizes= must be a DataFrame or a mapping of asset key -> (width, height)")
    for wc, hc in (("width", "height"), ("asset_width", "asset_height")):
        if wc in sizes.columns and hc in sizes.columns:
            break
    else:
        wc, hc = "metadata_width", "metadata_height"
        if wc not in sizes.columns or hc not in sizes.columns:
            raise ConfigError(
                "sizes= needs width/height, asset_width/asset_height or "
                "metadata_width/metadata_height columns"
            )
    w_out = np.full(len(keys), np.nan)
    h_out = np.full(len(keys), np.nan)
    for key_col in ("external_id", "asset_id"):
        if key_col not in sizes.columns:
            continue
        table = sizes[[key_col, wc, hc]].dropna(subset=[key_col]).drop_duplicates(key_col)
        table = table.set_index(key_col)
        w = keyed.map(pd.to_numeric(table[wc], errors="coerce"))
        h = keyed.map(pd.to_numeric(table[hc], errors="coerce"))
        w_arr = w.to_numpy("float64", na_value=np.nan)
        known = ~np.isnan(w_arr)
        w_out[known] = w_arr[known]
        h_out[known] = h.to_numpy("float64", na_value=np.nan)[known]
    return w_out, h_out


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
        if isinstance(pair[0], bool) or isinstance(pair[1], bool):
            return None, "wrong_type"
        if not (np.isfinite(x) and np.isfinite(y)):
            return None, "not_finite"
        ring.append([x, y])
    return ring, None


def _scale(ring: list[list[float]], w: float, h: float) -> list[list[float]]:
    return [[x * w, y * h] for x, y in ring]


def _outside(ring: list[list[float]], w: float, h: float) -> bool:
    if np.isnan(w) or np.isnan(h):
        return False
    tol_x, tol_y = 1e-6 * max(w, 1.0), 1e-6 * max(h, 1.0)
    return any(x < -tol_x or y < -tol_y or x > w + tol_x or y > h + tol_y for x, y in ring)


def build_geometry(
    frame: pd.DataFrame,
    tools: np.ndarray,
    active: np.ndarray,
    problems: Problems,
    *,
    box_format: str = "xywh",
    normalized: bool = False,
    width: np.ndarray,
    height: np.ndarray,
) -> list[Any]:
    """The import geometry of every active row (``None`` elsewhere), keyed by the row's tool.

    ``tools`` holds each row's tool; ``active`` marks the rows to build (rows already rejected
    are skipped); ``width`` / ``height`` are the asset sizes (NaN when unknown). Problems are
    recorded on ``problems`` and their rows get ``None``.
    """
    if box_format not in BOX_FORMATS:
        raise ConfigError(f"box_format must be one of {', '.join(BOX_FORMATS)}, not {box_format!r}")
    n = len(frame)
    out: list[Any] = [None] * n
    if normalized:
        no_size = active & (np.isnan(width) | np.isnan(height))
        problems.add(no_size, "asset_width", "missing_column")
        active = active & ~no_size
    tool_series = pd.Series(tools, dtype=object)
    for tool in pd.unique(tool_series[active]):
        rows = active & (tool_series == tool).to_numpy(dtype=bool)
        if tool in ("bounding-box", "rotated-bounding-box"):
            _boxes(frame, tool, rows, problems, out, box_format, normalized, width, height)
        elif tool in ("polygon", "polyline", "point", "segmentation"):
            _listy(frame, tool, rows, problems, out, normalized, width, height)
        elif tool == "ner":
            _ner(frame, rows, problems, out)
        elif tool == "pdf":
            _pdf(frame, rows, problems, out)
        else:
            _passthrough(frame, str(tool), rows, problems, out)
    return out


def _place(out: list[Any], rows: np.ndarray, values: list[Any]) -> None:
    if len(values) == len(out):
        out[:] = values
    else:
        for pos, value in zip(np.flatnonzero(rows).tolist(), values, strict=True):
            out[pos] = value


def _boxes(
    frame: pd.DataFrame,
    tool: str,
    rows: np.ndarray,
    problems: Problems,
    out: list[Any],
    box_format: str,
    normalized: bool,
    width: np.ndarray,
    height: np.ndarray,
) -> None:
    a, b, c, d = (float_column(frame, col, rows, problems) for col in BOX_FORMATS[box_format])
    if box_format == "xyxy":
        x, y, w, h = a, b, c - a, d - b
    elif box_format == "cxcywh":
        x, y, w, h = a - c / 2, b - d / 2, c, d
    else:
        x, y, w, h = a, b, c, d
    if normalized:
        x, w = x * width, w * width
        y, h = y * height, h * height
    rot = (
        float_column(frame, "rotation", rows, problems) if tool == "rotated-bounding-box" else None
    )
    ok = rows & ~problems.bad
    size_col = "x2" if box_format == "xyxy" else "width"
    problems.add(ok & ~(w > 0), size_col, "non_positive_size", w)
    problems.add(ok & ~(h > 0), "y2" if box_format == "xyxy" else "height", "non_positive_size", h)
    ok = rows & ~problems.bad
    known = ~np.isnan(width) & ~np.isnan(height)
    tol_w, tol_h = 1e-6 * np.fmax(width, 1.0), 1e-6 * np.fmax(height, 1.0)
    with np.errstate(invalid="ignore"):
        outside = known & (
            (x < -tol_w) | (y < -tol_h) | (x + w > width + tol_w) | (y + h > height + tol_h)
        )
    problems.add(ok & outside, BOX_FORMATS[box_format][0], "out_of_bounds", x)
    ok = rows & ~problems.bad
    cols = [x[ok].tolist(), y[ok].tolist(), w[ok].tolist(), h[ok].tolist()]
    if rot is None:
        values = [
            {"x": p, "y": q, "width": r, "height": s} for p, q, r, s in zip(*cols, strict=True)
        ]
    else:
        values = [
            {"x": p, "y": q, "width": r, "height": s, "rotation": t}
            for p, q, r, s, t in zip(*cols, rot[ok].tolist(), strict=True)
        ]
    _place(out, ok, values)


def _listy(
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
        has_xy = rows & _notna(frame, "x") & _notna(frame, "y")
        x = float_column(frame, "x", has_xy, problems)
        y = float_column(frame, "y", has_xy, problems)
        ok = has_xy & ~problems.bad
        if normalized:
            x, y = x * width, y * height
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
            if _outside(ring, w, h):
                why = "out_of_bounds"
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
        if _outside(region, w, h) or any(_outside(r, w, h) for r in holes):
            return [], "out_of_bounds"
        zones.append({"region": region, "holes": holes})
    return zones, None


def _ner(frame: pd.DataFrame, rows: np.ndarray, problems: Problems, out: list[Any]) -> None:
    start = float_column(frame, "start", rows, problems)
    end = float_column(frame, "end", rows, problems)
    ok = rows & ~problems.bad
    problems.add(ok & (start < 0), "start", "out_of_bounds", start)
    problems.add(ok & ~(end > start), "end", "non_positive_size", end)
    ok = rows & ~problems.bad
    values = [
        {"start": _num(s), "end": _num(e)}
        for s, e in zip(start[ok].tolist(), end[ok].tolist(), strict=True)
    ]
    _place(out, ok, values)


def _pdf(frame: pd.DataFrame, rows: np.ndarray, problems: Problems, out: list[Any]) -> None:
    page = float_column(frame, "pdf_page", rows, problems)
    x1, y1, x2, y2, pw, ph = (float_column(frame, c, rows, problems) for c in _PDF)
    ok = rows & ~problems.bad
    problems.add(ok & ~(x2 > x1), "pdf_x2", "non_positive_size", x2)
    problems.add(ok & ~(y2 > y1), "pdf_y2", "non_positive_size", y2)
    problems.add(ok & ~(pw > 0), "pdf_page_width", "non_positive_size", pw)
    problems.add(ok & ~(ph > 0), "pdf_page_height", "non_positive_size", ph)
    problems.add(ok & ((page < 1) | (page != np.round(page))), "pdf_page", "wrong_type", page)
    ok = rows & ~problems.bad
    text = (
        object_values(frame["pdf_text"])
        if "pdf_text" in frame.columns
        else np.full(len(frame), None, dtype=object)
    )
    for pos in np.flatnonzero(ok).tolist():
        value: dict[str, Any] = {
            "x1": float(x1[pos]),
            "y1": float(y1[pos]),
            "x2": float(x2[pos]),
            "y2": float(y2[pos]),
            "width": float(pw[pos]),
            "height": float(ph[pos]),
            "pageNumber": int(page[pos]),
        }
        if text[pos] is not None:
            value["text"] = str(text[pos])
        out[pos] = value


def _passthrough(
    frame: pd.DataFrame, tool: str, rows: np.ndarray, problems: Problems, out: list[Any]
) -> None:
    """Tools the builder cannot write (spline, angle, ...): resend the geometry kept in extra."""
    extra = object_values(frame["extra"]) if "extra" in frame.columns else None
    for pos in np.flatnonzero(rows).tolist():
        try:
            kept = orjson.loads(extra[pos]) if extra is not None and extra[pos] else {}
        except orjson.JSONDecodeError:
            kept = {}
        if isinstance(kept, dict) and tool in kept:
            out[pos] = kept[tool]
        else:
            problems.one(pos, "tool", "tool_mismatch", tool)


def _num(value: float) -> float | int:
    """Whole numbers as int (character offsets), others as float."""
    return int(value) if float(value).is_integer() else value


def _json_safe(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
