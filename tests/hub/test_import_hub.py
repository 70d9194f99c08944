"""Imports end to end against the local hub: what goes in comes back out of the next export."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ango_frames import PayloadError, labels_payload, read_export
from ango_frames.imports.send import import_attachments, import_labels

GEOMETRY = [
    "tool",
    "page",
    "x",
    "y",
    "width",
    "height",
    "rotation",
    "points",
    "zones",
    "start",
    "end",
    "interpolation_stopped",
]
ANSWERS = ["schema_id", "type", "answer", "answer_index", "answer_is_list", "answer_path", "page"]


def _plain(df: pd.DataFrame, cols: list[str]) -> list[tuple]:
    """Rows as sorted tuples of plain Python values (lists and NaN compared by value)."""

    def norm(v):
        if isinstance(v, (list, tuple, np.ndarray)):
            return json.dumps(np.asarray(v, dtype=object).tolist(), default=str)
        if isinstance(v, dict):
            return json.dumps(v, sort_keys=True, default=str)
        return None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v

    rows = [tuple(norm(v) for v in row) for row in df[cols].astype(object).itertuples(index=False)]
    return sorted(rows, key=repr)


def test_whole_demo_project_round_trips_losslessly(hub, client):
    before = read_export(client.export(hub.project_id, format="ndjson"))
    ontology = client.get_project(hub.project_id)
    results = import_labels(client, hub.project_id, before, ontology=ontology, chunk_rows=64)
    assert (results["status"] == "sent").all() and len(results) == len(before.tasks)
    after = read_export(client.export(hub.project_id, format="ndjson"))

    keys = ["task_id", "object_id", "schema_id", "title"]
    assert _plain(after.objects, keys + GEOMETRY) == _plain(before.objects, keys + GEOMETRY)
    # classification ids are the hub's to give: compare the answers by owner and schema
    assert _plain(after.classifications, ["task_id", "object_id", *ANSWERS]) == _plain(
        before.classifications, ["task_id", "object_id", *ANSWERS]
    )
    rel = [
        "task_id",
        "schema_id",
        "kind",
        "from_object_id",
        "to_object_id",
        "direction",
        "group_object_ids",
        "page",
    ]
    assert _plain(after.relations, rel) == _plain(before.relations, rel)


def test_predictions_frame_with_nested_and_global_answers_and_relations(hub, client):
    frame = pd.DataFrame(
        {
            "external_id": ["img-0000.jpg", "img-0000.jpg", "img-0001.jpg"],
            "object_id": ["p1", "p2", "p3"],
            "title": ["car", "person", "car"],
            "x": [10.0, 300.5, 40.0],
            "y": [20.0, 100.0, 50.25],
            "width": [100.0, 60.0, 30.0],
            "height": [50.0, 120.0, 30.0],
            "occluded": ["yes", None, "no"],
            "score": [0.9, 0.8, 0.7],
        }
    )
    answers = pd.DataFrame(
        {
            "external_id": ["img-0000.jpg", "img-0000.jpg", "img-0000.jpg"],
            "title": ["weather", "visible", "visible"],
            "answer": ["rain", "headlights", "plate"],
        }
    )
    relations = pd.DataFrame(
        {
            "external_id": ["img-0000.jpg"],
            "title": ["drives"],
            "from_object_id": ["p2"],
            "to_object_id": ["p1"],
            "direction": ["straight"],
        }
    )
    results = import_labels(
        client,
        hub.project_id,
        frame,
        nested={"occluded": "occluded"},
        classifications=answers,
        relations=relations,
    )
    assert list(results["n_objects"]) == [2, 1]
    assert results["score_max"].tolist() == [0.9, 0.7]
    after = read_export(client.export(hub.project_id, format="json"))
    ids = after.tasks.set_index("external_id")["task_id"]
    objs = after.objects[after.objects.task_id.isin([ids["img-0000.jpg"], ids["img-0001.jpg"]])]
    got = objs.set_index("object_id")[["title", "x", "y", "width", "height"]].sort_index()
    want = frame.set_index("object_id")[["title", "x", "y", "width", "height"]].sort_index()
    pd.testing.assert_frame_equal(
        got.astype(object), want.astype(object), check_names=False, check_index_type=False
    )
    cls = after.classifications
    nested = cls[cls.object_id.isin(["p1", "p3"])].set_index("object_id")["answer"].to_dict()
    assert nested == {"p1": "yes", "p3": "no"}
    glob = cls[(cls.task_id == ids["img-0000.jpg"]) & cls.object_id.isna()]
    assert sorted(glob.answer) == ["headlights", "plate", "rain"]
    assert glob.loc[glob.title == "visible", "answer_is_list"].all()
    rel = after.relations[after.relations.task_id == ids["img-0000.jpg"]].iloc[0]
    assert (rel.from_object_id, rel.to_object_id, rel.kind) == ("p2", "p1", "single")


def test_one_bad_row_of_each_kind_is_reported_and_nothing_is_sent(hub, client):
    frame = pd.DataFrame(
        {
            "external_id": [
                "img-0000.jpg",
                None,
                "img-0001.jpg",
                "img-0001.jpg",
                "img-0002.jpg",
                "img-0002.jpg",
                "img-0003.jpg",
                "img-0003.jpg",
            ],
            "object_id": ["a", "b", "c", "d", "e", "e", "f", "g"],
            "title": ["car", "car", "no-such-class", "car", "car", "car", "car", "car"],
            "x": [1.0, 1.0, 1.0, np.nan, 1.0, 1.0, 5000.0, 1.0],
            "y": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            "width": [10.0, 10.0, 10.0, 10.0, -3.0, 10.0, 10.0, 10.0],
            "height": [10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0],
            "occluded": ["yes", None, None, None, None, None, None, "maybe"],
            "asset_width": [1280.0] * 8,
            "asset_height": [720.0] * 8,
        }
    )
    relations = pd.DataFrame(
        {
            "external_id": ["img-0000.jpg"],
            "title": ["drives"],
            "from_object_id": ["a"],
            "to_object_id": ["zz"],
            "direction": ["straight"],
        }
    )
    before = len(hub.requests)
    with pytest.raises(PayloadError) as info:
        import_labels(
            client, hub.project_id, frame, nested={"occluded": "occluded"}, relations=relations
        )
    reasons = set(info.value.failure_cases["reason"])
    assert {
        "missing_asset_key",
        "unknown_class",
        "not_finite",
        "non_positive_size",
        "duplicate_object_id",
        "out_of_bounds",
        "unknown_option",
        "dangling_relation",
    } <= reasons
    assert not [r for r in hub.requests[before:] if r.path == "/v2/import/labels"]


def test_attachments_arrive(hub, client):
    frame = pd.DataFrame(
        {
            "external_id": ["img-0000.jpg", "img-0001.jpg"],
            "attachment_url": [
                "https://files.example.org/a.pdf",
                "https://files.example.org/b.pdf",
            ],
            "attachment_type": ["pdf", "document"],
        }
    )
    results = import_attachments(client, hub.project_id, frame)
    assert (results["status"] == "sent").all()
    got = hub.attachments("img-0000.jpg")
    assert [a["attachmentUrl"] for a in got] == ["https://files.example.org/a.pdf"]


def test_annotate_frame_arrives_in_the_export(hub, client):
    before = read_export(client.export(hub.project_id, format="ndjson"))
    task = before.tasks.iloc[0]
    frame = pd.DataFrame(
        {
            "task_id": [task.task_id],
            "title": ["person"],
            "x": [5.0],
            "y": [6.0],
            "width": [7.0],
            "height": [8.0],
        }
    )
    results = client.annotate(frame, project=hub.project_id)
    assert (results["status"] == "sent").all()
    after = read_export(client.export(hub.project_id, format="ndjson"))
    objs = after.objects[after.objects.task_id == task.task_id]
    assert objs[["title", "x", "y", "width", "height"]].astype(object).values.tolist() == [
        ["person", 5.0, 6.0, 7.0, 8.0]
    ]


def test_shared_import_samples_round_trip_through_the_tables(samples):
    """Sample import files -> tables -> payload: the same objects and answers come back."""
    checked = 0
    for path in sorted((samples / "import").glob("*.json")):
        if ".invalid." in path.name:
            continue
        items = json.loads(path.read_text())
        if not any("externalId" in i and ("objects" in i or "classifications" in i) for i in items):
            continue  # keyed by asset URL (`data`), which POST /import/labels cannot address
        try:
            body = labels_payload(read_export(str(path)), "p")
        except PayloadError as exc:
            pytest.fail(f"{path.name}: {exc}")
        sent = {lab["externalId"]: lab["answer"] for lab in body["labels"]}
        for item in items:
            answer = sent[item["externalId"]]
            for key in ("objects", "classifications"):
                want = item.get(key, [])
                got = answer.get(key, [])
                assert len(got) == len(want), (path.name, key)
                for w, g in zip(want, got):
                    geometry = [
                        k
                        for k in w
                        if k
                        in (
                            "bounding-box",
                            "polygon",
                            "polyline",
                            "point",
                            "ner",
                            "rotated-bounding-box",
                            "segmentation",
                        )
                    ]
                    for k in geometry:
                        assert g[k] == w[k], (path.name, k)
                    if "answer" in w:
                        assert g["answer"] == w["answer"], path.name
        checked += 1
    assert checked >= 8
