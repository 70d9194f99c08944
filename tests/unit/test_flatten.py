"""The Flattener on the published samples and on small hand-made records."""

from __future__ import annotations

import json
import math
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from ango_frames.errors import ConfigError
from ango_frames.export.flatten.flattener import Flattener, flatten_records
from ango_frames.schemas import SCHEMAS, TABLE_NAMES
from tests.engines import assert_engines_agree, ndjson

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def _load(rel: str) -> list:
    data = json.loads((SAMPLES / rel).read_text())
    return data if isinstance(data, list) else [data]


def flat(records: list, **kw) -> tuple[dict[str, list[dict]], Flattener]:
    """Rows of every table as lists of dicts (Arrow -> Python), and the Flattener.

    The same records, as ndjson, also go through both engines (native core and Python),
    whose tables must be identical.
    """
    f = Flattener(engine="python")
    batches = list(flatten_records(records, flattener=f, **kw))
    raw = ndjson(records)
    if raw is not None:
        assert_engines_agree(raw, **kw)
    out: dict[str, list[dict]] = {t: [] for t in TABLE_NAMES}
    for batch in batches:
        for name, b in batch.items():
            out[name].extend(b.to_pylist())
    return out, f


def _valid_samples() -> list[str]:
    found = sorted(
        str(p.relative_to(SAMPLES))
        for p in SAMPLES.glob("*/*.json")
        if ".invalid." not in p.name and p.parent.name != "api"
    )
    return [*found, "api/label_validation_answers_internal_format.json"]


@pytest.mark.parametrize("rel", _valid_samples())
def test_every_valid_sample_reads(rel: str) -> None:
    records = _load(rel)
    rows, f = flat(records)
    if "attachments" not in (SAMPLES / rel).read_text():
        assert not f.unknown_keys  # every documented key is known
    # one tasks row per record (legacy: per element of `tasks`), nothing else lost
    expected_tasks = sum(len(r["tasks"]) if "tasks" in r else 1 for r in records)
    assert len(rows["tasks"]) == expected_tasks
    for name in TABLE_NAMES:
        for row in rows[name]:
            assert list(row)[: len(SCHEMAS[name])] == SCHEMAS[name].names


def test_box_from_negative_width_and_origin_kept() -> None:
    tool = {
        "bounding-box": {"x": 310.0, "y": 95.5, "width": -42.0, "height": 60.25},
        "objectId": "0f1e",
        "schemaId": "c0ff",
        "title": "pedestrian",
        "classifications": [],
    }
    rows, _ = flat([{"externalId": "a.jpg", "task": {"taskId": "t1", "tools": [tool]}}])
    (obj,) = rows["objects"]
    assert (obj["x"], obj["y"], obj["width"], obj["height"]) == (268.0, 95.5, 42.0, 60.25)
    assert (obj["origin_x"], obj["origin_y"]) == (310.0, 95.5)
    assert (obj["tool"], obj["object_id"], obj["task_id"]) == ("bounding-box", "0f1e", "t1")
    # the legacy sample: positive sizes stay as they are
    rows, _ = flat(_load("legacy_v2_export/asset.json"))
    (obj,) = rows["objects"]
    assert (obj["x"], obj["y"], obj["width"], obj["height"]) == (200, 200, 400, 400)
    assert obj["created_by"] == "Reviewer Name"


def test_polygon_point_rotated_and_segmentation_samples() -> None:
    poly = _load("legacy_v2_export/object_fragment_polygon.json")[0]
    rows, _ = flat([poly])
    assert rows["objects"][0]["points"] == poly["polygon"]
    assert rows["objects"][0]["tool"] == "polygon"
    point = _load("legacy_v2_export/object_fragment_point.json")[0]["point"]
    rows, _ = flat(_load("legacy_v2_export/object_fragment_point.json"))
    (obj,) = rows["objects"]
    assert (obj["x"], obj["y"], obj["points"]) == (point[0], point[1], [point])
    rbox = _load("legacy_v2_export/object_fragment_rotated_bounding_box.json")[0]
    rows, _ = flat([rbox])
    (obj,) = rows["objects"]
    assert obj["rotation"] == rbox["rotated-bounding-box"]["rotation"]
    assert obj["corners"] == rbox["rotated-bounding-box"]["corners"]
    seg = _load("legacy_v2_export/object_segmentation.json")[0]
    rows, _ = flat([seg])
    zones = rows["objects"][0]["zones"]
    assert zones == seg["segmentation"]["zones"]
    assert rows["objects"][0]["title"] == "tramway"


def test_segmentation_flat_hole_ring_is_wrapped() -> None:
    ring = [[1.0, 1.0], [2.0, 1.0], [2.0, 2.0]]
    seg = {"segmentation": {"zones": [{"region": [[0, 0], [9, 0], [9, 9]], "holes": ring}]}}
    rows, _ = flat([{"taskId": "t", "tools": [seg]}])
    assert rows["objects"][0]["zones"][0]["holes"] == [ring]


def test_nested_answer_and_tree_path() -> None:
    rows, _ = flat(_load("import/image_bbox_nested_radio.json"))
    objects, classes = rows["objects"], rows["classifications"]
    assert [c["answer"] for c in classes] == ["Bedside Table", "Bed"]
    # nested in an object: object_id is the owning object's (here synthesized) id
    assert [c["object_id"] for c in classes] == [o["object_id"] for o in objects]
    assert objects[0]["object_id"] == f"{objects[0]['task_id']}/o0"
    assert objects[0]["lock"] is True and objects[1]["lock"] is False

    rows, _ = flat(_load("import/tree_dropdown.json"))
    classes = rows["classifications"]
    assert [c["answer_index"] for c in classes] == [0, 1, 2, 3]
    assert all(c["answer_is_list"] and not c["answer_is_json"] for c in classes)
    assert classes[2]["answer"] == "Trunk / Branch 1 / Leaf"
    assert classes[2]["answer_path"] == ["Trunk", "Branch 1", "Leaf"]
    assert len({c["classification_id"] for c in classes}) == 1  # one classification, 4 values


def test_classification_in_classification_parent_and_values() -> None:
    cls = {
        "objectId": "w",
        "tool": "radio",
        "title": "Weather",
        "answer": "Rain",
        "page": 3,
        "metadata": {"createdAt": "2023-09-05T10:32:57.760Z", "createdBy": "a@b"},
        "classifications": [{"objectId": "n", "tool": "text", "answer": "drizzle"}],
    }
    rows, _ = flat(
        [
            {
                "taskId": "t",
                "tools": [{"objectId": "o", "point": [1, 2], "classifications": [cls]}],
                "classifications": [
                    {"tool": "checkbox", "answer": []},
                    {"tool": "text", "answer": {"k": 1}},
                    {"tool": "multi-dropdown", "answer": ["a", 2]},
                ],
            }
        ]
    )
    c = {r["classification_id"]: r for r in rows["classifications"]}
    assert c["w"]["object_id"] == "o" and c["w"]["parent_id"] is None
    assert c["n"]["object_id"] == "o" and c["n"]["parent_id"] == "w"  # object inherited
    assert c["w"]["answer_index"] is None and c["w"]["answer_is_list"] is False
    assert c["w"]["page"] == 3 and c["w"]["created_by"] == "a@b"
    empty = c["t/c2"]
    assert (empty["answer"], empty["answer_is_list"], empty["answer_index"]) == (None, True, None)
    assert (c["t/c3"]["answer"], c["t/c3"]["answer_is_json"]) == ('{"k":1}', True)
    multi = [r for r in rows["classifications"] if r["classification_id"] == "t/c4"]
    assert [(r["answer"], r["answer_is_json"]) for r in multi] == [("a", False), ("2", True)]


def test_relations_group_and_single() -> None:
    rows, _ = flat(_load("v3_export/relation_group.json"))
    (rel,) = rows["relations"]
    assert rel["kind"] == "group" and rel["page"] == 0 and rel["title"] == "gru"
    assert rel["group_object_ids"] == [
        "3d52bc1cd570e28fa9da319",
        "4e8dbe33e3223d9da92e638",
        "4342e79c0c77a8252a7b188",
    ]
    assert rel["relation_id"] == "15ff30bd776c19fee934398"
    rows, _ = flat(_load("v3_export/relation_single.json"))
    (rel,) = rows["relations"]
    assert (rel["kind"], rel["from_object_id"], rel["to_object_id"], rel["direction"]) == (
        "single",
        "3d52bc1cd570e28fa9da319",
        "4e8dbe33e3223d9da92e638",
        "straight",
    )


def test_video_track_one_row_per_frame() -> None:
    rows, _ = flat(_load("import/video_frames.json"))
    objects = rows["objects"]
    assert [o["page"] for o in objects] == [6, 7, 8]
    assert [o["interpolation_stopped"] for o in objects] == [None, None, True]
    assert {o["object_id"] for o in objects} == {"12345"}
    assert all(o["key_frame"] is None for o in objects)


def test_frames_list_layout_and_key_frames() -> None:
    entry = {
        "objectId": "trk",
        "schemaId": "s",
        "title": "person",
        "classifications": [{"objectId": "whole", "answer": "adult"}],
        "frames": [
            {
                "page": 10,
                "bounding-box": {"x": 1, "y": 2, "width": 3, "height": 4},
                "isKeyFrame": True,
            },
            {"page": 11, "bounding-box": {"x": 2, "y": 2, "width": 3, "height": 4}},
            {
                "page": 12,
                "bounding-box": {"x": 3, "y": 2, "width": 3, "height": 4},
                "interpolationStopped": True,
                "classifications": [{"objectId": "f12", "answer": "hidden"}],
            },
        ],
    }
    rows, f = flat([{"task": {"taskId": "t", "tools": [entry]}}])
    objects = rows["objects"]
    assert [(o["page"], o["x"], o["key_frame"]) for o in objects] == [
        (10, 1, True),
        (11, 2, None),
        (12, 3, None),
    ]
    assert {(o["object_id"], o["title"], o["schema_id"]) for o in objects} == {
        ("trk", "person", "s")
    }
    assert [(c["classification_id"], c["object_id"]) for c in rows["classifications"]] == [
        ("f12", "trk"),
        ("whole", "trk"),
    ]
    assert not f.unknown_keys


def test_pdf_shapes() -> None:
    rows, _ = flat(_load("legacy_v2_export/object_fragment_pdf_text.json"))
    (obj,) = rows["objects"]
    assert obj["tool"] == "pdf" and obj["pdf_page"] == 1 and obj["pdf_text"] == "Deutsche Post AG"
    assert obj["object_id"] == "fc5027d6307c38d0ee7a017"
    assert obj["pdf_x1"] == 26.48284912109375 and obj["pdf_page_width"] == 371.66666666666663
    assert len(obj["pdf_rects"]) == 4 and obj["pdf_rects"][1]["x1"] == 90.359375
    rows, _ = flat(_load("import/pdf_areas_group_relation.json"))
    assert [o["object_id"] for o in rows["objects"]] == ["1", "2", "3"]  # id inside `pdf`
    assert [o["pdf_page"] for o in rows["objects"]] == [1, 2, 1]
    assert rows["objects"][0]["pdf_page_height"] == 1200
    rows, _ = flat(_load("import/pdf_area_object_with_objectId.json"))
    (obj,) = rows["objects"]
    assert (obj["tool"], obj["object_id"], obj["pdf_page"], obj["pdf_text"]) == (
        "pdf",
        "1234567890",
        2,
        "Second Text",
    )
    assert obj["extra"] is None


def test_legacy_asset_task_fields() -> None:
    rows, _ = flat(_load("legacy_v2_export/asset.json"))
    (task,) = rows["tasks"]
    assert task["task_id"] == "taskId123456789" and task["task_index"] == 0
    assert (task["status"], task["total_duration_ms"], task["consensus_average"]) == (
        "Completed",
        6429,
        90,
    )
    assert (task["duration_ms"], task["review_status"], task["review_duration_ms"]) == (
        6429,
        "Fixed",
        36283,
    )
    assert task["completed_by"] == "Labeler Name" and task["review_completed_by"] == "Reviewer Name"
    assert (
        task["is_skipped"] is False and task["is_benchmark"] is False and task["benchmark"] == "60"
    )
    assert task["labeled_at"].isoformat() == "2021-12-08T12:31:36.043000+00:00"
    assert task["metadata_width"] == 100
    extra = json.loads(task["extra"])
    assert extra == {"status": "Labeled", "task.issues": []}  # asset-level status kept
    assert rows["classifications"][0]["column_field"] is False


def test_legacy_nrrd_misfits_kept_in_extra() -> None:
    rows, f = flat(_load("legacy_v2_export/nrrd_export.json"))
    (task,) = rows["tasks"]
    assert task["medical_brush_data_url"].endswith("63d0e32ad8157d000eace053.zip")
    assert task["duration_ms"] == 8152266 and task["total_duration_ms"] == 8152266
    extra = json.loads(task["extra"])
    assert extra["consensus_average"] == ""  # "" does not fit a float column
    assert extra["review_completed_by"] == []
    assert extra["task.review.isSkipped"] is False
    assert not f.unknown_keys


def test_legacy_several_tasks_index() -> None:
    rec = {
        "externalId": "e",
        "tasks": [{"taskId": "a"}, {"completedBy": "x"}, {"completedBy": "x"}],
    }
    rows, _ = flat([rec])
    ids = [t["task_id"] for t in rows["tasks"]]
    assert [t["task_index"] for t in rows["tasks"]] == [0, 1, 2]
    assert ids[0] == "a" and ids[1].startswith("e#") and ids[2].startswith("e#")
    assert len(set(ids)) == 3
    assert flat([rec])[0]["tasks"] == rows["tasks"]  # deterministic


def test_epoch_ms_and_iso_are_equal() -> None:
    iso = {
        "taskId": "a",
        "tools": [{"point": [1, 2], "metadata": {"createdAt": "2021-10-14T08:14:28.359Z"}}],
    }
    ms = {"taskId": "b", "tools": [{"point": [1, 2], "metadata": {"createdAt": 1634199268359}}]}
    naive = {
        "taskId": "c",
        "tools": [{"point": [1, 2], "metadata": {"createdAt": "2021-10-14T08:14:28.359"}}],
    }
    rows, _ = flat([iso, ms, naive])
    stamps = [o["created_at"] for o in rows["objects"]]
    assert stamps[0] == stamps[1] == stamps[2]
    assert stamps[0].isoformat() == "2021-10-14T08:14:28.359000+00:00"


def test_unparseable_values_are_nulled_and_kept() -> None:
    rec = {
        "externalId": "e",
        "metadata": {"big": 2**70, "ok": 1},
        "task": {
            "taskId": "t",
            "updatedAt": "yesterday",
            "isSkipped": "no",
            "tools": [{"point": [1, 2], "page": 1.5, "metadata": {"createdAt": True}}],
        },
    }
    rows, _ = flat([rec])
    task, obj = rows["tasks"][0], rows["objects"][0]
    assert (
        task["updated_at"] is None and task["is_skipped"] is None and task["metadata_big"] is None
    )
    assert json.loads(task["extra"]) == {
        "metadata_big": 2**70,
        "updated_at": "yesterday",
        "is_skipped": "no",
    }
    assert obj["page"] is None and obj["created_at"] is None
    assert json.loads(obj["extra"]) == {"created_at": True, "page": 1.5}


def test_nan_in_metadata_does_not_crash() -> None:
    rows, _ = flat([{"externalId": "e", "metadata": {"score": math.nan, "n": 2.0}}])
    task = rows["tasks"][0]
    assert task["metadata_score"] is None and task["metadata_n"] == 2.0
    assert "metadata_score" in task["extra"]


def test_dynamic_columns_typed_and_widened() -> None:
    recs = [
        {
            "externalId": "a",
            "metadata": {"w": 1, "f": True, "tags": ["x"]},
            "contextData": {"s": "n"},
        },
        {"externalId": "b", "metadata": {"w": 2.5, "f": False}},
    ]
    f = Flattener()
    (batches,) = list(flatten_records(recs, flattener=f))
    schema = batches["tasks"].schema
    assert schema.field("metadata_w").type == pa.float64()
    assert schema.field("metadata_f").type == pa.bool_()
    assert schema.field("metadata_tags").type == pa.string()
    assert schema.names[-4:] == ["metadata_f", "metadata_tags", "metadata_w", "context_s"]
    assert batches["tasks"].column("metadata_tags").to_pylist() == ['["x"]', None]
    assert f.schema("tasks").equals(schema)


def test_unknown_keys_counted_and_kept() -> None:
    rec = {
        "externalId": "e",
        "newAssetKey": 1,
        "task": {
            "taskId": "t",
            "mystery": {"a": 1},
            "tools": [{"spline": [[0, 0]], "point": [1, 2]}],
        },
    }
    rows, f = flat([rec, rec])
    assert f.unknown_keys == {"asset.newAssetKey": 2, "task.mystery": 2, "object.spline": 2}
    assert json.loads(rows["tasks"][0]["extra"]) == {"newAssetKey": 1, "task.mystery": {"a": 1}}
    assert rows["objects"][0]["tool"] == "point"
    assert json.loads(rows["objects"][0]["extra"]) == {"spline": [[0, 0]]}
    rows, _ = flat([{"taskId": "t", "tools": [{"angle": {"vertex": [1, 2, 3]}}]}])
    assert rows["objects"][0]["tool"] == "angle"


def test_issue_record() -> None:
    issue = {
        "_id": "i0",
        "labelTask": "t7",
        "stageId": "Label",
        "asset": {"externalId": "run-17.mp4", "batches": ["pilot"]},
        "status": "Open",
        "content": "Box too loose",
        "createdBy": "r@example.org",
        "createdAt": "2024-11-03T10:00:00.000Z",
        "page": 41,
        "position": "[212.0, 130.5]",
        "errorCode": "E-LOOSE",
        "comments": [{"createdBy": "a", "content": "ok", "createdAt": 1730628000000}],
    }
    rows, _ = flat([issue])
    (row,) = rows["issues"]
    assert not rows["tasks"]
    assert (row["issue_id"], row["task_id"], row["external_id"], row["batches"]) == (
        "i0",
        "t7",
        "run-17.mp4",
        ["pilot"],
    )
    assert row["position_values"] == [212.0, 130.5] and row["page"] == 41
    assert row["comments"][0]["content"] == "ok"
    assert row["comments"][0]["created_at"] == row["created_at"]


def test_stage_history_tables() -> None:
    rec = {
        "task": {
            "taskId": "t",
            "stageHistory": [
                {"stage": "Start", "stageId": "Start", "duration": 0, "tools": []},
                {
                    "stage": "Label",
                    "completedBy": "a@b",
                    "completedAt": "2024-11-01T08:03:12.551Z",
                    "tools": [{"bounding-box": {"x": 1, "y": 1, "width": 2, "height": 2}}],
                    "classifications": [{"answer": "x"}],
                    "relations": [{"from": "p", "to": "q"}],
                },
            ],
        }
    }
    rows, _ = flat([rec])
    assert [(h["history_order"], h["stage"]) for h in rows["stage_history"]] == [
        (0, "Start"),
        (1, "Label"),
    ]
    (obj,) = rows["history_objects"]
    assert (obj["history_order"], obj["object_id"]) == (1, "t/h1/o0")
    assert rows["history_classifications"][0]["classification_id"] == "t/h1/c0"
    assert rows["history_relations"][0]["relation_id"] == "t/h1/r0"
    assert not rows["objects"]


def test_batches_split_between_records_and_concat_equal() -> None:
    recs = [{"taskId": f"t{i}", "tools": [{"point": [i, i]}] * 3} for i in range(10)]
    one, _ = flat(recs)
    f = Flattener()
    parts = list(flatten_records(recs, batch_rows=4, flattener=f))
    assert len(parts) > 2
    for part in parts:  # a task's objects are flushed with the task
        assert set(part["objects"].column("task_id").to_pylist()) == set(
            part["tasks"].column("task_id").to_pylist()
        )
    objects = [r for p in parts for r in p["objects"].to_pylist()]
    assert objects == one["objects"]


def test_table_selection_and_bad_names() -> None:
    f = Flattener(["objects"])
    (out,) = list(flatten_records([{"taskId": "t", "tools": [{"point": [1, 2]}]}], flattener=f))
    assert set(out) == {"objects"}
    with pytest.raises(ConfigError, match="nope"):
        Flattener(["nope"])
    with pytest.raises(ConfigError):
        list(flatten_records([], batch_rows=0))


def test_non_dict_entries_are_kept() -> None:
    rows, f = flat([{"taskId": "t", "tools": ["junk"], "classifications": [5]}, [1, 2]])
    assert json.loads(rows["objects"][0]["extra"]) == {"object": "junk"}
    assert json.loads(rows["classifications"][0]["extra"]) == {"classification": 5}
    assert json.loads(rows["tasks"][1]["extra"]) == {"record": [1, 2]}
    assert f.unknown_keys["record(not an object)"] == 1


def test_json_text_is_compact_orjson() -> None:
    rows, _ = flat([{"taskId": "t", "task_unknown": {"b": [1, 2.5]}}])
    assert rows["tasks"][0]["extra"] == orjson.dumps({"task_unknown": {"b": [1, 2.5]}}).decode()
