"""Issue records (the ``issues`` of a task, or an issue export) to rows of the ``issues`` table.

Rows are tuples in the column order of ``schemas.ISSUES``; the last value is the row's ``extra``
dict or None. Times stay raw (the batch builder converts whole columns), except the times inside
``comments``, which are nested structs and are converted here. docs/format.md §5.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

import orjson

from ango_frames.export.flatten.answers import json_text
from ango_frames.export.flatten.keys import (
    COMMENT_KEYS,
    ISSUE_ASSET_KEYS,
    ISSUE_KEYS,
    ISSUE_QUIET,
    keep_unknown,
    known_dicts,
)
from ango_frames.export.flatten.timestamps import BAD, ts_ms

__all__ = ["content_hash", "issue_row", "list_or_none"]


def content_hash(*parts: Any) -> str:
    """16 hex digits of a BLAKE2b hash of the JSON of ``parts`` (keys sorted): made-up ids."""
    blob = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.blake2b(blob, digest_size=8).hexdigest()


def list_or_none(value: Any) -> Any:
    """A list column's value: lists as they are, a scalar wrapped (``"pilot"`` -> ``["pilot"]``)."""
    return value if value is None or type(value) is list else [value]


def _position_values(position: Any) -> Any:
    """``"[412.5, 96.0]"`` -> [412.5, 96.0]; ``"7"`` -> [7.0]; None when not numbers."""
    if type(position) is not str:
        return None
    try:
        parsed = orjson.loads(position)
    except orjson.JSONDecodeError:
        return None
    if type(parsed) in (int, float):
        return [float(parsed)]
    if type(parsed) is list and all(type(v) in (int, float) for v in parsed):
        return [float(v) for v in parsed]
    return None


def _comments(comments: Any) -> list | None:
    """Issue comments as structs; None (raw kept in ``extra``) when they hold anything else."""
    if known_dicts(comments, COMMENT_KEYS) is None:
        return None
    out = []
    for c in comments:
        at = ts_ms(c.get("createdAt"))
        if at is BAD or not all(
            v is None or type(v) is str for v in (c.get("createdBy"), c.get("content"))
        ):
            return None
        out.append(
            {"created_by": c.get("createdBy"), "content": c.get("content"), "created_at": at}
        )
    return out


def issue_row(rec: dict, unknown: Counter) -> tuple:
    """The ``issues`` row of one issue record; unknown keys are counted in ``unknown``.

    An issue without ``_id`` gets ``issue#<h>`` (h: :func:`content_hash` of the record).
    """
    get = rec.get
    extra: dict | None = None
    if not ISSUE_KEYS.issuperset(rec):
        extra = keep_unknown(rec, ISSUE_KEYS, extra, unknown, "issue.", "", ISSUE_QUIET)
    issue_id = get("_id")
    if issue_id is None:
        issue_id = f"issue#{content_hash(rec)}"
    asset = get("asset")
    external_id = batches = None
    if type(asset) is dict:
        external_id, batches = asset.get("externalId"), list_or_none(asset.get("batches"))
        for key in asset:
            if key not in ISSUE_ASSET_KEYS:  # kept, not counted: the asset is context
                extra = {} if extra is None else extra
                extra[f"asset.{key}"] = asset[key]
    elif asset is not None:
        extra = {} if extra is None else extra
        extra["asset"] = asset
    comments = get("comments")
    if comments is not None:
        comments, raw = _comments(comments), comments
        if comments is None:
            extra = {} if extra is None else extra
            extra["comments"] = raw
    position = get("position")
    if position is not None and type(position) is not str:
        position = json_text(position)
    return (
        issue_id,
        get("labelTask"),
        external_id,
        batches,
        get("stage"),
        get("stageId"),
        get("status"),
        get("title"),
        get("content"),
        get("objectId"),
        get("page"),
        get("pageEnd"),
        position,
        _position_values(position),
        get("errorType"),
        get("errorCode"),
        get("createdBy"),
        get("createdAt"),
        get("updatedBy"),
        get("updatedAt"),
        get("resolvedBy"),
        get("resolvedAt"),
        comments,
        extra,
    )
