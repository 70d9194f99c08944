"""Arrow schemas of the tidy export tables: the public contract, defined once.

Every table, its columns and their types live here; the flattener fills them, the Parquet writer
stores them, pandas dtypes are derived from them, the payload builders read them back, and the
README documents them. Bump ``SCHEMA_VERSION`` on any change that is not purely additive.

Join keys: ``task_id`` links every table to ``tasks``; ``object_id`` links ``classifications``
(nested answers) and ``relations`` (``from_object_id`` / ``to_object_id`` / ``group_object_ids``)
to ``objects``; ``classification_id`` / ``parent_id`` link nested classifications to their
parent; ``(task_id, history_order)`` links the ``history_*`` tables to ``stage_history``.

The ``tasks`` table also grows one column per asset ``metadata`` key (``metadata_<key>``) and per
``contextData`` key (``context_<key>``); their types are inferred from the data (see
``dynamic_field``). Every table has an ``extra`` column: the JSON text of the keys the reader does
not know, so that nothing in an export is dropped.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = [
    "SCHEMAS",
    "SCHEMA_VERSION",
    "TABLE_NAMES",
    "TIMESTAMP",
    "dynamic_field",
    "schema_for",
]

SCHEMA_VERSION = "1"

TIMESTAMP = pa.timestamp("ms", tz="UTC")
POINT = pa.list_(pa.float64())  # [x, y]
RING = pa.list_(POINT)  # [[x, y], ...]

_AUDIT = [  # annotation metadata (docs/format.md §1.5), present with includeMetadata
    pa.field("created_at", TIMESTAMP),
    pa.field("created_by", pa.string()),
    pa.field("created_in", pa.string()),
    pa.field("updated_at", TIMESTAMP),
    pa.field("updated_by", pa.string()),
    pa.field("updated_in", pa.string()),
    pa.field("description", pa.string()),  # the annotation's metadata.description
]

TASKS = pa.schema(
    [
        pa.field("task_id", pa.string()),
        pa.field("asset_id", pa.string()),
        pa.field("external_id", pa.string()),
        pa.field("asset", pa.string()),  # asset URL (page 0 of a multi-page asset)
        pa.field("dataset", pa.list_(pa.string())),  # every page URL of a multi-page asset
        pa.field("stage", pa.string()),
        pa.field("stage_id", pa.string()),
        pa.field("batches", pa.list_(pa.string())),
        pa.field("updated_at", TIMESTAMP),
        pa.field("updated_by", pa.string()),
        pa.field("total_duration_ms", pa.int64()),
        pa.field("consensus_average", pa.float64()),
        pa.field("consensus_detailed", pa.string()),  # JSON text: element shape undocumented
        pa.field("brush_data_url", pa.string()),
        pa.field("medical_brush_data_url", pa.string()),
        # legacy (v2) exports: one row per element of the asset's `tasks` array
        pa.field("task_index", pa.int32()),  # position in the legacy `tasks` array; 0 for v3
        pa.field("status", pa.string()),
        pa.field("completed_at", TIMESTAMP),
        pa.field("completed_by", pa.string()),
        pa.field("duration_ms", pa.int64()),
        pa.field("is_skipped", pa.bool_()),
        pa.field("is_benchmark", pa.bool_()),
        pa.field("benchmark", pa.string()),
        pa.field("review_status", pa.string()),
        pa.field("review_completed_at", TIMESTAMP),
        pa.field("review_completed_by", pa.string()),
        pa.field("review_duration_ms", pa.int64()),
        pa.field("labeled_at", TIMESTAMP),
        pa.field("reviewed_at", TIMESTAMP),
        pa.field("extra", pa.string()),
    ]
)

OBJECTS = pa.schema(
    [
        pa.field("task_id", pa.string()),
        pa.field("object_id", pa.string()),
        pa.field("schema_id", pa.string()),
        pa.field("title", pa.string()),
        # the geometry key (bounding-box, polygon, ner, pdf, ...), or bounding-box-3d / line-3d
        pa.field("tool", pa.string()),
        pa.field("page", pa.int32()),  # 0-based frame / page; null for single-page assets
        pa.field("interpolation_stopped", pa.bool_()),
        pa.field("key_frame", pa.bool_()),  # null where the export does not mark key frames
        pa.field("medical_brush", pa.bool_()),
        # boxes: top-left origin, positive size, pixels; rotated boxes add rotation / corners
        pa.field("x", pa.float64()),
        pa.field("y", pa.float64()),
        pa.field("width", pa.float64()),
        pa.field("height", pa.float64()),
        pa.field("origin_x", pa.float64()),  # the raw first-clicked corner, as exported
        pa.field("origin_y", pa.float64()),
        pa.field("rotation", pa.float64()),  # degrees
        pa.field("corners", RING),
        # polygon / polyline vertices, and [[x, y]] for a point (whose x / y are also set)
        pa.field("points", RING),
        # segmentation: zones, each one region ring and its hole rings
        pa.field(
            "zones",
            pa.list_(pa.struct([pa.field("region", RING), pa.field("holes", pa.list_(RING))])),
        ),
        # NER: character offsets on text, seconds on audio
        pa.field("start", pa.float64()),
        pa.field("end", pa.float64()),
        pa.field("selection", pa.string()),
        # PDF areas: page number as exported (1-based), union rect, per-token rects, content
        pa.field("pdf_page", pa.int32()),
        pa.field("pdf_x1", pa.float64()),
        pa.field("pdf_y1", pa.float64()),
        pa.field("pdf_x2", pa.float64()),
        pa.field("pdf_y2", pa.float64()),
        pa.field("pdf_page_width", pa.float64()),
        pa.field("pdf_page_height", pa.float64()),
        pa.field(
            "pdf_rects",
            pa.list_(
                pa.struct(
                    [
                        pa.field(name, pa.float64())
                        for name in ("x1", "y1", "x2", "y2", "width", "height")
                    ]
                )
            ),
        ),
        pa.field("pdf_text", pa.string()),
        pa.field("pdf_image", pa.string()),  # base64 PNG, only with "B-Box Image Content"
        # 3D boxes (medical): z of the min corner, positive depth, the raw first corner's z
        pa.field("z", pa.float64()),
        pa.field("depth", pa.float64()),
        pa.field("origin_z", pa.float64()),
        pa.field("lock", pa.bool_()),
        pa.field("ocr_text", pa.string()),  # OCR text of the tool (tools[].ocr)
        pa.field("ocr_confidence", pa.float64()),
        *_AUDIT,
        pa.field("extra", pa.string()),
    ]
)

CLASSIFICATIONS = pa.schema(
    [
        pa.field("task_id", pa.string()),
        pa.field("object_id", pa.string()),  # owning object; null for global classifications
        pa.field("classification_id", pa.string()),
        pa.field("parent_id", pa.string()),  # classification_id of the parent classification
        pa.field("schema_id", pa.string()),
        pa.field("title", pa.string()),
        pa.field("type", pa.string()),  # radio, checkbox, text, single-dropdown, tree-dropdown, ...
        pa.field("answer", pa.string()),  # one row per value; non-strings as JSON text
        pa.field("answer_index", pa.int32()),  # position in a list answer; null for scalars
        pa.field("answer_is_list", pa.bool_()),  # the export gave a list (even of one)
        pa.field("answer_is_json", pa.bool_()),  # `answer` is the JSON text of a non-string
        pa.field("answer_path", pa.list_(pa.string())),  # tree-dropdown path split into levels
        pa.field("page", pa.int32()),
        pa.field("interpolation_stopped", pa.bool_()),
        pa.field("column_field", pa.bool_()),
        pa.field("lock", pa.bool_()),
        *_AUDIT,
        pa.field("extra", pa.string()),
    ]
)

RELATIONS = pa.schema(
    [
        pa.field("task_id", pa.string()),
        pa.field("relation_id", pa.string()),
        pa.field("schema_id", pa.string()),
        pa.field("title", pa.string()),
        pa.field("kind", pa.string()),  # "single" or "group"
        pa.field("from_object_id", pa.string()),
        pa.field("to_object_id", pa.string()),
        pa.field("direction", pa.string()),  # straight, reverse, bidirectional
        pa.field("group_object_ids", pa.list_(pa.string())),
        pa.field("page", pa.int32()),
        *_AUDIT,
        pa.field("extra", pa.string()),
    ]
)

STAGE_HISTORY = pa.schema(
    [
        pa.field("task_id", pa.string()),
        pa.field("history_order", pa.int32()),  # 0 = first stage left
        pa.field("stage", pa.string()),
        pa.field("stage_id", pa.string()),
        pa.field("duration_ms", pa.int64()),
        pa.field("completed_at", TIMESTAMP),
        pa.field("completed_by", pa.string()),
        pa.field("brush_data_url", pa.string()),
        pa.field("medical_brush_data_url", pa.string()),
        pa.field("review_status", pa.string()),  # stageHistory[].reviewStatus
        pa.field("extra", pa.string()),
    ]
)

ISSUES = pa.schema(
    [
        pa.field("issue_id", pa.string()),
        pa.field("task_id", pa.string()),  # the issue's labelTask
        pa.field("external_id", pa.string()),
        pa.field("batches", pa.list_(pa.string())),
        pa.field("stage", pa.string()),
        pa.field("stage_id", pa.string()),
        pa.field("status", pa.string()),
        pa.field("title", pa.string()),
        pa.field("content", pa.string()),
        pa.field("object_id", pa.string()),
        pa.field("page", pa.int32()),
        pa.field("page_end", pa.int32()),
        pa.field("position", pa.string()),  # as exported, e.g. "[412.5, 96.0]"
        pa.field("position_values", pa.list_(pa.float64())),  # the same, parsed
        pa.field("error_type", pa.string()),
        pa.field("error_code", pa.string()),
        pa.field("created_by", pa.string()),
        pa.field("created_at", TIMESTAMP),
        pa.field("updated_by", pa.string()),
        pa.field("updated_at", TIMESTAMP),
        pa.field("resolved_by", pa.string()),
        pa.field("resolved_at", TIMESTAMP),
        pa.field(
            "comments",
            pa.list_(
                pa.struct(
                    [
                        pa.field("created_by", pa.string()),
                        pa.field("content", pa.string()),
                        pa.field("created_at", TIMESTAMP),
                    ]
                )
            ),
        ),
        pa.field("extra", pa.string()),
    ]
)


def _history(schema: pa.Schema) -> pa.Schema:
    """The same table for stage-history snapshots: ``history_order`` after ``task_id``."""
    return schema.insert(1, pa.field("history_order", pa.int32()))


SCHEMAS: dict[str, pa.Schema] = {
    "tasks": TASKS,
    "objects": OBJECTS,
    "classifications": CLASSIFICATIONS,
    "relations": RELATIONS,
    "stage_history": STAGE_HISTORY,
    "history_objects": _history(OBJECTS),
    "history_classifications": _history(CLASSIFICATIONS),
    "history_relations": _history(RELATIONS),
    "issues": ISSUES,
}
TABLE_NAMES: tuple[str, ...] = tuple(SCHEMAS)

# Prefixes of the dynamic `tasks` columns.
DYNAMIC_PREFIXES = {"metadata": "metadata_", "contextData": "context_"}


def dynamic_field(name: str, values_type: pa.DataType) -> pa.Field:
    """The field of a dynamic ``metadata_*`` / ``context_*`` column.

    Integers and floats unify to float64 when both occur, anything mixed unifies to string (the
    JSON text of non-strings); the flattener owns that inference, this only names the field.
    """
    return pa.field(name, values_type)


def schema_for(table: str) -> pa.Schema:
    """The Arrow schema of ``table`` (one of ``TABLE_NAMES``), without dynamic columns."""
    try:
        return SCHEMAS[table]
    except KeyError:
        raise KeyError(f"unknown table {table!r}; tables are {', '.join(TABLE_NAMES)}") from None
