"""What each endpoint of the local hub does, apart from HTTP: validate, apply, answer.

Each function takes the store and the decoded request and returns the ``data`` of the success
envelope, or raises a ``BadRequest`` / ``NotFound`` whose message becomes the fail envelope.
"""

from __future__ import annotations

from typing import Any

from ango_frames.errors import BadRequest, NotFound
from ango_frames.testing import spec
from ango_frames.testing.copying import tree_copy
from ango_frames.testing.exporter import asset_record, build_zip
from ango_frames.testing.ontology import complete_answer
from ango_frames.testing.query import ExportQuery, parse_export_query
from ango_frames.testing.sdk_compat import (
    ANNOTATE_EXTRA_PARAMS,
    BRUSH_KEYS,
    labels_from_import_file,
    task_resource,
)
from ango_frames.testing.store import HUB_USER, Asset, Project, Store, normalize_answer, now_iso

__all__ = [
    "annotate",
    "count_answer",
    "export",
    "get_project",
    "get_task",
    "import_attachments",
    "import_labels",
    "project_counts",
]

_MAX_LISTED = 5  # problems quoted in one 400 message


def _check_body(body: Any, schema_name: str) -> None:
    problems = spec.validate(body, schema_name)
    if problems:
        more = f" (and {len(problems) - _MAX_LISTED} more)" if len(problems) > _MAX_LISTED else ""
        raise BadRequest(400, f"Invalid request body: {'; '.join(problems[:_MAX_LISTED])}{more}.")


def _project(store: Store, project_id: str) -> Project:
    try:
        return store.project(project_id)
    except KeyError:
        raise BadRequest(400, f"Invalid project: {project_id}.") from None


def _check_answer(answer: dict[str, Any], where: str) -> None:
    for key in ("objects", "tools", "classifications", "relations"):
        items = answer.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            raise BadRequest(400, f"Invalid request body: {where}.{key}: expected array.")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise BadRequest(400, f"Invalid request body: {where}.{key}[{i}]: expected object.")


def _target(item: dict[str, Any], where: str) -> tuple[str | None, str | None]:
    if item.get("assetId") is None and item.get("externalId") is None:
        raise BadRequest(400, f"Invalid request body: {where}: needs assetId or externalId.")
    return item.get("assetId"), item.get("externalId")


def _apply(store: Store, project: Project, asset: Asset, answer: dict[str, Any]) -> None:
    now = now_iso()
    meta = {"createdAt": now, "createdBy": HUB_USER, "createdIn": asset.task.stage_id}
    asset.task.answer = complete_answer(
        normalize_answer(answer), project.ontology, store.new_id, meta
    )
    asset.task.updated_at = now
    asset.task.updated_by = HUB_USER
    store.applications[asset.id] += 1


def get_project(store: Store, project_id: str) -> dict[str, Any]:
    """``GET /project/{id}``: ``{"project": {...}}``."""
    try:
        return {"project": store.project(project_id).resource()}
    except KeyError:
        raise NotFound(404, f"Project not found: {project_id}.") from None


def get_task(store: Store, task_id: str, query: dict[str, list[str]]) -> dict[str, Any]:
    """``GET /v2/task/{taskId}`` (not in the spec; the official client reads it to merge)."""
    for name, values in query.items():
        if name != "includeAnswer":
            raise BadRequest(400, f"Unknown query parameter: {name}.")
        if len(values) != 1 or values[0].lower() not in ("true", "false"):
            raise BadRequest(400, "Invalid query parameter includeAnswer: use true or false.")
    with store.lock:
        try:
            project, asset = store.task(task_id)
        except KeyError:
            raise NotFound(404, f"Task not found: {task_id}.") from None
        return task_resource(project, asset)


def export(store: Store, query: dict[str, list[str]], split_size: int) -> tuple[ExportQuery, bytes]:
    """``GET /export``: the validated query and the zip bytes built from current state."""
    with store.lock:
        parsed = parse_export_query(query, set(store.projects))
        project = store.projects[parsed.project]
        return parsed, build_zip(project, parsed, split_size, store.asset_base)


def import_labels(store: Store, body: Any) -> dict[str, Any]:
    """``POST /import/labels``: each label replaces the answer of its asset(s).

    A label with ``externalId`` applies to every asset sharing it; unknown assets are skipped and
    show in the count only (``"N / M tasks are labeled."``). The spec's ``{project, labels}`` and
    the official client's ``{project, jsonContent}`` (import-file items) are applied alike.
    """
    if isinstance(body, dict) and "jsonContent" in body:  # the official client's body
        if "labels" in body:
            raise BadRequest(400, "Invalid request body: send labels or jsonContent, not both.")
        body = {k: v for k, v in body.items() if k != "jsonContent"} | {
            "labels": labels_from_import_file(body["jsonContent"])
        }
    _check_body(body, "ImportLabelsRequest")
    with store.lock:
        project = _project(store, body["project"])
        targets = []
        for i, label in enumerate(body["labels"]):
            targets.append(_target(label, f"labels[{i}]"))
            _check_answer(label["answer"], f"labels[{i}].answer")
        labeled = 0
        for label, (asset_id, external_id) in zip(body["labels"], targets, strict=True):
            for asset in store.find_assets(project, asset_id, external_id):
                _apply(store, project, asset, label["answer"])
                if label.get("status") is not None:
                    asset.task.status = label["status"]
                if label.get("assignee") is not None:
                    asset.task.assignee = label["assignee"]
                labeled += 1
    return {"project": f"{labeled} / {len(body['labels'])} tasks are labeled."}


def import_attachments(store: Store, body: Any) -> dict[str, Any]:
    """``POST /attachments``: attach each item to its asset(s)."""
    _check_body(body, "ImportAttachmentsRequest")
    with store.lock:
        project = _project(store, body["project"])
        targets = [_target(a, f"attachments[{i}]") for i, a in enumerate(body["attachments"])]
        imported, updated = 0, set()
        for item, (asset_id, external_id) in zip(body["attachments"], targets, strict=True):
            assets = store.find_assets(project, asset_id, external_id)
            for asset in assets:
                entry = {"attachmentUrl": item["attachmentUrl"]}
                if item.get("attachmentType") is not None:
                    entry["attachmentType"] = item["attachmentType"]
                asset.attachments.append(entry)
                updated.add(asset.id)
            imported += bool(assets)
    return {"project": {"attachmentsImported": imported, "assetsUpdated": len(updated)}}


def _label_task(project: Project, asset: Asset) -> dict[str, Any]:
    task = asset.task
    label: dict[str, Any] = {
        "_id": task.id,
        "project": project.id,
        "asset": asset.id,
        "stage": task.stage_id,
        "status": task.status or ("Completed" if task.completed_at else "Todo"),
        "externalId": asset.external_id,
        "batches": list(asset.batches),
        "priority": task.priority,
        "answer": tree_copy(task.answer),
        "createdAt": task.created_at,
        "duration": task.total_duration / 1000,  # the spec's LabelTask.duration is in seconds
    }
    if task.assignee is not None:
        label["assignee"] = task.assignee
    if task.completed_at is not None:
        label["completedAt"] = task.completed_at
    return label


def annotate(store: Store, task_id: str, query: dict[str, list[str]], body: Any) -> dict[str, Any]:
    """``POST /annotate/{taskId}``: replace the task's answer; ``{"label": LabelTask}``.

    Accepts ``isPlugin`` (the spec) and ``nextStage`` (sent by the official SDK: moves the task
    on, recording a stage-history snapshot).
    """
    params = dict(spec.query_parameters("annotateTask"))
    for extra in ANNOTATE_EXTRA_PARAMS:  # sent by the official client, a boolean like isPlugin
        params[extra] = params["isPlugin"]
    for name, values in query.items():
        if name not in params:
            raise BadRequest(400, f"Unknown query parameter: {name}.")
        problems = spec.validate(values[-1], params[name]["schema"], name)
        if len(values) != 1 or problems:
            raise BadRequest(400, f"Invalid query parameter {name}: use one of true, false.")
    with store.lock:
        try:
            project, asset = store.task(task_id)
        except KeyError:
            raise NotFound(404, f"Task not found: {task_id}.") from None
        _check_body(body, "AnnotateRequest")
        _check_answer(body["answer"], "answer")
        answer = dict(body["answer"])
        answer.update({k: body[k] for k in BRUSH_KEYS if isinstance(body.get(k), str)})
        _apply(store, project, asset, answer)
        if query.get("nextStage") == ["true"]:
            _next_stage(project, asset)
        return {"label": _label_task(project, asset)}


def _next_stage(project: Project, asset: Asset) -> None:
    task = asset.task
    stage = project.stage(task.stage_id)
    if not stage or not stage.get("next"):
        return
    now = now_iso()
    task.stage_history.append(
        {
            "stage": stage["name"],
            "stageId": stage["id"],
            "duration": 0,
            "completedAt": now,
            "completedBy": HUB_USER,
            "answer": tree_copy(task.answer),
        }
    )
    task.stage_id = stage["next"][0]
    target = project.stage(task.stage_id)
    if target and target.get("type") == "complete":
        task.completed_at = now


def count_answer(record: dict[str, Any]) -> dict[str, int]:
    """Objects, classification answer values (nested included) and relations of one record."""
    task = record["task"]

    def values(items: list[Any]) -> int:
        n = 0
        for item in items:
            answer = item.get("answer")
            if isinstance(answer, list):
                n += len(answer)
            elif answer is not None:
                n += 1
            n += values(item.get("classifications") or [])
        return n

    tools = task["tools"]
    nested = sum(values(t.get("classifications") or []) for t in tools)
    return {
        "objects": len(tools),
        "answers": values(task["classifications"]) + nested,
        "relations": len(task["relations"]),
    }


def project_counts(store: Store, project_id: str) -> dict[str, int]:
    """Totals over every task of a project, as a full export (all frames) would show them."""
    with store.lock:
        project = store.project(project_id)
        query = ExportQuery(project=project_id)
        totals = {"tasks": 0, "objects": 0, "answers": 0, "relations": 0}
        for asset in project.assets.values():
            totals["tasks"] += 1
            for key, n in count_answer(asset_record(project, asset, query)).items():
                totals[key] += n
        return totals
