"""Brush masks: the ``brushDataUrl`` / ``medicalBrushDataUrl`` of an asset, from its rows.

A row carries a mask in a ``brush_data_url`` or ``medical_brush_data_url`` column (the columns of
an export's ``tasks`` table); a row with a mask and no class is a mask only, not an object. The
spec's labels body has no place for a mask, so there each mask is refused
(``brush_needs_import_file``) instead of being dropped into an empty label; the import-file body
and annotate send it beside the answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ango_frames.imports.asset_keys import id_column, object_values
from ango_frames.imports.problems import Problems, Reason
from ango_frames.imports.urls import invalid_urls

__all__ = ["BRUSH_FIELDS", "brush_rows", "collect_brushes"]

#: Brush column -> the field of the import-file item / annotate body.
BRUSH_FIELDS = {"brush_data_url": "brushDataUrl", "medical_brush_data_url": "medicalBrushDataUrl"}


def brush_rows(frame: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """(rows carrying a mask, rows that are a mask only: no ``schema_id`` / ``title``)."""
    if frame is None:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    n = len(frame)
    has = np.zeros(n, dtype=bool)
    for column in BRUSH_FIELDS:
        if column in frame.columns:
            has |= frame[column].notna().to_numpy(dtype=bool)
    classed = np.zeros(n, dtype=bool)
    for column in ("schema_id", "title"):
        if column in frame.columns:
            classed |= frame[column].notna().to_numpy(dtype=bool)
    return has, has & ~classed


def collect_brushes(
    frame: pd.DataFrame, codes: np.ndarray, problems: Problems, allowed: bool
) -> dict[int, dict[str, Any]]:
    """Per asset code, its mask fields (``{"brushDataUrl": url}``); problems recorded.

    ``allowed`` is False for the spec's labels body: every mask is then a problem. A mask that
    is not text is ``wrong_type``; two different masks of one kind for one asset are
    ``conflicting_brush`` (the hub keeps one mask per asset).
    """
    out: dict[int, dict[str, Any]] = {}
    for column, field in BRUSH_FIELDS.items():
        if column not in frame.columns:
            continue
        raw = object_values(frame[column])
        present = pd.notna(raw)
        if not allowed:
            problems.add(present, column, Reason.BRUSH_NEEDS_IMPORT_FILE, raw)
            continue
        text = np.array([isinstance(v, str) for v in raw.tolist()], dtype=bool)
        problems.add(present & ~text, column, Reason.WRONG_TYPE, raw)
        bad_url = present & text & invalid_urls(raw)
        problems.add(bad_url, column, Reason.INVALID_URL, raw)
        urls = id_column(frame, column)
        for i in np.flatnonzero(present & text & ~bad_url & (codes >= 0)).tolist():
            got = out.setdefault(int(codes[i]), {})
            if got.get(field, urls[i]) != urls[i]:
                problems.one(i, column, Reason.CONFLICTING_BRUSH, urls[i])
            else:
                got[field] = urls[i]
    return out
