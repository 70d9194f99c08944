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
from ango_frames.imports.asset_keys import distinct, object_column, object_values
from ango_frames.imports.options import BOX_FORMATS
from ango_frames.imports.problems import Problems, finite_check, float_column
from ango_frames.imports.shapes import listy, notna_mask, shapes_3d

__all__ = [
    "BOX_FORMATS",
    "SEND_KEYS",
    "Geometry",
    "asset_sizes",
    "build_geometry",
    "infer_tools",
]


#: The geometry key a tool's shape is sent under, where it differs from the tool's name.
SEND_KEYS = {"bounding-box-3d": "bounding-box", "line-3d": "polyline"}

_PDF = ("pdf_x1", "pdf_y1", "pdf_x2", "pdf_y2", "pdf_page_width", "pdf_page_height")


class Geometry:
    """The import geometry of every row: boxes kept as float columns and written as dicts only
    for the rows asked for (:meth:`values`), other shapes as one value per row.

    A million boxes are four float64 columns (32 MB) until a chunk of them is sent, rather than a
    million dicts (about 280 MB).
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._rows: list[Any] | None = None
        self.boxes: list[tuple[np.ndarray, list[np.ndarray]]] = []

    @property
    def rows(self) -> list[Any]:
        """The row-wise shapes (``None`` for boxes and rows without geometry)."""
        if self._rows is None:
            self._rows = [None] * self.n
        return self._rows

    def add_boxes(self, ok: np.ndarray, columns: list[np.ndarray]) -> None:
        """Rows ``ok`` are boxes ``x, y, width, height`` (``, rotation``) in ``columns``."""
        if ok.any():
            self.boxes.append((ok, columns))

    def values(self, pos: np.ndarray) -> list[Any]:
        """The geometry of rows ``pos``, in that order."""
        rows = self._rows
        out: list[Any] = [rows[i] for i in pos.tolist()] if rows is not None else [None] * len(pos)
        for ok, columns in self.boxes:
            sel = ok[pos]
            picked = pos[sel]
            if not len(picked):
                continue
            cols = [c[picked].tolist() for c in columns]
            if len(cols) == 4:
                made = [
                    {"x": p, "y": q, "width": r, "height": s}
                    for p, q, r, s in zip(*cols, strict=True)
                ]
            else:
                made = [
                    {"x": p, "y": q, "width": r, "height": s, "rotation": t}
                    for p, q, r, s, t in zip(*cols, strict=True)
                ]
            out = _put_rows(out, sel, made)
        return out

    def texts(self, pos: np.ndarray) -> list[bytes]:
        """The geometry of rows ``pos`` as JSON text, each ``orjson.dumps`` of what
        :meth:`values` gives, written without the dicts: each box column of the rows is one
        ``orjson.dumps`` of its floats, cut at the commas (a float's text has none)."""
        rows = self._rows
        dumps = orjson.dumps
        out = [dumps(rows[i]) for i in pos.tolist()] if rows is not None else [b"null"] * len(pos)
        for ok, columns in self.boxes:
            sel = ok[pos]
            picked = pos[sel]
            if not len(picked):
                continue
            cols = [dumps(c[picked].tolist())[1:-1].split(b",") for c in columns]
            if len(cols) == 4:
                made = [_BOX % t for t in zip(*cols, strict=True)]
            else:
                made = [_ROTATED % t for t in zip(*cols, strict=True)]
            out = _put_rows(out, sel, made)
        return out

    def box_texts(self, pos: np.ndarray) -> list[list[bytes]] | None:
        """When every row of ``pos`` is an (unrotated) box, the texts of its ``x, y, width,
        height`` (a list per column), else None."""
        if self._rows is not None or len(self.boxes) != 1 or len(self.boxes[0][1]) != 4:
            return None
        ok, columns = self.boxes[0]
        if not ok[pos].all():
            return None
        return [orjson.dumps(c[pos].tolist())[1:-1].split(b",") for c in columns]


_BOX = b'{"x":%b,"y":%b,"width":%b,"height":%b}'
_ROTATED = b'{"x":%b,"y":%b,"width":%b,"height":%b,"rotation":%b}'


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
    has_box = (
        np.logical_or.reduce([notna_mask(frame, c) for c in hints]) if n else np.zeros(0, bool)
    )
    has_xy = notna_mask(frame, "x") & notna_mask(frame, "y")
    # later assignments win: the most specific signal decides
    out[has_xy] = "point"
    out[notna_mask(frame, "points")] = "polygon"
    out[has_box] = "bounding-box"
    out[has_box & notna_mask(frame, "rotation")] = "rotated-bounding-box"
    out[notna_mask(frame, "start") & notna_mask(frame, "end")] = "ner"
    out[notna_mask(frame, "pdf_x1")] = "pdf"
    out[notna_mask(frame, "zones")] = "segmentation"
    out[notna_mask(frame, "z1") & notna_mask(frame, "z2")] = "bounding-box-3d"
    out[has_box & notna_mask(frame, "z") & notna_mask(frame, "depth")] = "bounding-box-3d"
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
    has_columns = "asset_width" in frame.columns and "asset_height" in frame.columns
    if sizes is None and not has_columns:  # none known: read-only NaNs, no memory per row
        nan = np.broadcast_to(np.float64(np.nan), (n,))
        return nan, nan
    width = np.full(n, np.nan)
    height = np.full(n, np.nan)
    if sizes is not None:
        for key_values in (external_ids, asset_ids):  # asset_id wins: applied last
            w, h = _lookup_sizes(sizes, key_values)
            known = ~np.isnan(w)
            width[known], height[known] = w[known], h[known]
    if has_columns:
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
) -> Geometry:
    """The import geometry of every active row (``None`` elsewhere), keyed by the row's tool.

    ``tools`` holds each row's tool; ``active`` marks the rows to build (rows already rejected
    are skipped); ``width`` / ``height`` are the asset sizes (NaN when unknown). Problems are
    recorded on ``problems`` and their rows get ``None``.
    """
    if box_format not in BOX_FORMATS:
        raise ConfigError(f"box_format must be one of {', '.join(BOX_FORMATS)}, not {box_format!r}")
    geometry = Geometry(len(frame))
    if normalized:
        no_size = active & (np.isnan(width) | np.isnan(height))
        problems.add(no_size, "asset_width", "missing_column")
        active = active & ~no_size
    tools = np.asarray(tools, dtype=object)
    for tool in distinct(tools, active):
        rows = active & (tools == tool)
        if tool in ("bounding-box", "rotated-bounding-box"):
            _boxes(frame, tool, rows, problems, geometry, box_format, normalized, width, height)
        elif tool in ("polygon", "polyline", "point", "segmentation"):
            listy(frame, tool, rows, problems, geometry.rows, normalized, width, height)
        elif tool in ("bounding-box-3d", "line-3d"):
            shapes_3d(frame, str(tool), rows, problems, geometry.rows)
        elif tool == "ner":
            _ner(frame, rows, problems, geometry.rows)
        elif tool == "pdf":
            _pdf(frame, rows, problems, geometry.rows)
        else:
            _passthrough(frame, str(tool), rows, problems, geometry.rows)
    return geometry


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
    geometry: Geometry,
    box_format: str,
    normalized: bool,
    width: np.ndarray,
    height: np.ndarray,
) -> None:
    a, b, c, d = (float_column(frame, col, rows, problems) for col in BOX_FORMATS[box_format])
    with np.errstate(over="ignore", invalid="ignore"):
        if box_format == "xyxy":
            x, y, w, h = a, b, c - a, d - b
        elif box_format == "cxcywh":
            x, y, w, h = a - c / 2, b - d / 2, c, d
        else:
            x, y, w, h = a, b, c, d
    with np.errstate(over="ignore", invalid="ignore"):
        if normalized:
            x, w = x * width, w * width
            y, h = y * height, h * height
    rot = (
        float_column(frame, "rotation", rows, problems) if tool == "rotated-bounding-box" else None
    )
    # a difference, half-width or scaling beyond float range is inf: refused, never a null
    ok = finite_check(rows, BOX_FORMATS[box_format][0], problems, x, y, w, h)
    size_col = "x2" if box_format == "xyxy" else "width"
    problems.add(ok & ~(w > 0), size_col, "non_positive_size", w)
    problems.add(ok & ~(h > 0), "y2" if box_format == "xyxy" else "height", "non_positive_size", h)
    ok = rows & ~problems.bad
    known = ~np.isnan(width) & ~np.isnan(height)
    if known.any():  # no asset size known: no bounds to check (and no per-row tolerances made)
        tol_w, tol_h = 1e-6 * np.fmax(width, 1.0), 1e-6 * np.fmax(height, 1.0)
        with np.errstate(invalid="ignore", over="ignore"):
            outside = known & (
                (x < -tol_w) | (y < -tol_h) | (x + w > width + tol_w) | (y + h > height + tol_h)
            )
        del tol_w, tol_h
        problems.add(ok & outside, BOX_FORMATS[box_format][0], "out_of_bounds", x)
        ok = rows & ~problems.bad
    del known
    geometry.add_boxes(ok, [x, y, w, h] if rot is None else [x, y, w, h, rot])


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
    text = object_column(frame, "pdf_text")
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


def _put_rows(out: list[Any], sel: np.ndarray, made: list[Any]) -> list[Any]:
    """``out`` with ``made`` at the positions ``sel`` marks (``made`` itself if it is all)."""
    if len(made) == len(out):
        return made
    for k, value in zip(np.flatnonzero(sel).tolist(), made, strict=True):
        out[k] = value
    return out
