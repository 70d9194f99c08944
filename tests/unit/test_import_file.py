"""The official client's body: flat import-file items from the same frames; brush masks; 3D."""

from __future__ import annotations

import json

import orjson
import pandas as pd
import pytest

from ango_frames import read_export
from ango_frames.errors import ConfigError, PayloadError
from ango_frames.imports.annotate import annotate_payloads
from ango_frames.imports.import_file import build_import_file, import_file_items, items_from_labels
from ango_frames.imports.labels import build_labels, labels_payload, validate_labels
from ango_frames.imports.options import PayloadOptions

BRUSH_FILE = [
    {"externalId": "m1.png", "brushDataUrl": "https://masks.example.org/m1.png"},
    {"externalId": "m2.png", "brushDataUrl": "https://masks.example.org/m2.png"},
]


def _boxes() -> pd.DataFrame:
    return pd.DataFrame(
        {"external_id": ["a.jpg", "a.jpg", "b.jpg"], "schema_id": ["s-car"] * 3,
         "object_id": ["o1", "o2", "o3"], "x": [1.0, 2.0, 3.0], "y": [1.0] * 3,
         "width": [2.0] * 3, "height": [2.0] * 3}
    )  # fmt: skip


def test_items_are_the_spec_labels_answers_lifted_to_the_top_level():
    cls = pd.DataFrame({"external_id": ["b.jpg"], "schema_id": ["s-w"], "answer": ["Rain"]})
    rel = pd.DataFrame({"external_id": ["a.jpg"], "schema_id": ["s-r"], "kind": ["single"],
                        "from_object_id": ["o1"], "to_object_id": ["o2"]})  # fmt: skip
    opts = PayloadOptions(classifications=cls, relations=rel)
    items = import_file_items(_boxes(), options=opts)
    labels = labels_payload(_boxes(), "P", options=opts)["labels"]
    assert [sorted(i) for i in items] == [
        ["classifications", "externalId", "objects", "relations"]
    ] * 2
    assert [{"externalId": lb["externalId"], **lb["answer"]} for lb in labels] == items
    assert items[1]["classifications"] == [{"schemaId": "s-w", "answer": "Rain"}]
    # the shape of a published import file: it round-trips through JSON and read_export
    batch = build_import_file(_boxes(), "P", options=opts)
    assert batch.body["project"] == "P" and batch.body["jsonContent"] == items
    assert batch.keys == [("externalId", "a.jpg"), ("externalId", "b.jpg")]


def test_ready_spec_labels_lift_to_the_items_the_frames_build():
    cls = pd.DataFrame({"external_id": ["b.jpg"], "schema_id": ["s-w"], "answer": ["Rain"]})
    rel = pd.DataFrame({"external_id": ["a.jpg"], "schema_id": ["s-r"], "kind": ["single"],
                        "from_object_id": ["o1"], "to_object_id": ["o2"]})  # fmt: skip
    opts = PayloadOptions(classifications=cls, relations=rel)
    labels = labels_payload(_boxes(), "P", options=opts)["labels"]
    assert items_from_labels(labels) == import_file_items(_boxes(), options=opts)
    # an answer without some parts gets them empty; a mask in or beside the answer is kept
    bare = items_from_labels([
        {"externalId": "m.png", "answer": {"brushDataUrl": "https://m.example.org/1.png"}},
        {"externalId": "n.png", "answer": {}, "medicalBrushDataUrl": "https://m.example.org/2"},
    ])  # fmt: skip
    assert bare == [
        {"externalId": "m.png", "objects": [], "classifications": [], "relations": [],
         "brushDataUrl": "https://m.example.org/1.png"},
        {"externalId": "n.png", "objects": [], "classifications": [], "relations": [],
         "medicalBrushDataUrl": "https://m.example.org/2"},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("label", "match"),
    [
        ({"assetId": "A1", "answer": {}}, "label 1 names its asset by assetId"),
        ({"externalId": "x", "answer": {}, "status": "Completed"}, "label 1: .*status"),
        ({"externalId": "x", "answer": {"objects": [], "tools": []}}, "label 1: .*'tools'"),
        ({"externalId": "x", "answer": {}, "priority": 3}, "label 1: .*'priority'"),
    ],
)
def test_lifting_ready_labels_drops_nothing_silently(label, match):
    ok = {"externalId": "fine.jpg", "answer": {"objects": []}}
    with pytest.raises(ConfigError, match=match):
        items_from_labels([ok, label])


def test_items_name_assets_by_external_id_also_when_rows_give_the_asset_id():
    df = _boxes().assign(asset_id=["A", "A", "B"])
    assert [i["externalId"] for i in import_file_items(df)] == ["a.jpg", "b.jpg"]
    only_ids = _boxes().drop(columns="external_id").assign(asset_id=["A", "A", "B"])
    with pytest.raises(PayloadError) as info:
        import_file_items(only_ids)
    assert set(info.value.failure_cases["reason"]) == {"missing_asset_key"}
    assert set(info.value.failure_cases["column"]) == {"external_id"}


def test_status_and_assignee_have_no_place_in_an_import_file():
    with pytest.raises(ConfigError, match="status"):
        import_file_items(_boxes(), status="Completed")


def test_the_items_read_back_as_the_same_tables(tmp_path):
    path = tmp_path / "import.json"
    path.write_bytes(orjson.dumps(import_file_items(_boxes())))
    back = read_export(str(path))
    assert sorted(back.objects["object_id"]) == ["o1", "o2", "o3"]
    assert back.objects["x"].tolist() == [1.0, 2.0, 3.0]


# -- brush masks ---------------------------------------------------------------------------


@pytest.fixture
def brush_tables(tmp_path):
    path = tmp_path / "brush.json"
    path.write_text(json.dumps(BRUSH_FILE))
    return read_export(str(path))


def test_a_brush_import_file_is_refused_by_the_spec_body_never_sent_empty(brush_tables):
    with pytest.raises(PayloadError) as info:
        labels_payload(brush_tables, "P")
    fc = info.value.failure_cases
    assert fc["reason"].tolist() == ["brush_needs_import_file"] * 2
    assert fc["column"].tolist() == ["tasks.brush_data_url"] * 2
    assert fc["value"].tolist() == [b["brushDataUrl"] for b in BRUSH_FILE]


def test_the_import_file_body_carries_the_masks(brush_tables):
    assert import_file_items(brush_tables) == [
        {"externalId": b["externalId"], "objects": [], "classifications": [], "relations": [],
         "brushDataUrl": b["brushDataUrl"]}
        for b in BRUSH_FILE
    ]  # fmt: skip


def test_mask_rows_in_a_frame_are_masks_not_objects():
    masks = pd.DataFrame(
        {"external_id": ["a.jpg", "c.jpg"],
         "medical_brush_data_url": ["https://m.example.org/a.seg.nrrd", None],
         "brush_data_url": [None, "https://m.example.org/c.png"]}
    )  # fmt: skip
    df = pd.concat([_boxes(), masks], ignore_index=True)
    items = import_file_items(df)
    assert [(i["externalId"], len(i["objects"])) for i in items] == [
        ("a.jpg", 2),
        ("b.jpg", 1),
        ("c.jpg", 0),
    ]
    assert items[0]["medicalBrushDataUrl"] == "https://m.example.org/a.seg.nrrd"
    assert items[2]["brushDataUrl"] == "https://m.example.org/c.png"
    skipped = build_labels(df, "P", on_error="skip")  # the spec body: the masks are rejected
    assert set(skipped.failures["reason"]) == {"brush_needs_import_file"}
    assert list(skipped.rejected.index) == [3, 4]
    assert [k for _, k in skipped.keys] == ["a.jpg", "b.jpg"]


def test_bad_masks_are_named():
    df = pd.DataFrame(
        {"external_id": ["a.jpg", "a.jpg", "b.jpg"],
         "brush_data_url": ["https://m.org/1.png", "https://m.org/2.png", "javascript:x()"]}
    )  # fmt: skip
    fc = validate_labels(df, body="import-file")
    assert fc[["row", "reason"]].values.tolist() == [[1, "conflicting_brush"], [2, "invalid_url"]]


def test_annotate_sends_the_mask_beside_the_answer():
    df = pd.DataFrame({"task_id": ["t1"], "brush_data_url": ["https://m.org/1.png"]})
    assert annotate_payloads(df) == {
        "t1": {"answer": {"objects": [], "classifications": [], "relations": []},
               "brushDataUrl": "https://m.org/1.png"}
    }  # fmt: skip


# -- medical 3D boxes and 3D lines ---------------------------------------------------------


def _three_d(tool: str | None, **over) -> pd.DataFrame:
    cols = {"external_id": ["ct.nrrd"], "schema_id": ["s-3d"], "x1": [1.0], "y1": [2.0],
            "z1": [3.0], "x2": [4.0], "y2": [5.0], "z2": [6.0], **over}  # fmt: skip
    if tool:
        cols["tool"] = [tool]
    return pd.DataFrame(cols)


CORNERS = {"x1": 1.0, "y1": 2.0, "z1": 3.0, "x2": 4.0, "y2": 5.0, "z2": 6.0}
MEDICAL = [
    {"externalId": "ct.nrrd", "assetId": "A", "task": {"taskId": "T", "tools": [
        {"objectId": "b1", "schemaId": "s-3d",
         "bounding-box": {"x1": 10, "y1": 2, "z1": 3, "x2": 4, "y2": 5, "z2": 9}},
        {"objectId": "l1", "schemaId": "s-line", "polyline": [[1, 2, 3], [4, 5, 6], [7, 8, 9.5]]},
    ]}}
]  # fmt: skip


def test_3d_boxes_and_lines_of_an_export_are_built_back_as_they_were(tmp_path):
    path = tmp_path / "medical.json"
    path.write_text(json.dumps(MEDICAL))
    tables = read_export(str(path))
    assert list(tables.objects["tool"]) == ["bounding-box-3d", "line-3d"]
    objects = build_labels(tables, "P").labels[0]["answer"]["objects"]
    tools = MEDICAL[0]["task"]["tools"]
    assert objects == [
        {"schemaId": "s-3d", "objectId": "b1", "bounding-box": tools[0]["bounding-box"]},
        {"schemaId": "s-line", "objectId": "l1", "polyline": tools[1]["polyline"]},
    ]


@pytest.mark.parametrize("tool", ["bounding-box-3d", None])
def test_3d_boxes_from_corner_columns(tool):
    obj = labels_payload(_three_d(tool), "P")["labels"][0]["answer"]["objects"][0]
    assert obj["bounding-box"] == CORNERS


def test_an_ontology_bounding_box_with_z_columns_is_a_3d_box():
    onto = {"tools": [{"schemaId": "s-3d", "title": "lesion", "tool": "bounding-box"}]}
    for tool in ("bounding-box-3d", None):
        obj = labels_payload(_three_d(tool), "P", onto)["labels"][0]["answer"]["objects"][0]
        assert obj["bounding-box"] == CORNERS


@pytest.mark.parametrize(
    "tool, over, column, reason",
    [
        ("bounding-box-3d", {"z2": [3.0]}, "z2", "non_positive_size"),
        ("bounding-box-3d", {"z1": ["deep"]}, "z1", "wrong_type"),
        ("bounding-box-3d", {"z2": [float("inf")]}, "z2", "not_finite"),
        ("line-3d", {"points": [[[1, 2, 3]]]}, "points", "wrong_arity"),
        ("line-3d", {"points": [[[1, 2], [3, 4]]]}, "points", "wrong_arity"),
        ("line-3d", {"points": [[[1, 2, True], [3, 4, 5]]]}, "points", "wrong_type"),
        ("line-3d", {"points": [[[1, 2, 3], [3, 4, float("nan")]]]}, "points", "not_finite"),
    ],
)
def test_bad_3d_shapes_are_named(tool, over, column, reason):
    fc = validate_labels(_three_d(tool, **over))
    assert fc[["column", "reason"]].values.tolist() == [[column, reason]]
