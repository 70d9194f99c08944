"""Every key the export reader knows, per level of a record (docs/format.md §1-§5), and the one
keep-unknown helper.

A key outside these sets is kept in the row's ``extra`` JSON and counted as unknown
(:func:`keep_unknown`); the sets are frozensets so that "all keys known?" is one C-level
``issuperset`` call per dict, which callers make before calling the helper.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

__all__ = [
    "ASSET_KEYS",
    "AUDIT_KEYS",
    "BARE_KEYS",
    "BOX3D_KEYS",
    "BOX_KEYS",
    "CLASSIFICATION_KEYS",
    "COMMENT_KEYS",
    "CONTAINERS",
    "CONTENT_KEYS",
    "FLAT_PDF_KEYS",
    "GEOMETRY",
    "GEOMETRY_KEYS",
    "HISTORY_KEYS",
    "HOLDERS",
    "ISSUE_ASSET_KEYS",
    "ISSUE_KEYS",
    "ISSUE_QUIET",
    "KEY_FRAME_KEYS",
    "NER_KEYS",
    "OBJECT_KEYS",
    "OBJECT_QUIET",
    "OCR_KEYS",
    "PDF_KEYS",
    "POSITION_KEYS",
    "QUIET",
    "RBOX_KEYS",
    "RECT_KEYS",
    "RELATION_KEYS",
    "RELATION_SHAPE",
    "REVIEW_KEYS",
    "REVIEW_QUIET",
    "SEGMENTATION_KEYS",
    "TASK_KEYS",
    "ZONE_KEYS",
    "keep_unknown",
    "known_dicts",
]


def keep_unknown(
    d: dict,
    known: frozenset,
    extra: dict | None,
    unknown: Counter,
    count_as: str,
    kept_as: str = "",
    quiet: frozenset = frozenset(),
) -> dict | None:
    """Keep every key of ``d`` outside ``known`` in ``extra`` (as ``kept_as + key``) and count
    it in ``unknown`` (as ``count_as + key``) unless it is ``quiet``; returns ``extra``."""
    for key in d:
        if key not in known:
            if extra is None:
                extra = {}
            extra[kept_as + key] = d[key]
            if key not in quiet:
                unknown[count_as + key] += 1
    return extra


def known_dicts(value: Any, known: frozenset) -> list | None:
    """``value`` when it is a list of dicts that hold only ``known`` keys, else None (a list
    kept raw by the caller: comments, segmentation zones, PDF rects)."""
    if type(value) is not list:
        return None
    for d in value:
        if type(d) is not dict or not known.issuperset(d):
            return None
    return value


# --- tool entries (docs/format.md §2) ----------------------------------------------------------
GEOMETRY_KEYS = (
    "bounding-box",
    "rotated-bounding-box",
    "polygon",
    "polyline",
    "point",
    "segmentation",
    "ner",
    "pdf",
)
# every entry of a task's lists (tools, classifications, relations): its id, class, page, nested
# answers and annotation metadata
_ENTRY_KEYS = frozenset(("objectId", "schemaId", "title", "page", "classifications", "metadata"))
KEY_FRAME_KEYS = frozenset(("isKeyFrame", "keyFrame", "keyframe"))
# keys of a tool entry that are not geometry
OBJECT_KEYS = (
    _ENTRY_KEYS | KEY_FRAME_KEYS | {"interpolationStopped", "medical-brush", "lock", "ocr"}
)
OBJECT_QUIET = frozenset(("masks",))  # legacy mask URLs: kept in `extra`, not warned about
OCR_KEYS = frozenset(("text", "confidence"))
# inside a geometry
BOX_KEYS = frozenset(("x", "y", "width", "height", "objectId"))
RBOX_KEYS = BOX_KEYS | {"rotation", "corners"}
BOX3D_KEYS = frozenset(("x1", "y1", "z1", "x2", "y2", "z2", "objectId"))
NER_KEYS = frozenset(("start", "end", "selection", "objectId"))
FLAT_PDF_KEYS = frozenset(
    ("x1", "y1", "x2", "y2", "width", "height", "pageNumber", "text", "image", "objectId")
)
PDF_KEYS = frozenset(("position", "content", "objectId"))
POSITION_KEYS = frozenset(("boundingRect", "rects", "pageNumber"))
RECT_KEYS = ("x1", "y1", "x2", "y2", "width", "height")
CONTENT_KEYS = frozenset(("text", "image"))
SEGMENTATION_KEYS = frozenset(("zones",))
ZONE_KEYS = frozenset(("region", "holes"))

# --- classifications, relations (§3, §4), annotation metadata (§1.5) ---------------------------
CLASSIFICATION_KEYS = _ENTRY_KEYS | {
    "tool",
    "answer",
    "interpolationStopped",
    "columnField",
    "lock",
}
RELATION_SHAPE = frozenset(("from", "to", "group"))
RELATION_KEYS = _ENTRY_KEYS | RELATION_SHAPE | {"direction"}
AUDIT_KEYS = frozenset(
    ("createdAt", "createdBy", "createdIn", "updatedAt", "updatedBy", "updatedIn", "description")
)

# --- assets, tasks, history, issues (§1, §5) ------------------------------------------------

ASSET_KEYS = frozenset(
    (
        "asset",
        "assetId",
        "dataset",
        "externalId",
        "metadata",
        "batches",
        "contextData",
        "task",
        "tasks",
        "data",
        "labeledAt",
        "reviewedAt",
        "status",
        "labelDuration(ms)",
        "labelDuration",
        "consensus",
    )
)
CONTAINERS = frozenset(("tools", "objects", "classifications", "relations"))
# what a task, or one snapshot of its stage history, holds: its stage, who finished it and how
# long it took, and its answer
_STAGE_KEYS = frozenset(("stage", "stageId"))
_DONE_KEYS = frozenset(("completedAt", "completedBy", "duration", "duration(ms)"))
_ANSWER_KEYS = CONTAINERS | {"brushDataUrl", "medicalBrushDataUrl"}
REVIEW_KEYS = _DONE_KEYS | {"status"}
TASK_KEYS = (
    _STAGE_KEYS
    | REVIEW_KEYS  # legacy (v2) tasks carry their review at the top
    | _ANSWER_KEYS
    | {
        "taskId",
        "updatedAt",
        "updatedBy",
        "stageHistory",
        "totalDuration",
        "consensusAverage",
        "consensusDetailed",
        "isSkipped",
        "review",
        "isBenchmark",
        "benchmark",
        "issues",
    }
)
HISTORY_KEYS = _STAGE_KEYS | _DONE_KEYS | _ANSWER_KEYS | {"reviewStatus"}
BARE_KEYS = ASSET_KEYS | TASK_KEYS
QUIET = frozenset(("issues",))  # known, kept in `extra` as JSON, not warned about
REVIEW_QUIET = frozenset(("isSkipped",))  # documented (NRRD sample), no column of its own
ISSUE_KEYS = frozenset(
    (
        "_id",
        "labelTask",
        "asset",
        "stage",
        "stageId",
        "status",
        "title",
        "content",
        "objectId",
        "page",
        "pageEnd",
        "position",
        "errorType",
        "errorCode",
        "createdBy",
        "createdAt",
        "updatedBy",
        "updatedAt",
        "resolvedBy",
        "resolvedAt",
        "comments",
    )
)
ISSUE_QUIET = frozenset(
    ("project", "assignee", "points", "contentMentions", "errorCodes", "pctDetails", "__v")
)
COMMENT_KEYS = frozenset(("createdBy", "content", "createdAt"))
ISSUE_ASSET_KEYS = frozenset(("externalId", "batches"))
GEOMETRY = frozenset(GEOMETRY_KEYS)
# keys that make a record a task (or an asset) rather than one entry of a task's lists
HOLDERS = frozenset(("tools", "objects", "relations", "taskId", "externalId", "data", "assetId"))
