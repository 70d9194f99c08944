"""A minimal builder of the official client's import body (``{"project", "jsonContent"}``).

Stand-in for the builders' ``import_file_items`` until it lands: it lifts each spec label's
``answer`` to the top level of a flat import-file item. The import file targets assets by
``externalId`` only and has no place for ``status`` / ``assignee``, so labels that need either
are refused rather than sent without them.
"""

from __future__ import annotations

from typing import Any

from ango_frames.errors import ConfigError

__all__ = ["minimal_import_file_items"]


def minimal_import_file_items(labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``[{"externalId", "objects", "classifications", "relations"}]`` from spec labels."""
    items = []
    for i, label in enumerate(labels):
        if label.get("externalId") is None:
            raise ConfigError(
                f"label {i} names its asset by assetId: body='import-file' targets assets by "
                "externalId only; use an external_id column or the default body"
            )
        dropped = [name for name in ("status", "assignee") if label.get(name) is not None]
        if dropped:
            raise ConfigError(
                f"body='import-file' has no place for {', '.join(dropped)}; use the default body"
            )
        answer = label.get("answer") or {}
        item: dict[str, Any] = {"externalId": label["externalId"]}
        for part in ("objects", "classifications", "relations"):
            item[part] = answer.get(part) or []
        items.append(item)
    return items
