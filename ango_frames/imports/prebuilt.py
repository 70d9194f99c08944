"""Payloads the caller built: checked, made plain, and wrapped for the importers.

A ready ``ImportLabelsRequest`` (or its list of labels, or a list of import-file items) is sent
as given, but not blindly: numpy scalars and arrays become plain numbers and lists (so they
serialise), and a NaN, infinity, ``pd.NA`` or ``NaT`` anywhere in it is a ``PayloadError``
naming the label and the path to the value; JSON would carry it as ``null`` (or fail
half-way through an import).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ango_frames.errors import ConfigError, PayloadError
from ango_frames.imports.labels import LabelBatch
from ango_frames.imports.problems import Reason

__all__ = ["plain_labels", "prebuilt_batch"]

_PARTS = ("objects", "classifications", "relations")


def _missing(value: Any) -> bool:
    if value is None:
        return False
    if value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return not math.isfinite(value)
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return False


def _plain(value: Any, path: str, bad: list[tuple[str, str, Any]]) -> Any:
    """``value`` with numpy types made plain; problems appended to ``bad`` as (path, reason,
    value)."""
    kind = type(value)
    if kind is int and not -(2**63) <= value < 2**64:  # JSON numbers past 64 bits: not sendable
        bad.append((path, Reason.NOT_FINITE.value, str(value)))
        return None
    if kind is str or kind is bool or kind is int or value is None:
        return value
    if isinstance(value, float):  # also numpy's float64, a float subclass
        if not math.isfinite(value):
            bad.append((path, Reason.NOT_FINITE.value, float(value)))
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{path}.{k}" if path else str(k), bad) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, f"{path}[{i}]", bad) for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist(), path, bad)
    if _missing(value):
        bad.append((path, Reason.NOT_FINITE.value, None if value is pd.NA else str(value)))
        return None
    if isinstance(value, np.bool_ | np.integer | np.floating):
        return _plain(value.item(), path, bad)
    bad.append((path, Reason.WRONG_TYPE.value, repr(value)))
    return None


def plain_labels(labels: list[Any]) -> list[dict[str, Any]]:
    """The labels with every numpy value made plain; ``PayloadError`` when a value is missing
    (NaN, inf, NA, NaT) or of no JSON type. ``row`` is the label's position, ``column`` the path
    to the value (``answer.objects[0].bounding-box.x``)."""
    out = []
    rows: list[int] = []
    found: list[tuple[str, str, Any]] = []
    for i, label in enumerate(labels):
        bad: list[tuple[str, str, Any]] = []
        out.append(_plain(label, "", bad))
        rows.extend([i] * len(bad))
        found.extend(bad)
    if found:
        raise PayloadError(
            pd.DataFrame(
                {
                    "row": rows,
                    "column": [p for p, _, _ in found],
                    "reason": [r for _, r, _ in found],
                    "value": pd.Series([v for _, _, v in found], dtype=object),
                }
            )
        )
    return out


def prebuilt_batch(data: Any, project: str, *, body: str = "labels") -> LabelBatch:
    """A LabelBatch around labels (or import-file items) the caller built.

    Only the asset key and the shape are checked (``ConfigError``), and the values made plain
    (:func:`plain_labels`). ``body="import-file"`` takes flat import-file items.
    """
    if isinstance(data, Mapping):
        field = "jsonContent" if body == "import-file" else "labels"
        if data.get("project", project) != project:
            raise ConfigError(f"the payload is for project {data['project']!r}, not {project!r}")
        items = data.get(field, data.get("labels", data.get("jsonContent")))
    else:
        items = data
    if not isinstance(items, list | tuple) or not all(isinstance(i, Mapping) for i in items):
        raise ConfigError("a ready payload must hold a list of label objects")
    labels = plain_labels(list(items))
    keys = []
    for i, label in enumerate(labels):
        if body == "import-file":
            field, ok = "externalId", all(isinstance(label.get(p, []), list) for p in _PARTS)
            need = "externalId and lists of objects / classifications / relations"
        else:
            field = "assetId" if label.get("assetId") else "externalId"
            ok, need = (
                isinstance(label.get("answer"), dict),
                "assetId or externalId and an answer object",
            )
        if not label.get(field) or not ok:
            raise ConfigError(f"label {i} needs {need}")
        keys.append((field, str(label[field])))

    def n_objects(label: dict[str, Any]) -> int:
        answer = label if body == "import-file" else label["answer"]
        return len(answer.get("objects") or [])

    return LabelBatch(
        body={"project": project, "jsonContent" if body == "import-file" else "labels": labels},
        keys=keys,
        # no input rows: one placeholder per object, so result counts stay right
        row_index=[np.arange(n_objects(label)) for label in labels],
        scores=pd.DataFrame(columns=["row", "label", "object_id", "score"]),
        id_map=pd.DataFrame(columns=["row", "label", "track_id", "object_id"]),
        rejected=pd.DataFrame(),
        failures=pd.DataFrame(columns=["row", "column", "reason", "value"]),
    )
