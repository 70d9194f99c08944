"""``df.ango``: every method against the local hub (real HTTP on 127.0.0.1), and wrong frames."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import ango_frames.accessor  # noqa: F401  (registers DataFrame.ango)
from ango_frames import read_export
from ango_frames.errors import MissingColumnsError, PayloadError
from ango_frames.imports.labels import validate_labels
from ango_frames.imports.send import DryRun
from tests.conftest import make_client

ONTOLOGY_WITH_CAR = {"tools": [{"schemaId": "s-car", "title": "car", "tool": "bounding-box"}]}


@pytest.fixture(scope="module")
def demo(shared_hub, tmp_path_factory):
    """The demo project's tables (with asset sizes) and the project (its ontology)."""
    with make_client(shared_hub) as client:
        export = client.export(
            shared_hub.project_id,
            format="ndjson",
            include_metadata=True,
            dest=str(tmp_path_factory.mktemp("export") / "export.zip"),
        )
        project = client.get_project(shared_hub.project_id)
    return read_export(export), project


def _schema_ids(project: dict) -> dict[str, str]:
    return {t["title"]: t["schemaId"] for t in project["categorySchema"]["tools"]}


def predictions(tables, n_assets: int = 6) -> pd.DataFrame:
    """Two boxes with a score on each of the first image assets that have no labels yet."""
    tasks = tables.tasks
    empty = tasks[
        ~tasks["task_id"].isin(tables.objects["task_id"])
        & tasks["external_id"].str.endswith(".jpg")
    ].head(n_assets)
    rows = []
    for i, r in enumerate(empty.itertuples()):
        for k, title in enumerate(("car", "person")):
            rows.append(
                {
                    "external_id": r.external_id,
                    "title": title,
                    "x": 10.0 * (i + 1),
                    "y": 20.0 + k,
                    "width": r.metadata_width / 4,
                    "height": r.metadata_height / 4,
                    "score": 0.5 + 0.1 * k,
                }
            )
    return pd.DataFrame(rows)


def test_import_registers_the_accessor():
    assert isinstance(pd.DataFrame.ango, type)
    frame = pd.DataFrame({"a": [1]})
    assert "1 rows" in repr(frame.ango)


# -- prediction frames -------------------------------------------------------------------------


def test_validate_is_empty_for_good_rows_and_names_every_bad_one(demo):
    tables, project = demo
    pred = predictions(tables)
    assert pred.ango.validate(ontology=project).empty
    # the project itself, given positionally, serves as the ontology
    assert pred.ango.validate(project).empty
    bad = pred.copy()
    bad.loc[1, "width"] = np.nan
    bad.loc[4, "title"] = "truck"
    failures = bad.ango.validate(ontology=project)
    got = set(zip(failures["row"], failures["column"], failures["reason"]))
    assert got == {(1, "width", "not_finite"), (4, "title", "unknown_class")}


def test_to_labels_builds_one_label_per_asset_with_resolved_classes(demo):
    tables, project = demo
    pred = predictions(tables)
    body = pred.ango.to_labels("p-1", ontology=project)
    assert body["project"] == "p-1"
    assert [label["externalId"] for label in body["labels"]] == list(pd.unique(pred["external_id"]))
    ids = _schema_ids(project)
    first = body["labels"][0]["answer"]["objects"]
    assert [o["schemaId"] for o in first] == [ids["car"], ids["person"]]
    row = pred.iloc[0]
    assert first[0]["bounding-box"] == {
        "x": row.x,
        "y": row.y,
        "width": row.width,
        "height": row.height,
    }


def test_to_labels_raises_payload_error_with_failure_cases(demo):
    tables, project = demo
    pred = predictions(tables)
    pred["x"] = pred["x"].astype(object)
    pred.loc[2, "x"] = "left"
    with pytest.raises(PayloadError) as info:
        pred.ango.to_labels("p-1", ontology=project)
    cases = info.value.failure_cases
    assert list(cases[["row", "column", "reason"]].itertuples(index=False, name=None)) == [
        (2, "x", "wrong_type")
    ]


def test_import_labels_arrive_in_the_re_export(hub, client):
    before = read_export(client.export(hub.project_id, format="ndjson", include_metadata=True))
    pred = predictions(before, n_assets=5)
    plan = pred.ango.import_labels(client, hub.project_id, dry_run=True, chunk_rows=2)
    assert isinstance(plan, DryRun)
    assert list(plan.plan["items"]) == [2, 2, 1]
    assert not any(r.method == "POST" for r in hub.requests)  # a dry run sends nothing

    results = pred.ango.import_labels(client, hub.project_id, chunk_rows=2)
    assert results["status"].eq("sent").all()
    assert list(results["n_objects"]) == [2] * 5
    after = read_export(client.export(hub.project_id, format="ndjson"))
    task_of = before.tasks.set_index("external_id")["task_id"]
    new = after.objects[after.objects["task_id"].isin(task_of[pred["external_id"]])]
    assert len(new) == len(pred)
    assert sorted(new["x"].astype(float)) == sorted(pred["x"])


def test_annotate_posts_one_request_per_task(hub, client):
    tables = read_export(client.export(hub.project_id, format="ndjson", include_metadata=True))
    pred = predictions(tables, n_assets=2)
    task_of = tables.tasks.set_index("external_id")["task_id"]
    frame = pred.assign(task_id=task_of[pred["external_id"]].to_numpy()).drop(columns="external_id")
    results = frame.ango.annotate(client, project=hub.project_id)
    assert results["status"].eq("sent").all()
    assert sorted(results["key"]) == sorted(frame["task_id"].unique())
    posted = [r.path for r in hub.requests if r.method == "POST"]
    assert sorted(posted) == sorted(f"/v2/annotate/{t}" for t in frame["task_id"].unique())
    after = read_export(client.export(hub.project_id, format="ndjson"))
    got = after.objects[after.objects["task_id"].isin(frame["task_id"])]
    assert sorted(got["title"]) == sorted(frame["title"])


# -- attachment frames -------------------------------------------------------------------------


def test_attachments_payload_and_import(hub, client):
    frame = pd.DataFrame(
        {
            "external_id": ["img-0000.jpg", "img-0001.jpg"],
            "attachment_url": ["https://example.org/a.txt", "https://example.org/b.png"],
            "attachment_type": ["TEXT", "IMAGE"],
        }
    )
    body = frame.ango.to_attachments(hub.project_id)
    assert [a["attachmentUrl"] for a in body["attachments"]] == list(frame["attachment_url"])
    results = frame.ango.import_attachments(client, hub.project_id)
    assert results["status"].eq("sent").all()
    for ext, url in zip(frame["external_id"], frame["attachment_url"]):
        assert url in [a.get("attachmentUrl", a.get("url")) for a in hub.attachments(ext)]


# -- exported tables ---------------------------------------------------------------------------


def test_boxes_normalised_xyxy(demo):
    tables, _ = demo
    bx = tables.objects.ango.boxes(tables.tasks, format="xyxy", normalized=True)
    objects = tables.objects[tables.objects["tool"] == "bounding-box"]
    assert len(bx) == len(objects)
    assert list(bx.columns[-4:]) == ["x1", "y1", "x2", "y2"]
    size = tables.tasks.set_index("task_id")[["metadata_width", "metadata_height"]]
    first = objects.iloc[0]
    width, height = size.loc[first["task_id"]].astype(float)
    row = bx.set_index("object_id").loc[first["object_id"]]
    row = row.iloc[0] if isinstance(row, pd.DataFrame) else row
    assert row["x2"] == pytest.approx((first["x"] + first["width"]) / width)
    assert row["y1"] == pytest.approx(first["y"] / height)
    pixels = tables.objects.ango.boxes()
    assert (pixels["x2"] >= pixels["x1"]).all()


def test_class_index_and_split(demo):
    tables, _ = demo
    index = tables.objects.ango.class_index()
    titles = sorted(tables.objects["title"].dropna().unique())
    assert index == {t: i for i, t in enumerate(titles)}
    side = tables.objects.ango.split(validation=0.3, seed=1)
    assert side.index.equals(tables.objects.index)
    per_task = side.groupby(tables.objects["task_id"]).nunique()
    assert (per_task == 1).all()  # no asset on both sides
    share = (side == "validation").groupby(tables.objects["task_id"]).first().mean()
    assert 0.15 < share < 0.45
    assert side.equals(tables.objects.ango.split(validation=0.3, seed=1))


def test_to_coco_and_to_yolo_write_files(demo, tmp_path):
    tables, _ = demo
    coco = tables.objects.ango.to_coco(tables.tasks, str(tmp_path / "coco.json"))
    on_disk = json.loads((tmp_path / "coco.json").read_text())
    assert on_disk == coco
    n_boxes = int((tables.objects["tool"] == "bounding-box").sum())
    assert len(coco["annotations"]) == n_boxes
    assert {c["name"] for c in coco["categories"]} == {"car", "person"}

    index = tables.objects.ango.to_yolo(tables.tasks, str(tmp_path / "yolo"))
    labels = sorted(p for p in (tmp_path / "yolo").iterdir() if p.name != "classes.txt")
    lines = [ln.split() for p in labels for ln in p.read_text().splitlines()]
    assert len(lines) == n_boxes
    assert all(0 <= float(v) <= 1 for ln in lines for v in ln[1:])
    assert (tmp_path / "yolo" / "classes.txt").read_text().split() == list(index)


def test_to_coco_and_to_yolo_pass_their_options_through(demo, tmp_path):
    """The options reach the training functions; a misspelt one fails as the function does."""
    tables, _ = demo
    coco = tables.objects.ango.to_coco(tables.tasks, classes=["person", "car"])
    assert [(c["id"], c["name"]) for c in coco["categories"]] == [(1, "person"), (2, "car")]
    polygons = tables.objects.ango.to_coco(tables.tasks, segmentation="polygon")
    assert any(a.get("segmentation") for a in polygons["annotations"])
    index = tables.objects.ango.to_yolo(
        tables.tasks, str(tmp_path / "yolo"), classes=["person", "car"]
    )
    assert list(index) == ["person", "car"]
    with pytest.raises(TypeError, match="clases"):
        tables.objects.ango.to_coco(tables.tasks, clases=["car"])
    with pytest.raises(TypeError, match="clases"):
        tables.objects.ango.to_yolo(tables.tasks, str(tmp_path / "y2"), clases=["car"])


# -- wrong frames: MissingColumnsError naming the columns --------------------------------------


def test_validate_fails_exactly_as_validate_labels_does():
    """No asset key: the accessor returns the same failure table, it does not raise."""
    frame = pd.DataFrame({"title": ["car"], "x": [1.0], "y": [1.0], "width": [2.0], "height": [2]})
    got = frame.ango.validate(ontology=ONTOLOGY_WITH_CAR)
    assert list(got["reason"]) == ["missing_asset_key"]
    pd.testing.assert_frame_equal(got, validate_labels(frame, ONTOLOGY_WITH_CAR))
    bare = pd.DataFrame({"x": [1.0]})
    assert set(bare.ango.validate()["reason"]) == {"missing_asset_key", "missing_column"}
    pd.testing.assert_frame_equal(bare.ango.validate(), validate_labels(bare))


@pytest.mark.parametrize(
    "method, args",
    [
        ("to_labels", ("p-1",)),
        ("import_labels", ("CLIENT", "p-1")),
    ],
)
def test_label_methods_name_the_missing_asset_key(method, args, client):
    frame = pd.DataFrame({"title": ["car"], "x": [1.0], "y": [1.0], "width": [2.0], "height": [2]})
    args = tuple(client if a == "CLIENT" else a for a in args)
    with pytest.raises(MissingColumnsError) as info:
        getattr(frame.ango, method)(*args)
    assert info.value.missing == ["asset_id", "external_id"]
    assert method in str(info.value)


def test_label_methods_name_the_missing_class(client, hub):
    frame = pd.DataFrame({"external_id": ["a.jpg"], "x": [1.0], "y": [1.0]})
    with pytest.raises(MissingColumnsError) as info:
        frame.ango.import_labels(client, hub.project_id)
    assert info.value.missing == ["schema_id", "title"]
    assert not any(r.method == "POST" for r in hub.requests)


def test_annotate_needs_task_id(client):
    frame = pd.DataFrame({"external_id": ["a.jpg"], "schema_id": ["s"], "x": [1.0]})
    with pytest.raises(MissingColumnsError) as info:
        frame.ango.annotate(client)
    assert info.value.missing == ["task_id"]


def test_attachment_methods_name_the_missing_url(client, hub):
    frame = pd.DataFrame({"external_id": ["img-0000.jpg"], "link": ["https://example.org/a"]})
    with pytest.raises(MissingColumnsError) as info:
        frame.ango.to_attachments(hub.project_id)
    assert info.value.missing == ["attachment_url", "url"]
    with pytest.raises(MissingColumnsError):
        frame.ango.import_attachments(client, hub.project_id)
    assert hub.attachments("img-0000.jpg") == []


def test_export_methods_name_what_the_frame_lacks(demo, tmp_path):
    tables, _ = demo
    with pytest.raises(MissingColumnsError) as info:
        tables.tasks.ango.boxes()  # the tasks table where the objects table belongs
    assert set(info.value.missing) == {"object_id", "tool", "x", "y", "width", "height"}
    with pytest.raises(MissingColumnsError) as info:
        tables.objects.ango.class_index(by="label")
    assert info.value.missing == ["label"]
    with pytest.raises(MissingColumnsError) as info:
        tables.objects.ango.split(key="asset_key")
    assert info.value.missing == ["asset_key"]
    with pytest.raises(MissingColumnsError) as info:
        tables.objects.drop(columns="page").ango.to_coco(tables.tasks)
    assert info.value.missing == ["page"]
    # assets never opened in the editor have no size: YOLO cannot normalise their boxes
    unsized = tables.tasks.drop(columns=["metadata_width", "metadata_height"])
    with pytest.raises(MissingColumnsError) as info:
        tables.objects.ango.to_yolo(unsized, str(tmp_path / "yolo"))
    assert info.value.missing == ["metadata_width", "metadata_height"]
    assert not (tmp_path / "yolo").exists()
