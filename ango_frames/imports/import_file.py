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

from ango_frames.imports.labels import LabelBatch, build_batch, no_gc
from ango_frames.imports.options import PayloadOptions

__all__ = ["build_import_file", "import_file_items"]


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
