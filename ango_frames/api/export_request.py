"""``ExportRequest``: the 13 options of ``GET /export``, described, validated and encoded once.

``Client.export`` takes one (or its keywords), the CLI builds its export flags from its fields'
metadata, and the query string follows the OpenAPI spec exactly.

Lists and dicts become JSON strings, booleans ``"true"`` / ``"false"``, datetimes UTC ISO strings
(``2020-08-19T07:37:15.000000Z``). Naive datetimes are refused: a time without a zone would be
read as UTC by the hub and silently shift a filter by the local offset.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ango_frames.errors import ConfigError

__all__ = ["FORMATS", "TYPES", "ExportRequest", "encode_export_params", "iso_utc"]

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


def _cli(kind: str, help: str, flag: str | None = None, **extra: Any) -> dict[str, Any]:
    """Field metadata the CLI builds its flag from: the kind of flag and what it does."""
    return {"cli": {"kind": kind, "help": help, "flag": flag, **extra}}


def _names(what: str, by: str, flag: str | None = None) -> Any:
    """A filter by one or more names of ``what`` (a repeatable flag of the CLI)."""
    help = f"only tasks in this {what} ({by}); repeatable"
    return field(
        default=None,
        metadata=_cli("list", help, flag, metavar=what.upper(), none=f"every {what}"),
    )


def _switch(help: str) -> Any:
    """A yes / no option, off unless asked for (a ``--flag`` of the CLI)."""
    return field(default=False, metadata=_cli("switch", help))


@dataclass(frozen=True)
class ExportRequest:
    """What to export: every option of ``GET /export`` except the project.

    Validated when made (a bad value is a ``ConfigError`` naming the option) and encoded once:
    :meth:`params` gives the query string values, every one a string, in a stable order.

    ``stage`` / ``batches`` are one string or a list (sent as JSON arrays); ``updated_at`` /
    ``created_at`` a (start, end) pair of aware datetimes (either may be None), a raw
    ``{"$gt": ..., "$lt": ...}`` dict, or one datetime meaning "after"; ``filters`` a Mongo-style
    dict. Naive datetimes are refused (the hub would read them as UTC).
    """

    format: str = field(
        default="json",
        metadata=_cli("choice", "export file format requested from the hub", choices=FORMATS),
    )
    type: str = field(
        default="task", metadata=_cli("choice", "export tasks or issues", choices=TYPES)
    )
    stage: str | Sequence[str] | None = _names("stage", "id or name")
    batches: str | Sequence[str] | None = _names("batch", "id", flag="--batch")
    include_metadata: bool = _switch("asset metadata (metadata_* columns)")
    include_history: bool = _switch("each task's stage history")
    include_only_key_frames: bool = _switch("only key frames of video objects")
    include_idle_blur_durations: bool = _switch("idle and blur durations")
    send_email: bool = _switch("ask the hub to e-mail the export link")
    notify: bool = _switch("ask the hub to notify when the export is ready")
    updated_at: Any = field(default=None, metadata=_cli("range", "updated"))
    created_at: Any = field(default=None, metadata=_cli("range", "created"))
    filters: Mapping[str, Any] | None = field(
        default=None, metadata=_cli("json", "Mongo-style task filter as a JSON object")
    )
    _encoded: tuple[tuple[str, str], ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_encoded", tuple(_encode(self).items()))

    @classmethod
    def of(cls, request: ExportRequest | None = None, **options: Any) -> ExportRequest:
        """``request`` with ``options`` replaced (a new request from keywords when None)."""
        unknown = sorted(set(options) - set(OPTION_NAMES))
        if unknown:
            raise ConfigError(f"unknown export option(s) {unknown}; options are {OPTION_NAMES}")
        if request is None:
            return cls(**options)
        if not isinstance(request, ExportRequest):
            raise ConfigError(f"request: expected an ExportRequest, got {type(request).__name__}")
        return dataclasses.replace(request, **options) if options else request

    def params(self, project: str) -> dict[str, str]:
        """The query parameters of ``GET /export`` for ``project``, every value a string."""
        if not project or not isinstance(project, str):
            raise ConfigError("project: a project id is required")
        return {"project": project, **dict(self._encoded)}


#: The option names, in the order of the dataclass (and of the CLI's flags).
OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ExportRequest) if f.init)


def _encode(r: ExportRequest) -> dict[str, str]:
    if r.format not in FORMATS:
        raise ConfigError(f"format: expected one of {FORMATS}, got {r.format!r}")
    if r.type not in TYPES:
        raise ConfigError(f"type: expected one of {TYPES}, got {r.type!r}")
    params: dict[str, str | None] = {
        "format": r.format,
        "type": r.type,
        "stage": _string_list(r.stage, "stage"),
        "batches": _string_list(r.batches, "batches"),
        "sendEmail": _bool(r.send_email, "send_email"),
        "doNotNotify": _bool(not r.notify if isinstance(r.notify, bool) else r.notify, "notify"),
        "includeMetadata": _bool(r.include_metadata, "include_metadata"),
        "includeHistory": _bool(r.include_history, "include_history"),
        "includeOnlyKeyFrames": _bool(r.include_only_key_frames, "include_only_key_frames"),
        "includeIdleBlurDurations": _bool(
            r.include_idle_blur_durations, "include_idle_blur_durations"
        ),
        "updatedAt": _date_range(r.updated_at, "updated_at"),
        "createdAt": _date_range(r.created_at, "created_at"),
        "filters": None,
    }
    if r.filters is not None:
        if not isinstance(r.filters, Mapping):
            raise ConfigError(f"filters: expected a dict, got {r.filters.__class__.__name__}")
        params["filters"] = json.dumps(r.filters, separators=(",", ":"), default=_json_default)
    return {k: v for k, v in params.items() if v is not None}


def encode_export_params(project: str, **options: Any) -> dict[str, str]:
    """The query parameters of ``GET /export``: ``ExportRequest(**options).params(project)``."""
    return ExportRequest.of(**options).params(project)
