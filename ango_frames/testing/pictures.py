"""The local hub's demo pictures: small deterministic PNGs with shapes where the labels are.

Each demo image asset has a picture: a sky-to-road gradient with every object of its labels
painted in its class colour (boxes, rotated boxes, polygons, segmentation zones with their holes
left open, polylines as thin strips, points as small squares), so plotted labels land on visible
shapes. Written with numpy, the stdlib PNG writer and the numpy rasteriser: no pillow. The same
labels and size always give the same bytes.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ango_frames.export.flatten.keys import GEOMETRY_KEYS
from ango_frames.look.png import encode_png
from ango_frames.look.raster import box_ring, rings_mask
from ango_frames.look.shapes import shape_of

__all__ = ["CLASS_RGB", "render_picture", "tool_row"]

CLASS_RGB = {
    "car": (52, 101, 164),
    "person": (204, 0, 0),
    "sign": (237, 212, 0),
    "building": (117, 80, 123),
    "road": (85, 87, 83),
    "lane": (255, 255, 255),
    "landmark": (78, 154, 6),
}
_OTHER = (193, 125, 17)


def tool_row(tool: dict[str, Any]) -> dict[str, Any] | None:
    """A stored ``tools`` entry as the objects-table row ``shape_of`` reads; None if no geometry."""
    for key in GEOMETRY_KEYS:  # ner / pdf rows have no picture shape: shape_of skips them
        if key not in tool:
            continue
        geo = tool[key]
        row: dict[str, Any] = {"tool": key, "title": tool.get("title")}
        if isinstance(geo, dict):
            row.update(geo)
        elif key == "point":
            row["points"] = [geo]
        else:
            row["points"] = geo
        return row
    return None


def _areas(row: dict[str, Any], shape: Any) -> list[list[np.ndarray]]:
    """Rings to paint: areas as they are, lines as strips, points as squares."""
    if shape.kind == "area":
        return list(shape.zones)
    pts = shape.zones[0][0]
    if shape.kind == "point":
        x, y = pts[0]
        return [[box_ring(x - 4, y - 4, 8, 8)]]
    strips = []
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        dx, dy = x1 - x0, y1 - y0
        norm = float(np.hypot(dx, dy)) or 1.0
        nx, ny = -dy / norm * 2, dx / norm * 2
        strips.append(
            [
                np.array(
                    [[x0 + nx, y0 + ny], [x1 + nx, y1 + ny], [x1 - nx, y1 - ny], [x0 - nx, y0 - ny]]
                )
            ]
        )
    return strips


def render_picture(width: int, height: int, tools: list[dict[str, Any]]) -> bytes:
    """The PNG bytes of a ``width`` x ``height`` picture showing ``tools`` (stored-answer form)."""
    rows = np.linspace(0.0, 1.0, height)[:, None]
    sky, ground = np.array([176, 206, 230.0]), np.array([150, 150, 140.0])
    img = np.empty((height, width, 3), np.uint8)
    img[:] = (sky * (1 - rows) + ground * rows).astype(np.uint8)[:, None, :]
    ordered = sorted(
        (t for t in tools if tool_row(t) is not None),
        key=lambda t: 0 if "segmentation" in t else 1,  # roads under the rest
    )
    for tool in ordered:
        row = tool_row(tool)
        shape = shape_of(row) if row is not None else None
        if shape is None:
            continue
        colour = np.array(CLASS_RGB.get(str(tool.get("title")), _OTHER), np.uint8)
        for zone in _areas(row, shape):  # type: ignore[arg-type]
            got = rings_mask(zone, (height, width))
            if got is not None:
                rs, cs, inside = got
                img[rs, cs][inside] = colour
    return encode_png(img)
