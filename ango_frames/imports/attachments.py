"""A frame of attachment URLs -> the ``POST /attachments`` body (ImportAttachmentsRequest).

Columns: ``asset_id`` or ``external_id`` (``asset_id`` wins), ``attachment_url`` (or ``url``),
and optionally ``attachment_type``. One attachment per row, sent in row order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ango_frames.errors import ConfigError
from ango_frames.imports.asset_keys import AssetKeys, first_present, id_column, object_values
from ango_frames.imports.problems import Problems, raise_if

__all__ = ["attachments_payload", "build_attachments"]


def build_attachments(
    df: pd.DataFrame, project: str, *, on_error: str = "raise"
) -> tuple[dict[str, Any], list[tuple[str, str]], pd.DataFrame]:
    """(body, key per attachment, failure cases) for a frame of attachments.

    With ``on_error="skip"`` rows with problems are left out and reported in the failure cases;
    with ``"raise"`` they raise one :class:`~ango_frames.errors.PayloadError`.
    """
    if on_error not in ("raise", "skip"):
        raise ConfigError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
    if not isinstance(df, pd.DataFrame):
        raise ConfigError(f"expected a pandas DataFrame, not {type(df).__name__}")
    problems = Problems(df.index)
    keys = AssetKeys("asset")
    keys.add(df, problems)
    (codes,) = keys.number()
    url_col = first_present(df, "attachment_url", "url")
    if url_col is None:
        problems.add(np.ones(len(df), dtype=bool), "attachment_url", "missing_column")
        urls = np.full(len(df), None, dtype=object)
    else:
        urls = id_column(df, url_col)
        raw = object_values(df[url_col])
        not_text = np.array([v is not None and not isinstance(v, str) for v in raw], dtype=bool)
        problems.add(not_text, url_col, "wrong_type", raw)
        blank = np.array([v is None or not str(v).strip() for v in urls], dtype=bool)
        problems.add(blank & ~not_text, url_col, "not_finite", raw)
    types = id_column(df, "attachment_type")
    if on_error == "raise":
        raise_if([problems])
    ok = ~problems.bad
    items: list[dict[str, Any]] = []
    fields: list[tuple[str, str]] = []
    for code, url, kind in zip(
        codes[ok].tolist(), urls[ok].tolist(), types[ok].tolist(), strict=True
    ):
        field, value = keys.field(code)
        item: dict[str, Any] = {field: value, "attachmentUrl": url}
        if kind is not None:
            item["attachmentType"] = kind
        items.append(item)
        fields.append((field, value))
    return {"project": project, "attachments": items}, fields, problems.frame()


def attachments_payload(df: pd.DataFrame, project: str) -> dict[str, Any]:
    """The ``POST /attachments`` body for a frame of attachments.

    Returns ``{"project": project, "attachments": [{"assetId" | "externalId": ...,
    "attachmentUrl": ..., "attachmentType"?: ...}]}``.

    Raises
    ------
    PayloadError
        Rows without an asset key (``missing_asset_key``), without a URL or with an empty one
        (``missing_column`` / ``not_finite``), or with a non-text URL (``wrong_type``).
    """
    return build_attachments(df, project)[0]
