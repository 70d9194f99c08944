"""Python values -> the query string of ``GET /export``, exactly as the OpenAPI spec describes.

Lists and dicts become JSON strings, booleans ``"true"`` / ``"false"``, datetimes UTC ISO strings
(``2020-08-19T07:37:15.000000Z``). Naive datetimes are refused: a time without a zone would be
read as UTC by the hub and silently shift a filter by the local offset.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ango_frames.errors import ConfigError

__all__ = ["FORMATS", "TYPES", "encode_export_params", "iso_utc"]

FORMATS = ("json", "ndjson", "split")
TYPES = ("task", "issue")


def iso_utc(value: Any, name: str) -> str:
    """A timezone-aware datetime (or pandas Timestamp, or ISO string) as the spec's UTC string."""
    if isinstance(value, str):
        return value
    if hasattr(value, "to_pydatetime"):  # pandas.Timestamp
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ConfigError(
                f"{name}: naive datetime {value.isoformat()} has no time zone; "
                "pass an aware datetime, e.g. datetime(..., tzinfo=timezone.utc)"
            )
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dt.date):
        return f"{value.isoformat()}T00:00:00.000000Z"  # a plain date means midnight UTC
    raise ConfigError(
        f"{name}: expected a datetime, date or ISO string, got {type(value).__name__}"
    )


def _date_range(value: Any, name: str) -> str | None:
    """(start, end) pair, raw {"$gt": ..., "$lt": ...} dict, or one datetime meaning "after"."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        bad = [k for k in value if k not in ("$gt", "$gte", "$lt", "$lte")]
        if bad:
            raise ConfigError(f"{name}: unsupported operator(s) {bad}; use $gt, $gte, $lt, $lte")
        rng = {k: iso_utc(v, name) for k, v in value.items()}
    elif isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ConfigError(f"{name}: a range is a (start, end) pair, got {len(value)} values")
        start, end = value
        rng = {}
        if start is not None:
            rng["$gt"] = iso_utc(start, name)
        if end is not None:
            rng["$lt"] = iso_utc(end, name)
    else:
        rng = {"$gt": iso_utc(value, name)}
    if not rng:
        return None
    return json.dumps(rng, separators=(",", ":"))


def _string_list(value: str | Sequence[str] | None, name: str) -> str | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(v, str) for v in items):
        raise ConfigError(f"{name}: expected strings, got {items!r}")
    return json.dumps(items, separators=(",", ":"))


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)) or hasattr(value, "to_pydatetime"):
        return iso_utc(value, "filters")
    raise ConfigError(f"filters: cannot encode {type(value).__name__} as JSON")


def _bool(value: bool, name: str) -> str:
    if not isinstance(value, bool):
        raise ConfigError(f"{name}: expected True or False, got {value!r}")
    return "true" if value else "false"


def encode_export_params(
    project: str,
    *,
    format: str = "json",
    type: str = "task",
    stage: str | Sequence[str] | None = None,
    batches: str | Sequence[str] | None = None,
    send_email: bool = False,
    notify: bool = False,
    include_metadata: bool = False,
    include_history: bool = False,
    include_only_key_frames: bool = False,
    include_idle_blur_durations: bool = False,
    updated_at: Any = None,
    created_at: Any = None,
    filters: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The query parameters of ``GET /export``, every value a string, in a stable order."""
    if not project or not isinstance(project, str):
        raise ConfigError("project: a project id is required")
    if format not in FORMATS:
        raise ConfigError(f"format: expected one of {FORMATS}, got {format!r}")
    if type not in TYPES:
        raise ConfigError(f"type: expected one of {TYPES}, got {type!r}")
    params: dict[str, str | None] = {
        "project": project,
        "format": format,
        "type": type,
        "stage": _string_list(stage, "stage"),
        "batches": _string_list(batches, "batches"),
        "sendEmail": _bool(send_email, "send_email"),
        "doNotNotify": _bool(not notify, "notify"),
        "includeMetadata": _bool(include_metadata, "include_metadata"),
        "includeHistory": _bool(include_history, "include_history"),
        "includeOnlyKeyFrames": _bool(include_only_key_frames, "include_only_key_frames"),
        "includeIdleBlurDurations": _bool(
            include_idle_blur_durations, "include_idle_blur_durations"
        ),
        "updatedAt": _date_range(updated_at, "updated_at"),
        "createdAt": _date_range(created_at, "created_at"),
        "filters": None,
    }
    if filters is not None:
        if not isinstance(filters, Mapping):
            raise ConfigError(f"filters: expected a dict, got {filters.__class__.__name__}")
        params["filters"] = json.dumps(filters, separators=(",", ":"), default=_json_default)
    return {k: v for k, v in params.items() if v is not None}
