"""Masks from the objects table: known shapes give known pixel counts, holes stay empty."""

from __future__ import annotations

import fsspec
import numpy as np
import pandas as pd
import pytest

from ango_frames import training
from ango_frames.errors import ConfigError, ImageError
from ango_frames.look.masking import asset_mask, iter_masks, write_masks
from ango_frames.look.png import decode_png, encode_png

SQUARE = [[0.0, 0.0], [50.0, 0.0], [50.0, 50.0], [0.0, 50.0]]
HOLE = [[10.0, 10.0], [20.0, 10.0], [20.0, 20.0], [10.0, 20.0]]


def frames(rows, tasks=None):
    base = {"page": None, "x": None, "y": None, "width": None, "height": None}
    base.update(rotation=None, corners=None, points=None, zones=None)
    objects = pd.DataFrame([{**base, "object_id": f"o{i}", **r} for i, r in enumerate(rows)])
    objects["page"] = objects["page"].astype("Int64")
    tasks = tasks or [{"task_id": "t1", "external_id": "a.jpg", "w": 100, "h": 80}]
    tasks = pd.DataFrame(tasks).rename(columns={"w": "metadata_width", "h": "metadata_height"})
    return objects, tasks


def box(title, x, y, w, h, **kw):
    return {"task_id": "t1", "tool": "bounding-box", "title": title, "x": x, "y": y,
            "width": w, "height": h, **kw}  # fmt: skip


def test_known_shapes_give_known_pixel_counts():
    objects, tasks = frames(
        [
            box("car", 10, 10, 20, 10),  # 200 px
            {"task_id": "t1", "tool": "polygon", "title": "building",
             "points": [[60.0, 0.0], [100.0, 0.0], [60.0, 40.0]]},  # 780 px
            {"task_id": "t1", "tool": "rotated-bounding-box", "title": "sign", "x": 40.0,
             "y": 55.0, "width": 20.0, "height": 10.0, "rotation": 90.0},  # 200 px
            {"task_id": "t1", "tool": "polyline", "title": "lane", "points": [[0, 0], [5, 5]]},
            {"task_id": "t1", "tool": "point", "title": "landmark", "x": 3.0, "y": 3.0},
        ]
    )  # fmt: skip
    index = training.class_index(objects)
    m = asset_mask(objects, tasks, "a.jpg", class_index=index)
    assert m.semantic.shape == (80, 100) and m.instance.dtype == np.uint16
    assert m.instances["pixels"].tolist() == [200, 780, 200]
    assert m.instances["title"].tolist() == ["car", "building", "sign"]
    assert m.skipped == {"polyline": 1, "point": 1}  # counted, not drawn
    assert (m.semantic == index["car"] + 1).sum() == 200
    assert m.semantic[10:20, 10:30].min() == index["car"] + 1 and m.semantic[9, 10] == 0
    assert (m.semantic > 0).sum() == 1180 and (m.instance > 0).sum() == 1180


def test_holes_of_segmentation_zones_are_empty():
    zone = {"region": SQUARE, "holes": [HOLE]}
    far = {"region": [[60.0, 60.0], [70.0, 60.0], [70.0, 70.0], [60.0, 70.0]], "holes": []}
    objects, tasks = frames(
        [{"task_id": "t1", "tool": "segmentation", "title": "road", "zones": [zone, far]}]
    )
    m = asset_mask(objects, tasks, "t1")
    assert m.instances["pixels"].tolist() == [2500 - 100 + 100]
    assert m.semantic[10:20, 10:20].sum() == 0 and m.instance[10:20, 10:20].sum() == 0
    assert m.semantic[5, 5] == 1 and m.semantic[65, 65] == 1


def test_later_objects_cover_earlier_ones_and_counts_say_what_is_visible():
    objects, tasks = frames([box("car", 0, 0, 20, 20), box("person", 10, 10, 20, 20)])
    m = asset_mask(objects, tasks, "t1", class_index={"person": 0, "car": 1})
    assert m.instances["pixels"].tolist() == [400 - 100, 400]
    assert m.semantic[15, 15] == 1 and m.semantic[5, 5] == 2  # explicit order: person = 0
    with pytest.raises(ConfigError, match="car"):
        asset_mask(objects, tasks, "t1", class_index={"person": 0})


def test_video_frames_are_separate_images_and_iter_masks_covers_every_image():
    video = {"task_id": "t1", "external_id": "clip.mp4", "w": 100, "h": 80}
    objects, tasks = frames(
        [
            box("car", 0, 0, 10, 10, page=0),
            box("car", 50, 50, 10, 10, page=3),
            box("car", 0, 0, 5, 5, task_id="t2"),
        ],
        tasks=[
            {**video, "metadata_frameTotal": 10},
            {"task_id": "t2", "external_id": "b.jpg", "w": 40, "h": 30},
            {"task_id": "t3", "external_id": "empty.jpg", "w": 40, "h": 30},
        ],
    )
    got = {(m.task_id, m.page): m for m in iter_masks(objects, tasks)}
    assert sorted(got, key=str) == sorted(
        [("t1", 0), ("t1", 3), ("t2", None), ("t3", None)], key=str
    )
    assert got[("t1", 3)].instance[55, 55] == 1 and got[("t1", 3)].instance[5, 5] == 0
    assert got[("t3", None)].semantic.sum() == 0  # an image without objects: a negative
    assert got[("t1", 3)].file_name == "clip_000003"
    frame = asset_mask(objects, tasks, "clip.mp4", page=3)
    assert frame.instances["pixels"].tolist() == [100]
    with pytest.raises(ConfigError, match="frames"):
        asset_mask(objects, tasks, "clip.mp4", page=10)


def test_write_masks_to_an_fsspec_folder_and_read_them_back():
    objects, tasks = frames([box("car", 10, 10, 20, 10), box("person", 50, 20, 5, 5)])
    summary = write_masks(objects, tasks, "memory://masks-out", progress=False)
    assert summary[["file_name", "objects", "skipped"]].values.tolist() == [["a", 2, 0]]
    fs = fsspec.filesystem("memory")
    semantic = decode_png(fs.cat("/masks-out/semantic/a.png"))
    instance = decode_png(fs.cat("/masks-out/instance/a.png"))
    assert semantic.dtype == np.uint8 and instance.dtype == np.uint16
    assert (semantic == 1).sum() == 200 and (semantic == 2).sum() == 25
    assert sorted(np.unique(instance).tolist()) == [0, 1, 2]
    assert fs.cat("/masks-out/classes.txt").decode().split() == ["car", "person"]


def test_brush_masks_are_fetched_and_can_join_the_masks():
    brush = np.zeros((80, 100, 4), np.uint8)
    brush[40:50, 60:70, 3] = 255  # 100 painted pixels (alpha)
    with fsspec.open("memory://brush/t1.png", "wb") as f:
        f.write(encode_png(brush))
    objects, tasks = frames([box("car", 0, 0, 10, 10)])
    tasks["brush_data_url"] = "memory://brush/t1.png"
    m = asset_mask(objects, tasks, "t1", brush=True, class_index={"car": 0, "paint": 1})
    assert m.brush is not None and m.brush.sum() == 100 and m.semantic.max() == 1
    m = asset_mask(
        objects, tasks, "t1", brush=True, brush_class="paint", class_index={"car": 0, "paint": 1}
    )
    assert m.instances["pixels"].tolist() == [100, 100] and (m.semantic == 2).sum() == 100
    tasks["brush_data_url"] = "memory://brush/missing.png?X-Amz-Signature=secret"
    with pytest.raises(ImageError) as err:
        asset_mask(objects, tasks, "t1", brush=True)
    assert "secret" not in str(err.value) and "missing.png" in str(err.value)


def test_masks_need_the_asset_size_and_a_known_key():
    objects, tasks = frames([box("car", 0, 0, 10, 10)])
    with pytest.raises(ConfigError, match="size"):
        asset_mask(objects, tasks.drop(columns="metadata_width"), "t1")
    with pytest.raises(ConfigError, match="nope"):
        asset_mask(objects, tasks, "nope")
