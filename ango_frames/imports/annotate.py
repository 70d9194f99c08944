"""DataFrames -> one ``POST /annotate/{taskId}`` body (AnnotateRequest) per task.

Same column conventions as :mod:`ango_frames.imports.labels`, keyed by ``task_id`` instead of the
asset: every row (objects, and the ``classifications=`` / ``relations=`` rows) needs a
``task_id``. A task's brush masks (``brush_data_url`` / ``medical_brush_data_url`` columns) go
beside the answer as ``brushDataUrl`` / ``medicalBrushDataUrl``, as the official client sends them.
"""

from __future__ import annotations

from typing import Any

from ango_frames.imports.labels import LabelBatch, build_batch, no_gc
from ango_frames.imports.options import PayloadOptions

__all__ = ["annotate_payloads", "build_annotations"]


def build_annotations(
    data: Any, ontology: Any = None, options: PayloadOptions | None = None, **opts: Any
) -> LabelBatch:
    """The annotate bodies with their bookkeeping (a :class:`LabelBatch` keyed by ``taskId``).

    ``body`` is ``{task_id: {"answer": {...}}}``; ``keys`` are ``("taskId", task_id)``.
    Options are those of :func:`ango_frames.imports.labels.build_labels` except ``status`` /
    ``assignee`` (the endpoint has no place for them).
    """
    unknown = {"status", "assignee"} & set(opts)
    if unknown:
        raise TypeError(f"unexpected option(s): {', '.join(sorted(unknown))}")
    chosen = PayloadOptions.of(options, **opts)
    with no_gc():
        batch = build_batch(data, "", ontology, chosen, by="task", body="annotate")
    batch.body = {label.pop("taskId"): label for label in batch.body["labels"]}
    return batch


def annotate_payloads(
    data: Any, ontology: Any = None, options: PayloadOptions | None = None, **opts: Any
) -> dict[str, dict[str, Any]]:
    """One AnnotateRequest ``{"answer": {"objects", "classifications", "relations"}}`` per task
    (plus ``brushDataUrl`` / ``medicalBrushDataUrl`` where a task has a mask).

    Parameters
    ----------
    data : DataFrame or export tables
        Rows with a ``task_id`` column (plus the columns of :mod:`ango_frames.imports.labels`).
    ontology : dict or Ontology, optional
        As for :func:`ango_frames.imports.labels.labels_payload`.
    options, **opts
        A :class:`~ango_frames.imports.options.PayloadOptions`, or its fields as keywords
        (without ``status`` / ``assignee``).

    Returns
    -------
    dict
        task_id -> request body.
    """
    return build_annotations(data, ontology, options, **opts).body
