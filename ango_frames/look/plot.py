"""Annotations drawn over their image with matplotlib: ``draw_asset`` and ``draw_sheet``.

Coordinates are the asset's pixels: the image is shown with ``extent=(0, width, height, 0)``
(the asset's metadata size), so boxes land where they belong even on a downscaled picture.
Figures are ``matplotlib.figure.Figure`` objects (no pyplot state, no GUI backend needed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ango_frames.errors import ConfigError
from ango_frames.look.assets import (
    asset_objects,
    asset_size,
    find_task,
    image_url,
    load_image,
    read_bytes,
)
from ango_frames.look.deps import require_matplotlib
from ango_frames.look.png import decode_png
from ango_frames.look.shapes import shape_of

__all__ = ["PALETTE", "answer_summary", "class_colors", "draw_asset", "draw_sheet"]

# Ten distinct, colour-blind-friendly colours (Okabe-Ito plus four), cycled past ten classes.
PALETTE = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#7F3C8D",
    "#11A579",
    "#3969AC",
)


def class_colors(
    objects: pd.DataFrame, by: str = "title", colors: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One colour per class, stable across assets: classes sorted by name, ``colors`` overrides."""
    names = sorted(str(v) for v in objects[by].dropna().unique()) if by in objects else []
    out = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    out.update({str(k): v for k, v in (colors or {}).items()})
    return out


def answer_summary(
    classifications: pd.DataFrame | None, task_id: str, page: int | None, limit: int = 4
) -> str:
    """``"weather: rain; lighting: day"``: the asset's global answers (of ``page`` or all pages)."""
    if classifications is None or classifications.empty:
        return ""
    c = classifications[classifications["task_id"] == task_id]
    if "object_id" in c.columns:
        c = c[c["object_id"].isna()]
    if "parent_id" in c.columns:
        c = c[c["parent_id"].isna()]
    if page is not None and "page" in c.columns:
        c = c[c["page"].isna() | (c["page"].astype("Int64") == page)]
    parts = []
    for title, group in c.groupby("title", sort=False, observed=True):
        values = ", ".join(str(v) for v in group["answer"].dropna().head(3))
        parts.append(f"{title}: {values}")
    return "; ".join(parts[:limit])


def _oriented(ring: np.ndarray, clockwise: bool) -> np.ndarray:
    x, y = ring[:, 0], ring[:, 1]
    area = float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))
    return ring if (area > 0) == clockwise else ring[::-1]


def _zone_path(path_cls: Any, zone: Sequence[np.ndarray]) -> Any:
    """A compound path: region one way round, holes the other, so nonzero fill keeps holes."""
    verts, codes = [], []
    for i, ring in enumerate(zone):
        r = _oriented(ring, clockwise=(i == 0))
        verts.extend([*r.tolist(), r[0].tolist()])
        codes.extend([path_cls.MOVETO] + [path_cls.LINETO] * (len(r) - 1) + [path_cls.CLOSEPOLY])
    return path_cls(verts, codes)


def _brush_overlay(task: pd.Series, storage_options: Mapping[str, Any] | None) -> np.ndarray | None:
    url = task.get("brush_data_url")
    if url is None or pd.isna(url):
        return None
    pixels = decode_png(read_bytes(str(url), storage_options))
    if pixels.ndim == 2:
        rgba = np.zeros((*pixels.shape, 4), np.uint8)
        rgba[..., 0] = 255
        rgba[..., 3] = np.where(pixels > 0, 140, 0)
        return rgba
    return pixels


def draw_asset(
    objects: pd.DataFrame,
    tasks: pd.DataFrame,
    key: str,
    *,
    classifications: pd.DataFrame | None = None,
    image: Any = None,
    ax: Any = None,
    page: int | None = None,
    frame: int | None = None,
    fill: bool = False,
    alpha: float = 0.35,
    linewidth: float = 2.0,
    by: str = "title",
    colors: Mapping[str, Any] | None = None,
    legend: bool = True,
    title: str | None = None,
    answers: bool = True,
    brush: bool = True,
    fetch: bool = True,
    dpi: float = 100,
    storage_options: Mapping[str, Any] | None = None,
) -> Any:
    """Draw one asset's objects on its image; returns the matplotlib Axes.

    ``image``: an array, bytes, a path or a URL; by default the asset's own URL (its page for a
    multi-page asset) is fetched when ``fetch``; a video, or an asset without a picture, is drawn
    on an empty canvas of its size. ``frame`` (videos) and ``page`` (multi-page) are the same
    0-based index. ``fill`` fills areas with ``alpha``. Colours follow ``class_colors`` of the
    whole objects table, so the same class has the same colour on every asset.
    """
    mpl = require_matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path

    if frame is not None and page is not None and frame != page:
        raise ConfigError(f"give frame= or page=, not both (frame={frame}, page={page})")
    task = find_task(tasks, key)
    rows, page = asset_objects(objects, task, frame if frame is not None else page)
    palette = class_colors(objects, by, colors)
    if image is None and fetch:
        url = image_url(task, page)
        if url is not None:
            image = load_image(url, storage_options=storage_options)
    picture = None if image is None else load_image(image, storage_options=storage_options)
    size = asset_size(task)
    if size is None and picture is not None:
        size = (picture.shape[1], picture.shape[0])
    if size is None:
        raise ConfigError(f"task {task['task_id']}: no image and no metadata_width / _height")
    w, h = size
    if ax is None:
        fig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi)
        ax = fig.add_axes((0, 0, 1, 1))
    if picture is not None:
        ax.imshow(picture, extent=(0, w, h, 0), interpolation="nearest")
    else:
        ax.imshow(np.full((1, 1, 3), 235, np.uint8), extent=(0, w, h, 0))
    if brush:
        overlay = _brush_overlay(task, storage_options)
        if overlay is not None:
            ax.imshow(overlay, extent=(0, w, h, 0), interpolation="nearest")
    seen: dict[str, Any] = {}
    for obj in rows.to_dict("records"):
        shape = shape_of(obj)
        if shape is None:
            continue
        name = str(obj.get(by))
        color = palette.get(name, "#FF00FF")
        seen[name] = color
        if shape.kind == "area":
            for zone in shape.zones:
                face = mpl.colors.to_rgba(color, alpha) if fill else "none"
                ax.add_patch(
                    PathPatch(_zone_path(Path, zone), facecolor=face, edgecolor=color, lw=linewidth)
                )
        elif shape.kind == "line":
            line = shape.zones[0][0]
            ax.add_line(Line2D(line[:, 0], line[:, 1], color=color, lw=linewidth))
        else:
            pt = shape.zones[0][0][0]
            ax.plot([pt[0]], [pt[1]], "o", color=color, ms=3 * linewidth, mec="white", mew=1)
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_axis_off()
    if legend and seen:
        from matplotlib.patches import Patch

        ax.legend(
            handles=[Patch(facecolor=c, edgecolor=c, label=n) for n, c in sorted(seen.items())],
            loc="upper right",
            fontsize="small",
            framealpha=0.8,
        )
    if title is None:
        ext = task.get("external_id")
        title = str(task["task_id"] if ext is None or pd.isna(ext) else ext)
        if page is not None:
            video = pd.notna(task.get("metadata_frameTotal", None))
            title += f" [{'frame' if video else 'page'} {page}]"
        summary = answer_summary(classifications, str(task["task_id"]), page) if answers else ""
        if summary:
            title += "\n" + summary
    if title:
        ax.set_title(title, fontsize="small")
    return ax


def _task_ids(tasks: pd.DataFrame, keys: Sequence[str]) -> set[str]:
    return {str(find_task(tasks, k)["task_id"]) for k in keys}


def draw_sheet(
    objects: pd.DataFrame,
    tasks: pd.DataFrame,
    keys: Sequence[str],
    *,
    classifications: pd.DataFrame | None = None,
    ncols: int = 4,
    size: float = 3.0,
    by: str = "title",
    colors: Mapping[str, Any] | None = None,
    titles: Mapping[str, str] | None = None,
    **draw: Any,
) -> Any:
    """A grid of assets (one Axes each) with one legend for the whole sheet; returns the Figure."""
    require_matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    keys = list(keys)
    if not keys:
        raise ConfigError("contact_sheet needs at least one asset")
    ncols = max(1, min(ncols, len(keys)))
    nrows = -(-len(keys) // ncols)
    fig = Figure(figsize=(ncols * size, nrows * size * 0.8 + 0.6), dpi=draw.pop("dpi", 100))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    palette = class_colors(objects, by, colors)
    # every asset with its answers, in the sheet's palette; one legend for the sheet, not one each
    cell: dict[str, Any] = dict(
        classifications=classifications, by=by, colors=palette, legend=False
    )
    for ax, key in zip(axes.ravel(), keys):
        draw_asset(objects, tasks, key, ax=ax, title=(titles or {}).get(key), **cell, **draw)
    for ax in axes.ravel()[len(keys) :]:
        ax.set_axis_off()
    shown = set(
        objects.loc[objects["task_id"].astype(str).isin(_task_ids(tasks, keys)), by]
        .dropna()
        .astype(str)
    )
    handles = [Patch(facecolor=c, edgecolor=c, label=n) for n, c in palette.items() if n in shown]
    fig.legend(handles=handles, loc="lower center", ncols=min(len(handles), 8), fontsize="small")
    fig.subplots_adjust(left=0.01, right=0.99, top=0.93, bottom=0.12, wspace=0.05, hspace=0.3)
    return fig
