"""Training-data helpers on tables shaped exactly like read_export's."""

from __future__ import annotations

import json

import fsspec
import pandas as pd
import pyarrow as pa
import pytest

from ango_frames import training
from ango_frames.errors import ConfigError, MissingColumnsError
from ango_frames.schemas import SCHEMAS


def frame(table: str, rows: list[dict], extra_fields: list[pa.Field] = ()) -> pd.DataFrame:
    schema = SCHEMAS[table]
    for f in extra_fields:
        schema = schema.append(f)
    return pa.Table.from_pylist(rows, schema=schema).to_pandas(types_mapper=pd.ArrowDtype)


SIZE_FIELDS = [pa.field("metadata_width", pa.float64()), pa.field("metadata_height", pa.float64())]


@pytest.fixture
def tables():
    tasks = frame(
        "tasks",
        [
            {
                "task_id": "t1",
                "external_id": "a.jpg",
                "metadata_width": 200.0,
                "metadata_height": 100.0,
            },
            {
                "task_id": "t2",
                "external_id": "clip.mp4",
                "metadata_width": 640.0,
                "metadata_height": 480.0,
            },
        ],
        SIZE_FIELDS,
    )
    box = dict(tool="bounding-box", schema_id="s-car", title="car")
    objects = frame(
        "objects",
        [
            {
                "task_id": "t1",
                "object_id": "o1",
                "x": 10.0,
                "y": 20.0,
                "width": 50.0,
                "height": 40.0,
                **box,
            },
            {
                "task_id": "t1",
                "object_id": "o2",
                "tool": "polygon",
                "title": "road",
                "points": [[0, 0], [1, 1], [0, 1]],
            },
            {
                "task_id": "t1",
                "object_id": "o3",
                "x": 0.0,
                "y": 0.0,
                "width": 20.0,
                "height": 10.0,
                "tool": "bounding-box",
                "schema_id": "s-p",
                "title": "person",
            },
            {
                "task_id": "t2",
                "object_id": "trk",
                "page": 3,
                "x": 64.0,
                "y": 48.0,
                "width": 64.0,
                "height": 48.0,
                **box,
            },
            {
                "task_id": "t2",
                "object_id": "trk",
                "page": 4,
                "x": 70.0,
                "y": 48.0,
                "width": 64.0,
                "height": 48.0,
                **box,
            },
        ],
    )
    return objects, tasks


def test_boxes_in_each_convention(tables):
    objects, tasks = tables
    xyxy = training.boxes(objects, format="xyxy")
    assert list(xyxy["object_id"]) == ["o1", "o3", "trk", "trk"]  # the polygon is not a box
    first = xyxy.iloc[0]
    assert (first.x1, first.y1, first.x2, first.y2) == (10, 20, 60, 60)
    cx = training.boxes(objects, format="cxcywh").iloc[0]
    assert (cx.cx, cx.cy, cx.width, cx.height) == (35, 40, 50, 40)
    norm = training.boxes(objects, tasks, format="xyxy", normalized=True).iloc[0]
    assert (norm.x1, norm.y1, norm.x2, norm.y2) == pytest.approx((0.05, 0.2, 0.3, 0.6))


def test_normalised_boxes_without_sizes_are_nan_not_guessed(tables):
    objects, tasks = tables
    tasks = tasks.assign(metadata_width=pd.Series([None, 640.0], dtype="float64"))
    norm = training.boxes(objects, tasks, format="xywh", normalized=True)
    assert norm.loc[norm.task_id == "t1", "x"].isna().all()
    assert norm.loc[norm.task_id == "t2", "x"].notna().all()


def test_missing_columns_are_named(tables):
    objects, _ = tables
    with pytest.raises(MissingColumnsError) as info:
        training.boxes(objects.drop(columns=["width", "tool"]))
    assert info.value.missing == ["tool", "width"]
    with pytest.raises(ConfigError, match="tasks table"):
        training.boxes(objects, normalized=True)


def test_class_index_is_sorted_and_explicit_order_is_checked(tables):
    objects, _ = tables
    assert training.class_index(objects) == {"car": 0, "person": 1, "road": 2}
    assert training.class_index(objects, classes=["road", "person", "car"])["road"] == 0
    with pytest.raises(ConfigError, match="road"):
        training.class_index(objects, classes=["car", "person"])


def test_split_by_asset_keeps_assets_whole_and_is_stable():
    df = pd.DataFrame({"task_id": [f"t{i // 3}" for i in range(3000)]})
    side = training.split_by_asset(df, validation=0.25, seed=7)
    per_task = (
        pd.DataFrame({"task_id": df.task_id, "side": side}).groupby("task_id")["side"].nunique()
    )
    assert (per_task == 1).all()
    share = (side == "validation").mean()
    assert 0.2 < share < 0.3
    shuffled = df.sample(frac=1, random_state=1)
    again = training.split_by_asset(shuffled, validation=0.25, seed=7)
    assert (again.to_numpy() == side.loc[shuffled.index].to_numpy()).all()


def test_coco_file(tables):
    objects, tasks = tables
    coco = training.to_coco(objects, tasks, "memory://out/coco.json")
    with fsspec.open("memory://out/coco.json") as f:
        assert json.load(f) == coco
    assert [c["name"] for c in coco["categories"]] == ["car", "person"]
    names = sorted(i["file_name"] for i in coco["images"])
    assert names == ["a.jpg", "clip_000003.mp4", "clip_000004.mp4"]
    first = coco["annotations"][0]
    assert first["bbox"] == [10.0, 20.0, 50.0, 40.0] and first["area"] == 2000.0
    image = next(i for i in coco["images"] if i["id"] == first["image_id"])
    assert (image["file_name"], image["width"], image["height"]) == ("a.jpg", 200, 100)


def test_yolo_files(tables):
    objects, tasks = tables
    index = training.to_yolo(objects, tasks, "memory://yolo")
    fs = fsspec.filesystem("memory")
    assert sorted(p.rsplit("/", 1)[1] for p in fs.ls("/yolo", detail=False)) == [
        "a.txt",
        "classes.txt",
        "clip_000003.txt",
        "clip_000004.txt",
    ]
    lines = fs.cat("/yolo/a.txt").decode().splitlines()
    assert lines[0] == f"{index['car']} 0.175000 0.400000 0.250000 0.400000"
    assert fs.cat("/yolo/classes.txt").decode().splitlines() == ["car", "person"]


def test_yolo_refuses_assets_of_unknown_size(tables):
    objects, tasks = tables
    tasks = tasks.assign(metadata_height=pd.Series([100.0, None], dtype="float64"))
    with pytest.raises(ConfigError, match="t2"):
        training.to_yolo(objects, tasks, "memory://yolo2")
