"""Tool entries (annotation objects) to rows of the ``objects`` table (docs/format.md §2).

One row per entry, or per frame when an entry holds a ``frames`` list (a per-object video layout the
newest docs hint at). Geometry becomes plain columns (see
:mod:`ango_frames.export.flatten.geometry`). Rows are tuples in the column order of
``schemas.OBJECTS``; the last value is the row's ``extra`` dict or None.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ango_frames.export.flatten.answers import add_classifications
from ango_frames.export.flatten.geometry import NO_GEOM, geometry, line3d
from ango_frames.export.flatten.keys import (
    GEOMETRY_KEYS,
    KEY_FRAME_KEYS,
    OBJECT_KEYS,
    OBJECT_QUIET,
    OCR_KEYS,
    keep_unknown,
)
from ango_frames.export.flatten.scope import Scope
from ango_frames.export.flatten.timestamps import NO_AUDIT, audit

__all__ = ["add_objects"]

_GEOMETRY = frozenset(GEOMETRY_KEYS)
_NO_HEAD = (None,) * 7  # schema_id .. medical_brush
_NO_TAIL = (None,) * (3 + len(NO_AUDIT))  # lock, ocr_text, ocr_confidence, audit
_BEFORE_POINTS, _AFTER_POINTS = NO_GEOM[:8], NO_GEOM[9:]  # `points` is geometry column 8


def _odd_keys(entry: dict, first: str | None, tool: Any, extra: Any, unknown: Counter) -> Any:
    """(tool, extra) after keeping the keys that are neither object keys nor ``first``."""
    for key in entry:
        if key in OBJECT_KEYS or key == first:
            continue
        value = entry[key]
        if key in _GEOMETRY or key in OBJECT_QUIET:
            pass  # a second geometry (kept, not lost), or legacy mask URLs
        elif tool is None and isinstance(value, (dict, list)):
            tool = key  # an undocumented tool (spline, angle, ...): kept whole in `extra`
            unknown[f"object.{key}"] += 1
        else:
            unknown[f"object.{key}"] += 1
        extra = {} if extra is None else extra
        extra[key] = value
    return tool, extra


def _one(entry: dict, lead: tuple, extra: dict | None, unknown: Counter) -> tuple:
    """The objects row of one entry (or one frame merged into its entry).

    ``lead`` is the row's first values: (task_id, object_id), or (task_id, history_order,
    object_id) for ``history_objects``.
    """
    get = entry.get
    geom: tuple = NO_GEOM
    tool, first, odd = None, None, False
    for key in entry:  # one pass: the first documented geometry, and whether anything is odd
        if key in OBJECT_KEYS:
            continue
        if first is None and key in _GEOMETRY:
            first = key
        else:
            odd = True
    if first is not None:  # a documented geometry wins over undocumented ones
        g = entry[first]
        if first == "polygon" and type(g) is list:
            tool, geom = first, (*_BEFORE_POINTS, g, *_AFTER_POINTS)  # geometry(), inlined
        elif first == "polyline" and type(g) is list and (g3 := line3d(g)) is None:
            tool, geom = first, (*_BEFORE_POINTS, g, *_AFTER_POINTS)
        elif first == "polyline" and type(g) is list:
            tool, geom = "line-3d", g3  # type: ignore[assignment]  # not None: the branch above
        else:
            tool, geom, extra = geometry(first, g, extra, unknown)
    if odd:
        tool, extra = _odd_keys(entry, first, tool, extra, unknown)
    key_frame = None
    if not KEY_FRAME_KEYS.isdisjoint(entry):
        key_frame = get("isKeyFrame")
        if key_frame is None:
            key_frame = get("keyFrame")
            if key_frame is None:
                key_frame = get("keyframe")
    meta = get("metadata")
    values, extra = audit(meta, extra, unknown)
    ocr_text = ocr_confidence = None
    ocr = get("ocr")
    if ocr is not None:
        ocr_text, ocr_confidence, extra = _ocr(ocr, extra, unknown)
    return (
        *lead,
        get("schemaId"),
        get("title"),
        tool,
        get("page"),
        get("interpolationStopped"),
        key_frame,
        get("medical-brush"),
        *geom,
        get("lock"),
        ocr_text,
        ocr_confidence,
        *values,
        extra,
    )


def _ocr(ocr: Any, extra: dict | None, unknown: Counter) -> tuple[Any, Any, dict | None]:
    """(ocr_text, ocr_confidence, extra) of a tool's ``ocr``: text, or ``{text, confidence}``."""
    if type(ocr) is str:
        return ocr, None, extra
    if type(ocr) is not dict:
        extra = {} if extra is None else extra
        extra["ocr"] = ocr
        unknown["object.ocr(unreadable)"] += 1
        return None, None, extra
    if not OCR_KEYS.issuperset(ocr):
        extra = keep_unknown(ocr, OCR_KEYS, extra, unknown, "object.ocr.", "ocr.")
    return ocr.get("text"), ocr.get("confidence"), extra


def _inner_object_id(entry: dict) -> Any:
    """An ``objectId`` placed inside the geometry dict (legacy PDF import samples)."""
    for key in GEOMETRY_KEYS:
        g = entry.get(key)
        if type(g) is dict and "objectId" in g:
            return g["objectId"]
    return None


def add_objects(items: Any, scope: Scope, start: int = 0) -> None:
    """Append the rows of every entry of a ``tools`` / ``objects`` list, and their nested
    classifications (``object_id`` = the entry's id).

    An entry without ``objectId`` (none at the top nor inside its geometry) gets
    ``<prefix>/o<n>``, n being ``start`` + its position in the list (``objects`` beside
    ``tools`` continue their numbering).
    """
    if type(items) is not list:
        items = [items]
    append = scope.objects.append
    unknown = scope.unknown
    for n, entry in enumerate(items, start):
        if type(entry) is not dict:
            made = scope.made_id("o", n)
            append((*scope.lead, made, *_NO_HEAD, *NO_GEOM, *_NO_TAIL, {"object": entry}))
            unknown["object(not a dict)"] += 1
            continue
        oid = entry.get("objectId")
        if oid is None:
            oid = _inner_object_id(entry)
            if oid is None:
                oid = scope.made_id("o", n)
        lead = (*scope.lead, oid)
        frames = entry.get("frames")
        if type(frames) is list and frames:
            base = {k: v for k, v in entry.items() if k != "frames" and k != "classifications"}
            for frame in frames:
                if type(frame) is dict:
                    append(_one({**base, **frame}, lead, None, unknown))
                else:
                    append(_one(base, lead, {"frame": frame}, unknown))
                nested = frame.get("classifications") if type(frame) is dict else None
                if nested is not None and nested != []:
                    add_classifications(nested, scope, oid, None)
        else:
            append(_one(entry, lead, None, unknown))
        nested = entry.get("classifications")
        if nested is not None and nested != []:
            add_classifications(nested, scope, oid, None)
