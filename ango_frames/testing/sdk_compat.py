"""What the official Python SDK (``imerit-ango``) sends beyond the OpenAPI spec, in one place.

The local hub refuses unknown query parameters and malformed bodies, so that a client bug is a
clear 400. The official client sends a few things the spec does not describe; the hub accepts
exactly these (and the README lists them):

* ``GET /export?taskTypes=["default"]``: every ``ExportOptions`` sends it. The demo's tasks are
  all default tasks; a list without ``"default"`` exports none of them.
* ``POST /annotate/{taskId}?nextStage=true|false``: ``annotate_task(send_to_next_stage=...)``;
  the task moves on to its stage's next stage. The body may carry ``brushDataUrl``,
  ``medicalBrushDataUrl`` and ``duration`` beside ``answer``.
* ``POST /import/labels`` with ``{"project", "jsonContent": [items]}``: the import-file items of
  the UI's JSON import (``externalId``, ``objects``, ``classifications``, ``relations``,
  ``brushDataUrl``, ``medicalBrushDataUrl`` at the top level), applied like the spec's
  ``labels[].answer``.
* ``GET /v2/task/{taskId}?includeAnswer=...``: what ``annotate_task(overwrite=False)`` reads to
  merge, ``{"task": {..., "answer": {tools, classifications, relations}}}``.
"""

from __future__ import annotations

import json
from typing import Any

from ango_frames.errors import BadRequest
from ango_frames.testing.copying import tree_copy
from ango_frames.testing.store import Asset, Project

__all__ = [
    "ANNOTATE_EXTRA_PARAMS",
    "BRUSH_KEYS",
    "EXPORT_EXTRA_PARAMS",
    "TASK_TYPES",
    "labels_from_import_file",
    "parse_task_types",
    "task_resource",
]

#: Query parameters of ``GET /export`` that the official client sends and the spec does not list.
EXPORT_EXTRA_PARAMS = ("taskTypes",)
#: Query parameters of ``POST /annotate/{taskId}`` that the official client sends.
ANNOTATE_EXTRA_PARAMS = ("nextStage",)
#: The SDK's ``TaskTypes``; every task the local hub holds is a ``default`` task.
TASK_TYPES = ("default", "consensus", "benchmark")
#: Mask URLs that live beside ``objects`` (import file, annotate body) and in ``task`` (exports).
BRUSH_KEYS = ("brushDataUrl", "medicalBrushDataUrl")
_ITEM_ANSWER_KEYS = ("objects", "classifications", "relations", *BRUSH_KEYS)
_ITEM_KEYS = {"externalId", "assetId", *_ITEM_ANSWER_KEYS}


def parse_task_types(text: str) -> frozenset[str]:
    """``taskTypes``: a JSON array of the SDK's task types."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(400, f"Invalid taskTypes: not valid JSON ({exc.msg}).") from None
    if not isinstance(value, list) or not all(v in TASK_TYPES for v in value):
        allowed = ", ".join(TASK_TYPES)
        raise BadRequest(400, f"Invalid taskTypes: expected a JSON array of {allowed}.")
    return frozenset(value)


def labels_from_import_file(items: Any) -> list[dict[str, Any]]:
    """``jsonContent`` import-file items as the spec's ``labels`` (``{assetId?, externalId?,
    answer}``), so that both bodies are applied by one code path."""
    if not isinstance(items, list):
        raise BadRequest(400, "Invalid request body: jsonContent: expected array.")
    labels = []
    for i, item in enumerate(items):
        where = f"jsonContent[{i}]"
        if not isinstance(item, dict):
            raise BadRequest(400, f"Invalid request body: {where}: expected object.")
        unknown = sorted(set(item) - _ITEM_KEYS)
        if unknown:
            raise BadRequest(400, f"Invalid request body: {where}: unknown key(s) {unknown}.")
        for key in ("externalId", "assetId", *BRUSH_KEYS):
            if item.get(key) is not None and not isinstance(item[key], str):
                raise BadRequest(400, f"Invalid request body: {where}.{key}: expected string.")
        label: dict[str, Any] = {k: item[k] for k in ("assetId", "externalId") if k in item}
        label["answer"] = {k: item[k] for k in _ITEM_ANSWER_KEYS if k in item}
        labels.append(label)
    return labels


def task_resource(project: Project, asset: Asset) -> dict[str, Any]:
    """``GET /v2/task/{taskId}``'s ``data``: the task as the official client reads it."""
    task = asset.task
    stage = project.stage(task.stage_id) or {"id": task.stage_id, "name": task.stage_id}
    answer = {k: tree_copy(task.answer.get(k, [])) for k in ("tools", "classifications")}
    answer["relations"] = tree_copy(task.answer.get("relations", []))
    body: dict[str, Any] = {
        "_id": task.id,
        "project": project.id,
        "asset": asset.id,
        "externalId": asset.external_id,
        "data": asset.url,
        "stage": stage["id"],
        "stageName": stage["name"],
        "status": task.status or ("Completed" if task.completed_at else "Todo"),
        "taskType": "default",
        "createdAt": task.created_at,
        "updatedAt": task.updated_at,
        "answer": answer,
    }
    for key in BRUSH_KEYS:
        if task.answer.get(key) is not None:
            body[key] = task.answer[key]
    return {"task": body}
