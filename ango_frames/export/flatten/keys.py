"""Every key the export reader knows, per level of a record (docs/format.md §1-§5), and the one
keep-unknown helper.

A key outside these sets is kept in the row's ``extra`` JSON and counted as unknown
(:func:`keep_unknown`); the sets are frozensets so that "all keys known?" is one C-level
``issuperset`` call per dict, which callers make before calling the helper.
"""

from __future__ import annotations

from collections import Counter

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
# keys of an entry that are not geometry
OBJECT_KEYS = frozenset(
    (
        "objectId",
        "schemaId",
        "title",
        "classifications",
        "page",
        "interpolationStopped",
        "medical-brush",
        "lock",
        "metadata",
        "isKeyFrame",
        "keyFrame",
        "keyframe",
        "ocr",
    )
)
OBJECT_QUIET = frozenset(("masks",))  # legacy mask URLs: kept in `extra`, not warned about
KEY_FRAME_KEYS = frozenset(("isKeyFrame", "keyFrame", "keyframe"))
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
CLASSIFICATION_KEYS = frozenset(
    (
        "objectId",
        "schemaId",
        "title",
        "tool",
        "answer",
        "classifications",
        "page",
        "interpolationStopped",
        "columnField",
        "lock",
        "metadata",
    )
)
RELATION_KEYS = frozenset(
    (
        "objectId",
        "schemaId",
        "title",
        "from",
        "to",
        "direction",
        "group",
        "page",
        "metadata",
        "classifications",
    )
)
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
TASK_KEYS = frozenset(
    (
        "taskId",
        "stage",
        "stageId",
        "updatedAt",
        "updatedBy",
        "tools",
        "objects",
        "classifications",
        "relations",
        "brushDataUrl",
        "medicalBrushDataUrl",
        "stageHistory",
        "totalDuration",
        "consensusAverage",
        "consensusDetailed",
        "status",
        "completedAt",
        "completedBy",
        "duration(ms)",
        "duration",
        "isSkipped",
        "review",
        "isBenchmark",
        "benchmark",
        "issues",
    )
)
BARE_KEYS = ASSET_KEYS | TASK_KEYS
QUIET = frozenset(("issues",))  # known, kept in `extra` as JSON, not warned about
REVIEW_KEYS = frozenset(("status", "completedBy", "completedAt", "duration(ms)", "duration"))
REVIEW_QUIET = frozenset(("isSkipped",))  # documented (NRRD sample), no column of its own
HISTORY_KEYS = frozenset(
    (
        "stage",
        "stageId",
        "duration",
        "duration(ms)",
        "completedAt",
        "completedBy",
        "tools",
        "objects",
        "classifications",
        "relations",
        "brushDataUrl",
        "medicalBrushDataUrl",
        "reviewStatus",
    )
)
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
RELATION_SHAPE = frozenset(("from", "to", "group"))
CONTAINERS = frozenset(("tools", "objects", "classifications", "relations"))
# keys that make a record a task (or an asset) rather than one entry of a task's lists
HOLDERS = frozenset(("tools", "objects", "relations", "taskId", "externalId", "data", "assetId"))
