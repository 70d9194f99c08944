"""DataFrames -> one ``POST /annotate/{taskId}`` body (AnnotateRequest) per task.

Same column conventions as :mod:`ango_frames.imports.labels`, keyed by ``task_id`` instead of the
asset: every row (objects, and the ``classifications=`` / ``relations=`` rows) needs a ``task_id``.
"""

from __future__ import annotations

from typing import Any

from ango_frames.imports.labels import LabelBatch, _build, _no_gc

__all__ = ["annotate_payloads", "build_annotations"]


def build_annotations(data: Any, ontology: Any = None, **options: Any) -> LabelBatch:
    """The annotate bodies with their bookkeeping (a :class:`LabelBatch` keyed by ``taskId``).

    ``body`` is ``{task_id: {"answer": {...}}}``; ``keys`` are ``("taskId", task_id)``. Options are
    those of :func:`ango_frames.imports.labels.build_labels` except ``status`` / ``assignee``.
    """
    opts: dict[str, Any] = {
        "box_format": "xywh",
        "normalized": False,
        "sizes": None,
        "nested": None,
        "classifications": None,
        "relations": None,
        "on_error": "raise",
    }
    unknown = set(options) - set(opts)
    if unknown:
        raise TypeError(f"unexpected option(s): {', '.join(sorted(unknown))}")
    opts.update(options)
    with _no_gc():
        batch = _build(data, "", ontology, by="task", extra={}, **opts)
    batch.body = {label["taskId"]: {"answer": label["answer"]} for label in batch.body["labels"]}
    return batch


def annotate_payloads(data: Any, ontology: Any = None, **options: Any) -> dict[str, dict[str, Any]]:
    """One AnnotateRequest ``{"answer": {"objects", "classifications", "relations"}}`` per task.

    Parameters
    ----------
    data : DataFrame or export tables
        Rows with a ``task_id`` column (plus the columns of :mod:`ango_frames.imports.labels`).
    ontology : dict or Ontology, optional
        As for :func:`ango_frames.imports.labels.labels_payload`.
    **options
        ``box_format``, ``normalized``, ``sizes``, ``nested``, ``classifications``,
        ``relations``, ``on_error``: as for :func:`ango_frames.imports.labels.labels_payload`.

    Returns
    -------
    dict
        task_id -> request body.
    """
    return build_annotations(data, ontology, **options).body
