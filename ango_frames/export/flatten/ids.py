"""The keys the export reader knows, per level of a record (docs/format.md §1-§5).

A key outside these sets is kept in the row's ``extra`` JSON and counted as unknown; the sets
are frozensets so that "all keys known?" is one C-level ``issuperset`` call per dict.
"""

from __future__ import annotations

from ango_frames.export.flatten.objects import GEOMETRY_KEYS

__all__ = [
    "ASSET_KEYS",
    "BARE_KEYS",
    "COMMENT_KEYS",
    "CONTAINERS",
    "GEOMETRY",
    "HISTORY_KEYS",
    "HOLDERS",
    "ISSUE_KEYS",
    "ISSUE_QUIET",
    "QUIET",
    "RELATION_SHAPE",
    "REVIEW_KEYS",
    "TASK_KEYS",
]

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
GEOMETRY = frozenset(GEOMETRY_KEYS)
RELATION_SHAPE = frozenset(("from", "to", "group"))
CONTAINERS = frozenset(("tools", "objects", "classifications", "relations"))
# keys that make a record a task (or an asset) rather than one entry of a task's lists
HOLDERS = frozenset(("tools", "objects", "relations", "taskId", "externalId", "data", "assetId"))
