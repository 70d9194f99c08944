"""One geometry value of a tool entry to the 23 geometry columns of ``schemas.OBJECTS``.

Boxes are normalised to a top-left origin and a positive size (the raw corner stays in
``origin_x`` / ``origin_y``), vertices become lists of ``[x, y]``, plus segmentation zones, NER
offsets and PDF areas (docs/format.md §2). A value that is not the documented shape is kept raw in
``extra`` under its key.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ango_frames.export.flatten.keys import (
    BOX3D_KEYS,
    BOX_KEYS,
    CONTENT_KEYS,
    FLAT_PDF_KEYS,
    NER_KEYS,
    PDF_KEYS,
    POSITION_KEYS,
    RBOX_KEYS,
    RECT_KEYS,
    SEGMENTATION_KEYS,
    ZONE_KEYS,
    keep_unknown,
    known_dicts,
)

__all__ = ["NO_GEOM", "N_GEOM", "geometry", "line3d"]

N_GEOM = 26  # x .. origin_z in schemas.OBJECTS
NO_GEOM = (None,) * N_GEOM
RECT_KNOWN = frozenset(RECT_KEYS)
_AFTER_BOX = NO_GEOM[6:]


class _BadShape(Exception):
    """The geometry is not the documented shape; the caller keeps it raw in ``extra``."""


def _leftover(g: dict, known: frozenset, key: str, extra: dict | None, unknown: Counter) -> Any:
    return keep_unknown(g, known, extra, unknown, f"object.{key}.", f"{key}.")


def _box(g: Any, key: str, extra: dict | None, unknown: Counter) -> tuple[tuple, Any]:
    if type(g) is not dict:
        raise _BadShape
    get = g.get
    x = ox = get("x")
    y = oy = get("y")
    w, h = get("width"), get("height")
    try:  # top-left corner and positive size from the first-clicked corner and signed size
        if x is not None and w is not None and w < 0:
            x, w = x + w, -w
        if y is not None and h is not None and h < 0:
            y, h = y + h, -h
    except TypeError:
        raise _BadShape from None
    rotated = key == "rotated-bounding-box"
    known = RBOX_KEYS if rotated else BOX_KEYS
    if not known.issuperset(g):
        extra = _leftover(g, known, key, extra, unknown)
    if rotated:
        return (x, y, w, h, ox, oy, get("rotation"), get("corners"), *NO_GEOM[8:]), extra
    return (x, y, w, h, ox, oy, *_AFTER_BOX), extra


def _points(g: Any) -> tuple:
    if type(g) is not list:
        raise _BadShape
    return (*NO_GEOM[:8], g, *NO_GEOM[9:])


def _point(g: Any) -> tuple:
    if type(g) is not list or len(g) != 2:
        raise _BadShape
    return (g[0], g[1], *NO_GEOM[2:8], [g], *NO_GEOM[9:])


def _segmentation(g: Any, extra: dict | None, unknown: Counter) -> tuple[tuple, Any]:
    if type(g) is not dict:
        raise _BadShape
    raw = g.get("zones")
    zones = None
    if raw is not None:
        if known_dicts(raw, ZONE_KEYS) is None:
            raise _BadShape
        zones = []
        for zone in raw:
            holes = zone.get("holes")
            # the legacy field table prints holes as one flat ring: wrap it into a list of rings
            if holes and type(holes[0]) is list and holes[0] and type(holes[0][0]) in (int, float):
                holes = [holes]
            zones.append({"region": zone.get("region"), "holes": holes})
    if len(g) > 1 or "zones" not in g:
        extra = _leftover(g, SEGMENTATION_KEYS, "segmentation", extra, unknown)
    return (*NO_GEOM[:9], zones, *NO_GEOM[10:]), extra


def _ner(g: Any, extra: dict | None, unknown: Counter) -> tuple[tuple, Any]:
    if type(g) is not dict:
        raise _BadShape
    if not NER_KEYS.issuperset(g):
        extra = _leftover(g, NER_KEYS, "ner", extra, unknown)
    return (*NO_GEOM[:10], g.get("start"), g.get("end"), g.get("selection"), *NO_GEOM[13:]), extra


def _rects(raw: Any) -> list | None:
    if raw is None:
        return None
    if known_dicts(raw, RECT_KNOWN) is None:
        raise _BadShape
    return [{k: r.get(k) for k in RECT_KEYS} for r in raw]


def _pdf(g: Any, key: str, extra: dict | None, unknown: Counter) -> tuple[tuple, Any]:
    """The export shape ``{position: {boundingRect, rects, pageNumber}, content}`` or the flat
    import shape ``{x1, y1, x2, y2, width, height, pageNumber, text}``."""
    if type(g) is not dict:
        raise _BadShape
    if "position" in g:
        pos = g["position"]
        content = g.get("content") or {}
        if type(pos) is not dict or type(content) is not dict:
            raise _BadShape
        rect = pos.get("boundingRect") or {}
        if type(rect) is not dict:
            raise _BadShape
        rects = _rects(pos.get("rects"))
        text, image, page = content.get("text"), content.get("image"), pos.get("pageNumber")
        if not PDF_KEYS.issuperset(g):
            extra = _leftover(g, PDF_KEYS, key, extra, unknown)
        if not POSITION_KEYS.issuperset(pos):
            extra = _leftover(pos, POSITION_KEYS, f"{key}.position", extra, unknown)
        if not RECT_KNOWN.issuperset(rect):
            extra = _leftover(rect, RECT_KNOWN, f"{key}.position.boundingRect", extra, unknown)
        if not CONTENT_KEYS.issuperset(content):
            extra = _leftover(content, CONTENT_KEYS, f"{key}.content", extra, unknown)
    else:
        rect, rects = g, None
        text, image, page = g.get("text"), g.get("image"), g.get("pageNumber")
        if not FLAT_PDF_KEYS.issuperset(g):
            extra = _leftover(g, FLAT_PDF_KEYS, key, extra, unknown)
    get = rect.get
    values = (page, get("x1"), get("y1"), get("x2"), get("y2"), get("width"), get("height"))
    return NO_GEOM[:13] + values + (rects, text, image) + NO_GEOM[23:], extra


def _box3d(g: dict, extra: dict | None, unknown: Counter) -> tuple[tuple, Any]:
    """A medical 3D box ``{x1, y1, z1, x2, y2, z2}``: min corner, positive size, raw corner."""
    get = g.get
    out = []
    for a, b in (("x1", "x2"), ("y1", "y2"), ("z1", "z2")):
        lo, hi = get(a), get(b)
        if (lo is not None and type(lo) not in (int, float)) or (
            hi is not None and type(hi) not in (int, float)
        ):
            raise _BadShape
        if lo is None or hi is None:
            out.append((lo, None, lo))
        else:
            out.append((min(lo, hi), abs(hi - lo), lo))
    if not BOX3D_KEYS.issuperset(g):
        extra = _leftover(g, BOX3D_KEYS, "bounding-box", extra, unknown)
    (x, w, ox), (y, h, oy), (z, d, oz) = out
    return (x, y, w, h, ox, oy, *NO_GEOM[6:23], z, d, oz), extra


def _vertex3d(v: Any) -> list | None:
    if type(v) is list and len(v) == 3:
        return v
    if type(v) is dict and len(v) == 3 and "z" in v and "x" in v and "y" in v:
        return [v["x"], v["y"], v["z"]]
    return None


def line3d(g: Any) -> tuple | None:
    """The geometry of a 3D line (vertices ``[x, y, z]`` or ``{x, y, z}``), else None."""
    if type(g) is not list or not g:
        return None
    points = []
    for v in g:
        p = _vertex3d(v)
        if p is None:
            return None
        points.append(p)
    return (*NO_GEOM[:8], points, *NO_GEOM[9:])


def geometry(key: str, g: Any, extra: dict | None, unknown: Counter) -> tuple[str, tuple, Any]:
    """(tool, 23 geometry values, extra) of one known geometry key."""
    try:
        if key == "bounding-box":
            if type(g) is dict and "x1" in g:
                if "z1" in g or "z2" in g:  # a medical 3D box
                    geom, extra = _box3d(g, extra, unknown)
                    return "bounding-box-3d", geom, extra
                geom, extra = _pdf(g, key, extra, unknown)  # a PDF area under "bounding-box"
                return "pdf", geom, extra
            geom, extra = _box(g, key, extra, unknown)
        elif key == "polygon" or key == "polyline":
            if key == "polyline":
                geom3 = line3d(g)
                if geom3 is not None:
                    return "line-3d", geom3, extra
            geom = _points(g)
        elif key == "point":
            geom = _point(g)
        elif key == "rotated-bounding-box":
            geom, extra = _box(g, key, extra, unknown)
        elif key == "segmentation":
            geom, extra = _segmentation(g, extra, unknown)
        elif key == "ner":
            geom, extra = _ner(g, extra, unknown)
        else:
            geom, extra = _pdf(g, key, extra, unknown)
    except _BadShape:
        extra = {} if extra is None else extra
        extra[key] = g
        unknown[f"object.{key}(unreadable)"] += 1
        return key, NO_GEOM, extra
    return key, geom, extra
