"""Export files in the real v3 format (docs/format.md §1-§5), built from the hub's current state.

Video tracks are stored as key frames; the full export lists every frame between two key frames
(geometry interpolated linearly, as the hub's editor does), ``includeOnlyKeyFrames=true`` lists
the key frames alone. Neither form marks which entries are key frames: the real format has no
documented marker, and a reader must not rely on one. The last frame of every track segment
carries ``interpolationStopped: true``.

Zips are deterministic: the same state and parameters give the same bytes (fixed member times).
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import orjson

from ango_frames.export.flatten.keys import GEOMETRY_KEYS as DOCUMENTED_GEOMETRY_KEYS
from ango_frames.testing.copying import tree_copy
from ango_frames.testing.query import ExportQuery, in_range
from ango_frames.testing.store import Asset, Project, Task, parse_iso

__all__ = [
    "GEOMETRY_KEYS",
    "asset_record",
    "build_zip",
    "expand_tools",
    "issue_records",
    "select_assets",
    "task_document",
]

#: The documented geometry keys, and ``spline`` (a tool the hub stores that the docs do not list).
GEOMETRY_KEYS = (*DOCUMENTED_GEOMETRY_KEYS, "spline")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _lerp(a: Any, b: Any, t: float) -> Any:
    """Interpolate two geometries of the same shape; anything else holds the first one."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return round(a + (b - a) * t, 4)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [_lerp(x, y, t) for x, y in zip(a, b, strict=True)]
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        return {k: _lerp(a[k], b[k], t) for k in a}
    return tree_copy(a)


def _geometry_key(tool: dict[str, Any]) -> str | None:
    return next((k for k in GEOMETRY_KEYS if k in tool), None)


def _track(frames: list[dict[str, Any]], key_frames_only: bool) -> list[dict[str, Any]]:
    frames = sorted(frames, key=lambda f: f["page"])
    out: list[dict[str, Any]] = []
    for i, frame in enumerate(frames):
        out.append(tree_copy(frame))
        nxt = frames[i + 1] if i + 1 < len(frames) else None
        if key_frames_only or nxt is None or frame.get("interpolationStopped"):
            continue
        key = _geometry_key(frame)
        gap = nxt["page"] - frame["page"]
        for step in range(1, gap):
            between = tree_copy(frame)
            between["page"] = frame["page"] + step
            if key is not None and key in nxt:
                between[key] = _lerp(frame[key], nxt[key], step / gap)
            out.append(between)
    out[-1]["interpolationStopped"] = True
    return out


def expand_tools(
    tools: list[dict[str, Any]], *, video: bool, key_frames_only: bool
) -> list[dict[str, Any]]:
    """The exported tool entries of an answer: per frame for video tracks, as stored otherwise.

    Tracks keep the order of their first key frame; frames of a track are in page order.
    """
    if not video:
        return tree_copy(tools)
    order: list[Any] = []
    tracks: dict[Any, list[dict[str, Any]]] = {}
    for n, tool in enumerate(tools):
        if not isinstance(tool.get("page"), int) or tool.get("objectId") is None:
            order.append(("single", n))  # not a track: exported as stored
            continue
        if tool["objectId"] not in tracks:
            tracks[tool["objectId"]] = []
            order.append(("track", tool["objectId"]))
        tracks[tool["objectId"]].append(tool)
    out: list[dict[str, Any]] = []
    for kind, key in order:
        if kind == "single":
            out.append(tree_copy(tools[key]))
        else:
            out.extend(_track(tracks[key], key_frames_only))
    return out


def _strip_metadata(items: list[dict[str, Any]], keep: bool) -> None:
    for item in items:
        if not isinstance(item, dict):
            continue
        if not keep or "segmentation" in item:
            item.pop("metadata", None)
        _strip_metadata(item.get("classifications") or [], keep)


def _answer(answer: dict[str, Any], asset: Asset, query: ExportQuery) -> dict[str, Any]:
    tools = expand_tools(
        answer["tools"], video=asset.is_video, key_frames_only=query.key_frames_only
    )
    classifications = tree_copy(answer["classifications"])
    relations = tree_copy(answer["relations"])
    _strip_metadata(tools, query.include_metadata)
    _strip_metadata(classifications, query.include_metadata)
    for relation in relations:
        relation.pop("metadata", None)
    out = {"tools": tools, "classifications": classifications, "relations": relations}
    out.update({k: answer[k] for k in ("brushDataUrl", "medicalBrushDataUrl") if k in answer})
    return out


def _absolute(url: str, base: str) -> str:
    """Asset URLs stored as paths on the hub (``/assets/...``) get the hub's base URL."""
    return base + url if url.startswith("/") else url


def asset_record(
    project: Project, asset: Asset, query: ExportQuery, asset_base: str = ""
) -> dict[str, Any]:
    """One element of the export array (docs/format.md §1.2-§1.4)."""
    task = asset.task
    stage = project.stage(task.stage_id) or {"id": task.stage_id, "name": task.stage_id}
    record: dict[str, Any] = {"asset": _absolute(asset.url, asset_base)}
    if asset.dataset:
        record["assetId"] = asset.id
        record["dataset"] = [_absolute(u, asset_base) for u in asset.dataset]
    record["externalId"] = asset.external_id
    if asset.context_data:
        record["contextData"] = tree_copy(asset.context_data)
    record["metadata"] = tree_copy(asset.metadata)
    record["batches"] = project.batch_names(asset.batches)
    body: dict[str, Any] = {
        "taskId": task.id,
        "stage": stage["name"],
        "stageId": stage["id"],
        "updatedAt": task.updated_at,
    }
    if task.updated_by is not None:
        body["updatedBy"] = task.updated_by
    body["totalDuration"] = task.total_duration
    body.update(_answer(task.answer, asset, query))
    if query.include_history:
        history = []
        for snap in task.stage_history:
            entry = {k: tree_copy(v) for k, v in snap.items() if k not in ("answer",)}
            entry.update(_answer(snap["answer"], asset, query))
            history.append(entry)
        body["stageHistory"] = history
    record["task"] = body
    return record


def task_document(project: Project, asset: Asset) -> dict[str, Any]:
    """The task as ``filters`` sees it (field names of the hub's task documents)."""
    task: Task = asset.task
    stage = project.stage(task.stage_id)
    names = project.batch_names(asset.batches)
    return {
        "_id": task.id,
        "asset": asset.id,
        "assignee": task.assignee,
        "batches": sorted(set(asset.batches) | set(names)),
        "completedAt": parse_iso(task.completed_at) if task.completed_at else None,
        "createdAt": parse_iso(task.created_at),
        "externalId": asset.external_id,
        "priority": task.priority,
        "stage": sorted({task.stage_id, stage["name"] if stage else task.stage_id}),
        "stageId": task.stage_id,
        "status": task.status,
        "updatedAt": parse_iso(task.updated_at),
    }


def select_assets(project: Project, query: ExportQuery) -> list[Asset]:
    """The assets whose task passes every filter of ``query``, in project order."""
    out: list[Asset] = []
    if query.task_types is not None and "default" not in query.task_types:
        return out  # every task of the local hub is a default task (no consensus, benchmark)
    for asset in project.assets.values():
        task = asset.task
        if query.stages is not None:
            stage = project.stage(task.stage_id)
            if not ({task.stage_id, stage["name"] if stage else ""} & query.stages):
                continue
        if query.batches is not None:
            names = set(project.batch_names(asset.batches)) | set(asset.batches)
            if not (names & query.batches):
                continue
        if query.updated_at and not in_range(parse_iso(task.updated_at), query.updated_at):
            continue
        if query.created_at and not in_range(parse_iso(task.created_at), query.created_at):
            continue
        if query.where is not None and not query.where(task_document(project, asset)):
            continue
        out.append(asset)
    return out


def issue_records(project: Project) -> list[dict[str, Any]]:
    """``type=issue``: the project's issues (docs/format.md §5.2 shape)."""
    return tree_copy(project.issues)


def _member(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)


def build_zip(
    project: Project, query: ExportQuery, split_size: int = 100, asset_base: str = ""
) -> bytes:
    """The export zip for ``query``: one ``.json`` / ``.ndjson`` member, or ``split`` parts.

    ``split`` writes ``export-part-0001.json``, ... each a JSON array of at most ``split_size``
    records (one empty array when nothing matched, so the zip is never empty).
    """
    if query.type == "issue":
        records = issue_records(project)
    else:
        records = [
            asset_record(project, a, query, asset_base) for a in select_assets(project, query)
        ]
    stem = project.id if query.type == "task" else f"{project.id}-issues"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        if query.format == "ndjson":
            lines = b"".join(orjson.dumps(r) + b"\n" for r in records)
            _member(zf, f"{stem}.ndjson", lines)
        elif query.format == "split":
            size = max(1, split_size)
            parts = [records[i : i + size] for i in range(0, len(records), size)] or [[]]
            for n, part in enumerate(parts, start=1):
                _member(zf, f"export-part-{n:04d}.json", orjson.dumps(part))
        else:
            _member(zf, f"{stem}.json", orjson.dumps(records))
    return buf.getvalue()
