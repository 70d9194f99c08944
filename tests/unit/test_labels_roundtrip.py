"""Export tables (exact schemas.py shape, Arrow-backed) -> labels payload gives back the answers."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pyarrow as pa
import pytest

from ango_frames.imports.annotate import annotate_payloads
from ango_frames.imports.labels import build_labels
from ango_frames.schemas import schema_for

ONTOLOGY = {
    "tools": [
        {
            "tool": "bounding-box",
            "title": "car",
            "schemaId": "s-car",
            "classifications": [
                {
                    "tool": "radio",
                    "title": "Weather",
                    "schemaId": "s-radio",
                    "options": [
                        {"value": "Rain", "schemaId": "x1"},
                        {"value": "Sun", "schemaId": "x2"},
                    ],
                    "classifications": [{"tool": "text", "title": "Notes", "schemaId": "s-notes"}],
                }
            ],
        },
        {"tool": "polygon", "title": "road", "schemaId": "s-road"},
    ],
    "classifications": [
        {
            "tool": "checkbox",
            "title": "Visible",
            "schemaId": "s-check",
            "options": [
                {"value": "headlights", "schemaId": "y1"},
                {"value": "fog", "schemaId": "y2"},
            ],
        },
        {
            "tool": "tree-dropdown",
            "title": "Taxonomy",
            "schemaId": "s-tree",
            "treeOptions": [
                {
                    "title": "Vehicle",
                    "key": "n1",
                    "children": [{"title": "Car", "key": "n2", "children": []}],
                }
            ],
        },
        {"tool": "text", "title": "Comment", "schemaId": "s-text"},
    ],
    "relations": [
        {"tool": "one-to-one", "title": "drives", "schemaId": "s-drives"},
        {"tool": "group", "title": "family", "schemaId": "s-family"},
    ],
}

# what the export holds for task T1 (docs/format.md §2-§4 shapes)
EXPORT_ANSWER = {
    "tools": [
        {
            "objectId": "o1",
            "schemaId": "s-car",
            "title": "car",
            "bounding-box": {"x": 10.0, "y": 20.0, "width": 30.0, "height": 40.0},
            "classifications": [
                {
                    "objectId": "c9",
                    "schemaId": "s-radio",
                    "tool": "radio",
                    "title": "Weather",
                    "answer": "Rain",
                    "classifications": [
                        {
                            "objectId": "c10",
                            "schemaId": "s-notes",
                            "tool": "text",
                            "title": "Notes",
                            "answer": "drizzle",
                        }
                    ],
                }
            ],
        },
        {
            "objectId": "o2",
            "schemaId": "s-road",
            "title": "road",
            "polygon": [[1.0, 1.0], [9.0, 1.0], [9.0, 9.0]],
        },
        {
            "objectId": "trk",
            "schemaId": "s-car",
            "bounding-box": {"x": 1.0, "y": 1.0, "width": 2.0, "height": 2.0},
            "page": 10,
        },
        {
            "objectId": "trk",
            "schemaId": "s-car",
            "bounding-box": {"x": 2.0, "y": 1.0, "width": 2.0, "height": 2.0},
            "page": 11,
            "interpolationStopped": True,
        },
    ],
    "classifications": [
        {
            "objectId": "c1",
            "schemaId": "s-check",
            "tool": "checkbox",
            "title": "Visible",
            "answer": ["headlights", "fog"],
        },
        {
            "objectId": "c2",
            "schemaId": "s-tree",
            "tool": "tree-dropdown",
            "title": "Taxonomy",
            "answer": ["Vehicle / Car"],
        },
        {
            "objectId": "c3",
            "schemaId": "s-text",
            "tool": "text",
            "title": "Comment",
            "answer": "ok",
            "page": 3,
        },
    ],
    "relations": [
        {
            "objectId": "r1",
            "schemaId": "s-drives",
            "title": "drives",
            "from": "o1",
            "to": "o2",
            "direction": "straight",
        },
        {"objectId": "r2", "schemaId": "s-family", "title": "family", "group": ["o1", "o2", "trk"]},
    ],
}


def _table(name: str, rows: list[dict]) -> pd.DataFrame:
    """A tidy table exactly as the flattener types it (Arrow schema, pd.ArrowDtype columns)."""
    schema = schema_for(name)
    data = {f.name: [r.get(f.name) for r in rows] for f in schema}
    return pa.Table.from_pydict(data, schema=schema).to_pandas(types_mapper=pd.ArrowDtype)


def _tables() -> SimpleNamespace:
    """EXPORT_ANSWER flattened by hand, the way schemas.py documents the tables."""
    tasks = _table(
        "tasks",
        [
            {"task_id": "T1", "asset_id": "A1", "external_id": "one.jpg", "task_index": 0},
            {"task_id": "T2", "asset_id": "A2", "external_id": "two.jpg", "task_index": 0},
        ],
    )
    box = {"task_id": "T1", "tool": "bounding-box"}
    objects = _table(
        "objects",
        [
            {**box, "object_id": "o1", "schema_id": "s-car", "title": "car", "x": 10.0, "y": 20.0, "width": 30.0,
             "height": 40.0, "origin_x": 10.0, "origin_y": 20.0},
            {"task_id": "T1", "object_id": "o2", "schema_id": "s-road", "title": "road", "tool": "polygon",
             "points": [[1.0, 1.0], [9.0, 1.0], [9.0, 9.0]]},
            {**box, "object_id": "trk", "schema_id": "s-car", "page": 10, "x": 1.0, "y": 1.0, "width": 2.0, "height": 2.0},
            {**box, "object_id": "trk", "schema_id": "s-car", "page": 11, "interpolation_stopped": True,
             "x": 2.0, "y": 1.0, "width": 2.0, "height": 2.0},
        ],
    )  # fmt: skip
    classifications = _table(
        "classifications",
        [
            {"task_id": "T1", "object_id": "o1", "classification_id": "c9", "schema_id": "s-radio",
             "title": "Weather", "type": "radio", "answer": "Rain"},
            {"task_id": "T1", "object_id": "o1", "classification_id": "c10", "parent_id": "c9",
             "schema_id": "s-notes", "title": "Notes", "type": "text", "answer": "drizzle"},
            {"task_id": "T1", "classification_id": "c1", "schema_id": "s-check", "type": "checkbox",
             "answer": "fog", "answer_index": 1, "answer_is_list": True},
            {"task_id": "T1", "classification_id": "c1", "schema_id": "s-check", "type": "checkbox",
             "answer": "headlights", "answer_index": 0, "answer_is_list": True},
            {"task_id": "T1", "classification_id": "c2", "schema_id": "s-tree", "type": "tree-dropdown",
             "answer": "Vehicle / Car", "answer_index": 0, "answer_is_list": True,
             "answer_path": ["Vehicle", "Car"]},
            {"task_id": "T1", "classification_id": "c3", "schema_id": "s-text", "type": "text",
             "answer": "ok", "page": 3},
        ],
    )  # fmt: skip
    relations = _table(
        "relations",
        [
            {"task_id": "T1", "relation_id": "r1", "schema_id": "s-drives", "kind": "single",
             "from_object_id": "o1", "to_object_id": "o2", "direction": "straight"},
            {"task_id": "T1", "relation_id": "r2", "schema_id": "s-family", "kind": "group",
             "group_object_ids": ["o1", "o2", "trk"]},
        ],
    )  # fmt: skip
    return SimpleNamespace(
        tasks=tasks, objects=objects, classifications=classifications, relations=relations
    )


def _as_import(answer: dict) -> dict:
    """An export answer in import form: tools -> objects, without titles, metadata, ids of
    answers."""

    def cls(c: dict) -> dict:
        out = {
            k: v
            for k, v in c.items()
            if k not in ("objectId", "title", "tool", "metadata", "classifications")
        }
        if c.get("classifications"):
            out["classifications"] = [cls(x) for x in c["classifications"]]
        return out

    objects = []
    for t in answer["tools"]:
        o = {k: v for k, v in t.items() if k not in ("title", "metadata", "classifications")}
        if t.get("classifications"):
            o["classifications"] = [cls(x) for x in t["classifications"]]
        objects.append(o)
    relations = [
        {k: v for k, v in r.items() if k not in ("objectId", "title")} for r in answer["relations"]
    ]
    return {
        "objects": objects,
        "classifications": [cls(c) for c in answer["classifications"]],
        "relations": relations,
    }


@pytest.mark.parametrize("ontology", [None, ONTOLOGY])
def test_export_tables_give_back_the_same_answer(ontology):
    batch = build_labels(_tables(), "P", ontology)
    assert [(k, v) for k, v in batch.keys] == [("assetId", "A1"), ("assetId", "A2")]
    assert batch.labels[0]["answer"] == _as_import(EXPORT_ANSWER)
    # a task without annotations comes back empty, as it was
    assert batch.labels[1]["answer"] == {"objects": [], "classifications": [], "relations": []}
    assert batch.failures.empty and batch.id_map.empty


def test_annotate_payloads_from_export_tables_are_keyed_by_task():
    bodies = annotate_payloads(_tables(), ONTOLOGY)
    assert list(bodies) == ["T1"]
    assert bodies["T1"] == {"answer": _as_import(EXPORT_ANSWER)}


def test_round_trip_checks_answers_against_the_ontology():
    tables = _tables()
    bad = tables.classifications.copy()
    bad.loc[0, "answer"] = "Snow"  # not an option of s-radio
    tables.classifications = bad
    batch = build_labels(tables, "P", ONTOLOGY, on_error="skip")
    reasons = batch.failures.groupby("column")["reason"].agg(list).to_dict()
    assert reasons == {
        "classifications": ["unknown_option"],  # the owning object row
        "classifications.answer": ["unknown_option"],
        "relations.from_object_id": ["dangling_relation"],  # both relations need o1
        "relations.group_object_ids": ["dangling_relation"],
    }
    # the object owning the bad answer is left out, and so are the relations that need it
    sent = [o["objectId"] for o in batch.labels[0]["answer"]["objects"]]
    assert "o1" not in sent and {"o2", "trk"} <= set(sent)
    assert batch.labels[0]["answer"]["relations"] == []
    assert list(batch.rejected["object_id"]) == ["o1"]


def test_video_track_nested_answers_repeat_per_frame_and_stay_on_their_frame():
    """Exports repeat a track's nested answer on every frame, same id, no page (the hub does)."""
    tables = _tables()
    nested = [
        {"task_id": "T1", "object_id": "trk", "classification_id": "cx", "schema_id": "s-radio",
         "type": "radio", "answer": answer}
        for answer in ("Rain", "Sun")
    ] + [
        {"task_id": "T1", "object_id": "trk", "classification_id": "cy", "parent_id": "cx",
         "schema_id": "s-notes", "type": "text", "answer": note}
        for note in ("wet", "dry")
    ]  # fmt: skip
    tables.classifications = _table("classifications", nested)
    batch = build_labels(tables, "P", ONTOLOGY)
    frames = [o for o in batch.labels[0]["answer"]["objects"] if o["objectId"] == "trk"]
    assert [f["page"] for f in frames] == [10, 11]
    assert [f["classifications"] for f in frames] == [
        [
            {
                "schemaId": "s-radio",
                "answer": "Rain",
                "classifications": [{"schemaId": "s-notes", "answer": "wet"}],
            }
        ],
        [
            {
                "schemaId": "s-radio",
                "answer": "Sun",
                "classifications": [{"schemaId": "s-notes", "answer": "dry"}],
            }
        ],
    ]
