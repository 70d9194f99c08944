"""Cells of notebook 04: pictures, a contact sheet, masks and COCO / YOLO segmentation."""

from __future__ import annotations

from _common import SETUP, SHOW, TEARDOWN, WHERE

LOOK_AND_MASKS = [
    (
        "md",
        "# Look at the labels: pictures, a contact sheet, masks, COCO segmentation\n\n"
        "Draw an asset's objects over its image, a grid of the assets reviewers changed most, "
        "semantic and instance masks for segmentation training, and COCO / YOLO segmentation "
        "files, all sharing one class order. Drawing needs `pip install 'ango-frames[plot]'` "
        "(matplotlib and pillow); masks need numpy only. The local hub serves a generated "
        "picture at each demo image URL.\n\n" + WHERE,
    ),
    ("code", SETUP),
    ("code", SHOW),
    (
        "code",
        """\
from ango_frames import asset_mask, contact_sheet, plot_asset, write_masks

tables = read_export(
    client.export(project_id, format="ndjson", include_history=True, include_metadata=True)
)
objects, tasks = tables.objects, tables.tasks
index = objects.ango.class_index()  # one class order for masks, COCO and YOLO
index""",
    ),
    (
        "md",
        "## One asset\n\nThe image comes from the asset URL (http, s3, gs, memory, ... or pass "
        "`image=` an array or a path). One colour per class, the same on every asset; "
        "`fill=True` shades the areas; the title carries the asset's answers.",
    ),
    (
        "code",
        """\
single = objects[objects["page"].isna()]
key = single.groupby("task_id")["tool"].nunique().idxmax()  # the asset with the most tools
tools = sorted(single.query("task_id == @key")["tool"].unique())
print(tasks.set_index("task_id").loc[key, "external_id"], tools)
show(plot_asset(tables, key, fill=True).figure)""",
    ),
    (
        "md",
        "A video frame (`frame=`) or a page of a multi-page asset (`page=`) draws the geometry "
        "of that frame; a video is drawn on an empty canvas of its size unless you pass "
        "`image=` (a decoded frame).",
    ),
    (
        "code",
        """\
import matplotlib.figure

fig = matplotlib.figure.Figure(figsize=(10, 3))
left, right = fig.subplots(1, 2)
plot_asset(tables, "clip-01.mp4", frame=20, ax=left)
plot_asset(tables, "scan-01", page=1, ax=right, fill=True)
show(fig)""",
    ),
    (
        "md",
        "## A contact sheet of what reviewers changed\n\n`order='changed'` compares each "
        "task's Label snapshot (`history_objects`) with its exported objects.",
    ),
    (
        "code",
        """\
from ango_frames.look.changes import review_changes

review_changes(tables).head()""",
    ),
    ("code", 'show(contact_sheet(tables, 6, order="changed", ncols=3))'),
    (
        "md",
        "## Masks\n\nPer image, a semantic mask (0 = background, class `c` = `index[c] + 1`, "
        "COCO's category id) and an instance mask (0 = background, object `k` = `k`). Holes of "
        "segmentation zones stay empty; polylines and points have no area and are counted in "
        "`skipped`.",
    ),
    (
        "code",
        """\
mask = asset_mask(tables, key, class_index=index)
print(mask.file_name, mask.semantic.shape, mask.semantic.dtype, "skipped:", mask.skipped)
mask.instances""",
    ),
    (
        "code",
        """\
fig = matplotlib.figure.Figure(figsize=(10, 3))
left, right = fig.subplots(1, 2)
left.imshow(mask.semantic, cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
left.set_title("semantic")
right.imshow(mask.instance, cmap="tab20", interpolation="nearest")
right.set_title("instance")
for ax in (left, right):
    ax.set_axis_off()
show(fig)""",
    ),
    (
        "md",
        "`write_masks` writes PNGs to any fsspec folder, one image in memory at a time (with a "
        "progress bar; off here to keep the output stable). Here the first 20 assets, into "
        "an in-memory folder.",
    ),
    (
        "code",
        """\
import fsspec

first = tasks["task_id"].head(20)
written = write_masks(tables, "memory://masks", first, class_index=index, progress=False)
fs = fsspec.filesystem("memory")
print(len(fs.ls("/masks/semantic")), "semantic and", len(fs.ls("/masks/instance")), "instance PNGs")
written.head()""",
    ),
    (
        "md",
        "## COCO and YOLO segmentation\n\nPolygons as COCO polygons (zones with holes as RLE, "
        "which polygons cannot express), or every object as RLE. Boxes past the image edge "
        "are clipped, and `info` says how many.",
    ),
    (
        "code",
        """\
coco = objects.ango.to_coco(tasks, classes=index, segmentation="polygon")
print(coco["info"])
print(coco["categories"])
road = next(a for a in coco["annotations"] if isinstance(a["segmentation"], dict))
print({k: v for k, v in road.items() if k != "segmentation"})
print("RLE of", road["segmentation"]["size"], "with", len(road["segmentation"]["counts"]), "runs")""",
    ),
    (
        "code",
        """\
yolo = objects.ango.to_yolo(tasks, "memory://yolo-seg", classes=index, task="segment")
print(yolo.files, "files;", yolo.clipped_boxes, "clipped,", yolo.dropped_parts, "without holes")
line = fs.cat("/yolo-seg/" + mask.file_name + ".txt").decode().splitlines()[0]
print(line[:90], "...")""",
    ),
    ("md", "## Clean up"),
    ("code", 'fs.rm("/masks", recursive=True)\nfs.rm("/yolo-seg", recursive=True)\n' + TEARDOWN),
]
