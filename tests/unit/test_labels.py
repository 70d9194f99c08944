"""labels_payload / build_labels: column conventions -> the exact ImportLabelsRequest body."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from ango_frames.errors import ConfigError
from ango_frames.imports.labels import build_labels, labels_payload

SCHEMA = {
    "tools": [
        {
            "tool": "bounding-box",
            "title": "car",
            "schemaId": "t-car",
            "classifications": [
                {
                    "tool": "radio",
                    "title": "occluded",
                    "schemaId": "c-occ",
                    "options": [
                        {"value": "yes", "schemaId": "o1"},
                        {"value": "no", "schemaId": "o2"},
                    ],
                },
                {
                    "tool": "checkbox",
                    "title": "parts",
                    "schemaId": "c-parts",
                    "options": [
                        {"value": "wheel", "schemaId": "o3"},
                        {"value": "door", "schemaId": "o4"},
                    ],
                },
            ],
        },
        {"tool": "polyline", "title": "lane", "schemaId": "t-lane"},
        {"tool": "polygon", "title": "road", "schemaId": "t-road"},
        {"tool": "point", "title": "light", "schemaId": "t-light"},
    ],
    "classifications": [],
    "relations": [],
}


def _spec_check(body: dict) -> None:
    """The body follows openapi.json's ImportLabelsRequest (required keys, types, no extras)."""
    spec = json.loads(
        resources.files("ango_frames").joinpath("spec/openapi.json").read_text(encoding="utf-8")
    )
    req = spec["components"]["schemas"]["ImportLabelsRequest"]
    assert set(req["required"]) <= set(body) <= set(req["properties"])
    assert isinstance(body["project"], str)
    item = req["properties"]["labels"]["items"]
    for label in body["labels"]:
        assert set(item["required"]) <= set(label) <= set(item["properties"])
        assert ("assetId" in label) != ("externalId" in label)
        assert set(label["answer"]) == {"objects", "classifications", "relations"}
        for key in set(label) - {"answer"}:
            assert isinstance(label[key], str)


def boxes(**extra) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "external_id": ["a.jpg", "b.jpg", "a.jpg"],
            "schema_id": ["t-car", "t-car", "t-car"],
            "x": [10.0, 20.0, 30.0],
            "y": [1.0, 2.0, 3.0],
            "width": [5.0, 6.0, 7.0],
            "height": [8.0, 9.0, 10.0],
        }
    )
    for k, v in extra.items():
        df[k] = v
    return df


def test_plain_box_frame_needs_no_configuration():
    body = labels_payload(boxes(), "proj-1")
    _spec_check(body)
    assert body["project"] == "proj-1"
    assert [lb["externalId"] for lb in body["labels"]] == ["a.jpg", "b.jpg"]
    objs = body["labels"][0]["answer"]["objects"]
    assert [o["bounding-box"] for o in objs] == [
        {"x": 10.0, "y": 1.0, "width": 5.0, "height": 8.0},
        {"x": 30.0, "y": 3.0, "width": 7.0, "height": 10.0},
    ]
    assert {o["schemaId"] for o in objs} == {"t-car"}
    assert len({o["objectId"] for o in objs}) == 2


def test_asset_id_wins_over_external_id():
    df = boxes(asset_id=["A1", None, "A1"])
    body = labels_payload(df, "p")
    assert [{k: v for k, v in lb.items() if k != "answer"} for lb in body["labels"]] == [
        {"assetId": "A1"},
        {"externalId": "b.jpg"},
    ]


@pytest.mark.parametrize(
    ("fmt", "cols"),
    [
        ("xyxy", {"x1": [10.0], "y1": [20.0], "x2": [40.0], "y2": [60.0]}),
        ("cxcywh", {"cx": [25.0], "cy": [40.0], "width": [30.0], "height": [40.0]}),
        ("xywh", {"x": [10.0], "y": [20.0], "width": [30.0], "height": [40.0]}),
    ],
)
def test_box_formats_all_send_top_left_xywh(fmt, cols):
    df = pd.DataFrame({"external_id": ["a"], "schema_id": ["t-car"], **cols})
    obj = labels_payload(df, "p", box_format=fmt)["labels"][0]["answer"]["objects"][0]
    assert obj["bounding-box"] == {"x": 10.0, "y": 20.0, "width": 30.0, "height": 40.0}


def test_normalized_boxes_use_asset_size_columns_or_sizes_frame():
    df = pd.DataFrame(
        {
            "external_id": ["a"],
            "schema_id": ["t-car"],
            "x": [0.1],
            "y": [0.5],
            "width": [0.2],
            "height": [0.25],
        }
    )
    with_cols = df.assign(asset_width=[1000], asset_height=[400])
    got = labels_payload(with_cols, "p", normalized=True)["labels"][0]["answer"]["objects"][0]
    assert got["bounding-box"] == pytest.approx(
        {"x": 100.0, "y": 200.0, "width": 200.0, "height": 100.0}
    )
    tasks = pd.DataFrame({"external_id": ["a"], "metadata_width": [1000], "metadata_height": [400]})
    got2 = labels_payload(df, "p", normalized=True, sizes=tasks)["labels"][0]["answer"]["objects"][
        0
    ]
    assert got2["bounding-box"] == got["bounding-box"]


def test_generated_ids_are_deterministic_and_tracks_share_one():
    df = pd.DataFrame(
        {
            "external_id": ["v.mp4"] * 4,
            "schema_id": ["t-car"] * 4,
            "track_id": ["t1", "t1", "t2", None],
            "page": [0, 1, 0, 0],
            "x": [1.0, 2.0, 3.0, 4.0],
            "y": [1.0] * 4,
            "width": [1.0] * 4,
            "height": [1.0] * 4,
        }
    )
    first = build_labels(df, "p")
    again = build_labels(df.copy(), "p")
    assert first.body == again.body
    ids = [o["objectId"] for o in first.labels[0]["answer"]["objects"]]
    assert ids[0] == ids[1] and len(set(ids)) == 3
    assert [o["page"] for o in first.labels[0]["answer"]["objects"]] == [0, 1, 0, 0]
    assert list(first.id_map["object_id"]) == ids
    assert list(first.id_map["track_id"]) == ["t1", "t1", "t2", None]
    # another asset with the same rows gets other ids
    other = build_labels(df.assign(external_id="w.mp4"), "p")
    assert not set(ids) & {o["objectId"] for o in other.labels[0]["answer"]["objects"]}


def test_given_object_ids_are_kept_and_not_in_id_map():
    batch = build_labels(boxes(object_id=["o1", "o2", "o3"]), "p")
    assert [o["objectId"] for o in batch.labels[0]["answer"]["objects"]] == ["o1", "o3"]
    assert batch.id_map.empty


def test_titles_resolve_through_the_ontology():
    df = boxes().drop(columns="schema_id").assign(title="car")
    body = labels_payload(df, "p", SCHEMA)
    assert {o["schemaId"] for lb in body["labels"] for o in lb["answer"]["objects"]} == {"t-car"}
    with pytest.raises(ConfigError, match="ontology"):
        labels_payload(df, "p")


def test_tool_comes_from_ontology_then_from_columns():
    df = pd.DataFrame(
        {
            "external_id": ["a", "a", "a"],
            "schema_id": ["t-lane", "t-road", "t-light"],
            "points": [[[0, 0], [5, 5]], [0, 0, 10, 0, 10, 10], [[3.5, 4.5]]],
        }
    )
    objs = labels_payload(df, "p", SCHEMA)["labels"][0]["answer"]["objects"]
    assert objs[0]["polyline"] == [[0.0, 0.0], [5.0, 5.0]]
    assert objs[1]["polygon"] == [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]]
    assert objs[2]["point"] == [3.5, 4.5]
    # without ontology: a tool column, or points taken as a polygon
    no_onto = labels_payload(df.assign(tool=["polyline", "polygon", "point"]), "p")
    assert no_onto == labels_payload(df, "p", SCHEMA)


def test_other_tools_build_their_import_shapes():
    df = pd.DataFrame(
        {
            "external_id": ["doc"] * 5,
            "schema_id": ["s-ner", "s-pdf", "s-rot", "s-seg", "s-pt"],
            "tool": ["ner", "pdf", "rotated-bounding-box", "segmentation", "point"],
            "start": [3, None, None, None, None],
            "end": [7, None, None, None, None],
            "pdf_page": [2, None, None, None, None],
            "pdf_x1": [None, 100.0, None, None, None],
            "pdf_y1": [None, 250.0, None, None, None],
            "pdf_x2": [None, 200.0, None, None, None],
            "pdf_y2": [None, 350.0, None, None, None],
            "pdf_page_width": [None, 800.0, None, None, None],
            "pdf_page_height": [None, 1200.0, None, None, None],
            "pdf_text": [None, "Label Text", None, None, None],
            "x": [None, None, 100.0, None, 7.0],
            "y": [None, None, 100.0, None, 8.0],
            "width": [None, None, 50.0, None, None],
            "height": [None, None, 20.0, None, None],
            "rotation": [None, None, -12.0, None, None],
            "zones": [
                None,
                None,
                None,
                [{"region": [[0, 0], [4, 0], [4, 4]], "holes": [[[1, 1], [2, 1], [2, 2]]]}],
                None,
            ],
        }
    )
    df.loc[1, "pdf_page"] = 2
    df.loc[0, "pdf_page"] = None
    objs = labels_payload(df, "p")["labels"][0]["answer"]["objects"]
    assert objs[0]["ner"] == {"start": 3, "end": 7}
    assert objs[1]["pdf"] == {
        "x1": 100.0, "y1": 250.0, "x2": 200.0, "y2": 350.0,
        "width": 800.0, "height": 1200.0, "pageNumber": 2, "text": "Label Text",
    }  # fmt: skip
    assert objs[2]["rotated-bounding-box"] == {
        "x": 100.0,
        "y": 100.0,
        "width": 50.0,
        "height": 20.0,
        "rotation": -12.0,
    }
    assert objs[3]["segmentation"] == {
        "zones": [
            {
                "region": [[0.0, 0.0], [4.0, 0.0], [4.0, 4.0]],
                "holes": [[[1.0, 1.0], [2.0, 1.0], [2.0, 2.0]]],
            }
        ]
    }
    assert objs[4]["point"] == [7.0, 8.0]
    assert all(
        set(o) == {"schemaId", "objectId", o_tool}
        for o, o_tool in zip(objs, df["tool"], strict=True)
    )


def test_nested_columns_become_nested_answers():
    df = boxes(occ=["yes", None, "no"], parts=[["wheel", "door"], None, "door"])
    body = labels_payload(df, "p", SCHEMA, nested={"occluded": "occ", "c-parts": "parts"})
    a_objs = body["labels"][0]["answer"]["objects"]
    assert a_objs[0]["classifications"] == [
        {"schemaId": "c-occ", "answer": "yes"},
        {"schemaId": "c-parts", "answer": ["wheel", "door"]},
    ]
    assert a_objs[1]["classifications"] == [
        {"schemaId": "c-occ", "answer": "no"},
        {"schemaId": "c-parts", "answer": ["door"]},
    ]
    assert "classifications" not in body["labels"][1]["answer"]["objects"][0]


def test_score_is_reported_not_sent_and_status_assignee_on_every_label():
    batch = build_labels(boxes(score=[0.9, 0.5, np.nan]), "p", status="Completed", assignee="a@b.c")
    assert "score" not in json.dumps(batch.body)
    assert list(batch.scores["score"]) == [0.9, 0.5]
    assert list(batch.scores["label"]) == [0, 1]
    assert all(lb["status"] == "Completed" and lb["assignee"] == "a@b.c" for lb in batch.labels)
    assert [list(r) for r in batch.row_index] == [[0, 2], [1]]
    _spec_check(batch.body)


def test_global_classifications_and_relations_frames():
    df = boxes(object_id=["o1", "o2", "o3"])
    cls = pd.DataFrame(
        {
            "external_id": ["a.jpg", "a.jpg", "b.jpg"],
            "schema_id": ["g-check", "g-check", "g-text"],
            "answer": ["y", "x", "hello"],
            "answer_index": [1, 0, None],
            "answer_is_list": [True, True, False],
        }
    )
    rel = pd.DataFrame(
        {
            "external_id": ["a.jpg", "a.jpg"],
            "schema_id": ["r1", "r2"],
            "from_object_id": ["o1", None],
            "to_object_id": ["o3", None],
            "direction": ["straight", None],
            "group_object_ids": [None, ["o1", "o3"]],
        }
    )
    body = labels_payload(df, "p", classifications=cls, relations=rel)
    a, b = body["labels"]
    assert a["answer"]["classifications"] == [{"schemaId": "g-check", "answer": ["x", "y"]}]
    assert b["answer"]["classifications"] == [{"schemaId": "g-text", "answer": "hello"}]
    assert a["answer"]["relations"] == [
        {"schemaId": "r1", "from": "o1", "to": "o3", "direction": "straight"},
        {"schemaId": "r2", "group": ["o1", "o3"]},
    ]
    assert b["answer"]["relations"] == []


def test_relations_may_name_objects_by_track_id():
    df = boxes(track_id=["car-1", "x", "car-2"])
    rel = pd.DataFrame(
        {
            "external_id": ["a.jpg"],
            "schema_id": ["r1"],
            "from_object_id": ["car-1"],
            "to_object_id": ["car-2"],
        }
    )
    batch = build_labels(df, "p", relations=rel)
    objs = batch.labels[0]["answer"]["objects"]
    (relation,) = batch.labels[0]["answer"]["relations"]
    assert (relation["from"], relation["to"]) == (objs[0]["objectId"], objs[1]["objectId"])
