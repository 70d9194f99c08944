"""DataFrames -> the items of an Ango import file (the official client's ``jsonContent``).

The official Python client sends ``{"project": ..., "jsonContent": [items]}`` to
``/import/labels``, each item being what an import file holds: the asset's ``externalId`` and
its ``objects``, ``classifications`` and ``relations`` at the top level (no ``answer``
wrapper), plus ``brushDataUrl`` / ``medicalBrushDataUrl`` where the asset has a brush mask.
The rows are read and checked exactly as for :func:`ango_frames.imports.labels.labels_payload`;
what differs is the shape, and two rules of the import file:

* it names assets by ``externalId`` only: a row whose asset is known by ``asset_id`` alone
  (no ``external_id`` in the rows or the export's ``tasks``) is ``missing_asset_key``;
* it has no place for ``status`` / ``assignee`` (a ``ConfigError``).
"""

from __future__ import annotations

from typing import Any

from ango_frames.errors import ConfigError
from ango_frames.imports.labels import LabelBatch, build_batch, no_gc
from ango_frames.imports.options import PayloadOptions

__all__ = ["build_import_file", "import_file_items", "items_from_labels"]

#: The keys of an import-file item besides ``externalId``: an answer's parts, lifted.
ITEM_PARTS = ("objects", "classifications", "relations")
ITEM_MASKS = ("brushDataUrl", "medicalBrushDataUrl")
_LABEL_KEYS = {"externalId", "assetId", "answer", "status", "assignee"}


def build_import_file(
    data: Any,
    project: str,
    ontology: Any = None,
    options: PayloadOptions | None = None,
    **opts: Any,
) -> LabelBatch:
    """The import-file body ``{"project", "jsonContent": [items]}`` with its bookkeeping.

    A :class:`~ango_frames.imports.labels.LabelBatch` like :func:`build_labels` gives (keys
    are ``("externalId", value)``; ``labels`` are the items), for the importers' chunking,
    journal and verification.
    """
    with no_gc():
        chosen = PayloadOptions.of(options, **opts)
        return build_batch(data, project, ontology, chosen, body="import-file")


def import_file_items(
    data: Any,
    ontology: Any = None,
    options: PayloadOptions | None = None,
    **opts: Any,
) -> list[dict[str, Any]]:
    """The import-file items for these rows: one per asset.

    ``[{"externalId": ..., "objects": [...], "classifications": [...], "relations": [...],
    "brushDataUrl"?: ..., "medicalBrushDataUrl"?: ...}]``: the shape of an Ango import file,
    ready for ``json.dump`` or the official client's ``import_labels``.

    Parameters
    ----------
    data : DataFrame or export tables
        As for :func:`ango_frames.imports.labels.labels_payload`; brush masks come from
        ``brush_data_url`` / ``medical_brush_data_url`` columns (a row with a mask and no
        class is a mask only) or from an export's ``tasks`` table.
    ontology, options, **opts
        As for :func:`~ango_frames.imports.labels.labels_payload` (without ``status`` /
        ``assignee``).

    Raises
    ------
    PayloadError
        Rows that cannot be imported, as for ``labels_payload``.
    """
    return build_import_file(data, "", ontology, options, **opts).labels


def items_from_labels(labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ready spec labels (``[{"externalId", "answer"}]``) as import-file items.

    Each label's ``answer`` is lifted to the top level: ``objects``, ``classifications`` and
    ``relations`` (``[]`` where absent) and a brush mask's ``brushDataUrl`` /
    ``medicalBrushDataUrl``; the items are those :func:`import_file_items` builds from the
    frames the labels came from. Nothing is dropped: a label named by ``assetId`` only, with a
    ``status`` / ``assignee``, or with an answer key an import file has no place for is a
    ``ConfigError`` naming the label.
    """
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
                f"label {i}: body='import-file' has no place for {', '.join(dropped)}; "
                "use the default body"
            )
        answer = label.get("answer") or {}
        unknown = sorted(set(answer) - set(ITEM_PARTS) - set(ITEM_MASKS))
        unknown += sorted(set(label) - _LABEL_KEYS - set(ITEM_MASKS))
        if unknown:
            raise ConfigError(
                f"label {i}: an import-file item has no place for key(s) "
                f"{', '.join(map(repr, unknown))}; use the default body"
            )
        item: dict[str, Any] = {"externalId": label["externalId"]}
        item.update((part, answer.get(part) or []) for part in ITEM_PARTS)
        for mask in ITEM_MASKS:  # in the answer or beside it
            value = answer.get(mask, label.get(mask))
            if value is not None:
                item[mask] = value
        items.append(item)
    return items
