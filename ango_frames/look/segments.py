"""COCO and YOLO segmentation of one object: polygons, run-length masks, clipping to the image.

COCO polygons cannot hold holes, so with ``"polygon"`` a segmentation zone that has holes is
written as an uncompressed RLE instead (as pycocotools reads both); ``"rle"`` writes every
object as RLE. RLE counts run over the image in column-major order starting with background,
``{"counts": [...], "size": [height, width]}``, as pycocotools' ``frPyObjects`` takes them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ango_frames.look.raster import rings_mask
from ango_frames.look.shapes import Shape

__all__ = ["Segment", "coco_segment", "rle_encode", "yolo_polygon"]


class Segment(NamedTuple):
    segmentation: Any  # list of flat polygons, or an RLE dict
    bbox: list[float]  # x, y, width, height within the image
    area: float
    clipped: bool  # some of the geometry lay outside the image
    rle: bool


def rle_encode(mask: np.ndarray) -> dict[str, Any]:
    """Uncompressed COCO RLE of a boolean ``(h, w)`` mask."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = np.r_[0, change, flat.size]
    counts = np.diff(edges).tolist()
    if flat.size and flat[0]:
        counts = [0, *counts]
    return {"counts": counts, "size": [int(mask.shape[0]), int(mask.shape[1])]}


def _full_mask(shape: Shape, w: int, h: int) -> np.ndarray:
    mask = np.zeros((h, w), bool)
    for zone in shape.zones:
        got = rings_mask(zone, (h, w))
        if got is not None:
            rs, cs, inside = got
            mask[rs, cs] |= inside
    return mask


def _clamp(ring: np.ndarray, w: float, h: float) -> np.ndarray:
    return np.column_stack([np.clip(ring[:, 0], 0, w), np.clip(ring[:, 1], 0, h)])


def _area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))) / 2


def coco_segment(shape: Shape, size: tuple[int, int] | None, mode: str) -> Segment | None:
    """The COCO segmentation of an area ``shape``; None when nothing of it is inside the image.

    ``size`` (width, height) clips the geometry to the image; unknown size leaves it as is and
    allows polygons only (an RLE needs the image size).
    """
    rings = [r for zone in shape.zones for r in zone]
    points = np.vstack(rings)
    w, h = size if size is not None else (np.inf, np.inf)
    clipped = bool(
        size is not None
        and ((points < 0).any() or (points[:, 0] > w).any() or (points[:, 1] > h).any())
    )
    holes = any(len(zone) > 1 for zone in shape.zones)
    if size is not None and (mode == "rle" or holes):
        mask = _full_mask(shape, int(w), int(h))
        if not mask.any():
            return None
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        bbox = [
            float(cols[0]),
            float(rows[0]),
            float(cols[-1] + 1 - cols[0]),
            float(rows[-1] + 1 - rows[0]),
        ]
        return Segment(rle_encode(mask), bbox, float(mask.sum()), clipped, True)
    polygons, area = [], 0.0
    for zone in shape.zones:
        region = _clamp(zone[0], w, h) if size is not None else zone[0]
        if _area(region) <= 0:
            continue
        polygons.append([round(float(v), 3) for v in region.ravel()])
        area += _area(region) - sum(_area(hole) for hole in zone[1:])
    if not polygons:
        return None
    flat = np.vstack([np.asarray(p).reshape(-1, 2) for p in polygons])
    x0, y0 = flat.min(axis=0)
    x1, y1 = flat.max(axis=0)
    bbox = [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]
    return Segment(polygons, bbox, float(area), clipped, False)


def yolo_polygon(shape: Shape, size: tuple[int, int]) -> tuple[list[float], bool, bool] | None:
    """The normalised outline of an area (its largest zone's region) for YOLO segmentation.

    Returns ``(x1, y1, x2, y2, ...)``, whether it was clipped to the image, and whether holes or
    further zones were left out (the format has one outline per object); None when outside.
    """
    w, h = size
    regions = [zone[0] for zone in shape.zones]
    region = max(regions, key=_area)
    inside = _clamp(region, w, h)
    if _area(inside) <= 0:
        return None
    clipped = not np.array_equal(inside, region)
    dropped = len(shape.zones) > 1 or any(len(zone) > 1 for zone in shape.zones)
    norm = inside / np.array([w, h], dtype=np.float64)
    return norm.ravel().tolist(), clipped, dropped
