"""COCO polygon / RLE segmentation, YOLO segmentation, and boxes clipped to the image."""

from __future__ import annotations

import fsspec
import numpy as np
import pandas as pd
import pytest

from ango_frames import training
from ango_frames.errors import ConfigError


def tables():
    rows = [
        {"tool": "bounding-box", "title": "car", "x": 10.0, "y": 10.0, "width": 20.0,
         "height": 10.0},
        {"tool": "bounding-box", "title": "car", "x": 150.0, "y": 90.0, "width": 100.0,
         "height": 20.0},  # past the right and bottom edges
        {"tool": "bounding-box", "title": "person", "x": 300.0, "y": 10.0, "width": 5.0,
         "height": 5.0},  # wholly outside
        {"tool": "polygon", "title": "building",
         "points": [[0.0, 50.0], [40.0, 50.0], [40.0, 90.0], [0.0, 90.0]]},
        {"tool": "segmentation", "title": "road", "zones": [
            {"region": [[100.0, 0.0], [150.0, 0.0], [150.0, 50.0], [100.0, 50.0]],
             "holes": [[[110.0, 10.0], [120.0, 10.0], [120.0, 20.0], [110.0, 20.0]]]}]},
        {"tool": "polyline", "title": "lane", "points": [[0.0, 0.0], [10.0, 10.0]]},
    ]  # fmt: skip
    objects = pd.DataFrame(
        [{"task_id": "t1", "object_id": f"o{i}", "page": None, **r} for i, r in enumerate(rows)]
    )
    for c in ("x", "y", "width", "height"):
        objects[c] = objects[c].astype("float64")
    objects["page"] = objects["page"].astype("Int64")
    tasks = pd.DataFrame(
        {"task_id": ["t1"], "external_id": ["a.jpg"], "metadata_width": [200.0],
         "metadata_height": [100.0]}
    )  # fmt: skip
    return objects, tasks


def rle_decode(rle):
    """COCO's uncompressed RLE, expanded by hand: runs alternate 0, 1, ... in column order."""
    h, w = rle["size"]
    flat = np.repeat(np.arange(len(rle["counts"])) % 2, rle["counts"]).astype(bool)
    assert flat.size == h * w
    return flat.reshape((h, w), order="F")


def test_boxes_are_clipped_to_the_image_and_counted():
    objects, tasks = tables()
    coco = training.to_coco(objects, tasks)
    assert coco["info"]["clipped_boxes"] == 1 and coco["info"]["outside_boxes"] == 1
    bboxes = [a["bbox"] for a in coco["annotations"]]
    assert bboxes == [[10.0, 10.0, 20.0, 10.0], [150.0, 90.0, 50.0, 10.0]]
    assert coco["annotations"][1]["area"] == 500.0
    index = training.to_yolo(objects, tasks, "memory://yolo-clip")
    assert (index.clipped_boxes, index.outside_boxes, index.files) == (1, 1, 1)
    lines = fsspec.filesystem("memory").cat("/yolo-clip/a.txt").decode().splitlines()
    assert len(lines) == 2
    values = [float(v) for line in lines for v in line.split()[1:]]
    assert max(values) <= 1.0 and min(values) >= 0.0
    cx, cy, w, h = map(float, lines[1].split()[1:])
    assert (cx + w / 2, cy + h / 2) == pytest.approx((1.0, 1.0))


def test_coco_polygons_with_holes_written_as_rle():
    objects, tasks = tables()
    index = training.class_index(objects)  # the order masks use too
    coco = training.to_coco(objects, tasks, classes=index, segmentation="polygon")
    by_cat = {c["id"]: c["name"] for c in coco["categories"]}
    assert [c["id"] - 1 for c in coco["categories"]] == [index[n] for n in by_cat.values()]
    anns = {by_cat[a["category_id"]] + str(i): a for i, a in enumerate(coco["annotations"])}
    names = sorted(by_cat[a["category_id"]] for a in coco["annotations"])
    assert names == ["building", "car", "car", "road"]  # the polyline has no area
    assert coco["info"]["outside_boxes"] == 1 and coco["info"]["rle_for_holes"] == 1
    building = next(a for k, a in anns.items() if k.startswith("building"))
    assert building["segmentation"] == [[0.0, 50.0, 40.0, 50.0, 40.0, 90.0, 0.0, 90.0]]
    assert building["area"] == 1600.0 and building["bbox"] == [0.0, 50.0, 40.0, 40.0]
    road = next(a for k, a in anns.items() if k.startswith("road"))
    mask = rle_decode(road["segmentation"])
    assert mask.shape == (100, 200) and mask.sum() == 2500 - 100 == road["area"]
    assert not mask[10:20, 110:120].any() and mask[5, 105]
    assert road["bbox"] == [100.0, 0.0, 50.0, 50.0]
    clipped = next(a for k, a in anns.items() if k.startswith("car") and a["bbox"][0] == 150)
    assert clipped["segmentation"] == [[150.0, 90.0, 200.0, 90.0, 200.0, 100.0, 150.0, 100.0]]


def test_coco_rle_for_every_object():
    objects, tasks = tables()
    coco = training.to_coco(objects, tasks, segmentation="rle")
    areas = sorted(a["area"] for a in coco["annotations"])
    assert areas == [200.0, 500.0, 1600.0, 2400.0]
    for a in coco["annotations"]:
        assert rle_decode(a["segmentation"]).sum() == a["area"]
    with pytest.raises(ConfigError, match="segmentation"):
        training.to_coco(objects, tasks, segmentation="mask")


def test_yolo_segmentation_format():
    objects, tasks = tables()
    index = training.to_yolo(objects, tasks, "memory://yolo-seg", task="segment")
    lines = fsspec.filesystem("memory").cat("/yolo-seg/a.txt").decode().splitlines()
    assert len(lines) == 4 and index.outside_boxes == 1 and index.dropped_parts == 1
    building = next(ln for ln in lines if ln.startswith(f"{index['building']} "))
    assert [float(v) for v in building.split()[1:]] == pytest.approx(
        [0.0, 0.5, 0.2, 0.5, 0.2, 0.9, 0.0, 0.9]
    )
    assert all(0 <= float(v) <= 1 for ln in lines for v in ln.split()[1:])
    with pytest.raises(ConfigError, match="task"):
        training.to_yolo(objects, tasks, "memory://x", task="pose")


def test_class_index_mapping_must_be_dense():
    objects, _ = tables()
    index = training.class_index(objects)
    assert training.class_index(objects, classes=index) == index
    with pytest.raises(ConfigError, match=r"0\.\.n-1"):
        training.class_index(objects, classes={k: v + 1 for k, v in index.items()})
