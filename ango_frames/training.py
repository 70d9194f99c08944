"""Training-data preparation from the tidy export tables: boxes, class indices, splits, COCO, YOLO.

Everything here reads the ``objects`` and ``tasks`` tables of ``read_export`` (see
``ango_frames.schemas``). Frames of a video and pages of a multi-page asset are separate images,
keyed by ``(task_id, page)``.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterable, Mapping
from typing import Any, cast

import fsspec
import numpy as np
import pandas as pd

from ango_frames.errors import ConfigError, MissingColumnsError
from ango_frames.imports.geometry import BOX_FORMATS

__all__ = [
    "BOX_FORMATS",
    "ClassIndex",
    "boxes",
    "class_index",
    "require_columns",
    "split_by_asset",
    "to_coco",
    "to_yolo",
]

_BOX_TOOLS = ("bounding-box", "rotated-bounding-box")


def require_columns(df: pd.DataFrame, columns: Iterable[str], needed_for: str) -> None:
    """Raise ``MissingColumnsError`` naming every column of ``columns`` that ``df`` lacks."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MissingColumnsError(missing, needed_for, list(df.columns))


def _sizes(objects: pd.DataFrame, tasks: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Asset width and height per object row, from the tasks table's metadata columns."""
    if tasks is None:
        raise ConfigError(
            "normalized boxes need the tasks table (metadata_width / metadata_height)"
        )
    require_columns(tasks, ["task_id", "metadata_width", "metadata_height"], "normalised boxes")
    size = tasks.drop_duplicates("task_id").set_index("task_id")[
        ["metadata_width", "metadata_height"]
    ]
    joined = size.reindex(objects["task_id"])
    w = joined["metadata_width"].to_numpy(dtype="float64", na_value=np.nan)
    h = joined["metadata_height"].to_numpy(dtype="float64", na_value=np.nan)
    return w, h


def boxes(
    objects: pd.DataFrame,
    tasks: pd.DataFrame | None = None,
    *,
    format: str = "xyxy",
    normalized: bool = False,
    rotated: bool = False,
) -> pd.DataFrame:
    """The bounding boxes of an ``objects`` table in a chosen convention.

    Parameters
    ----------
    objects : DataFrame
        The ``objects`` table (needs task_id, object_id, tool, x, y, width, height).
    tasks : DataFrame, optional
        The ``tasks`` table; needed when ``normalized`` (asset width / height per task).
    format : {"xyxy", "xywh", "cxcywh"}
        Output columns: ``x1, y1, x2, y2`` / ``x, y, width, height`` / ``cx, cy, width, height``.
    normalized : bool
        Divide by the asset's width and height (values in [0, 1]); rows whose asset size is
        unknown get NaN, never a guess.
    rotated : bool
        Include rotated boxes (their unrotated extent; ``rotation`` is kept as a column).

    Returns
    -------
    DataFrame
        One row per box: task_id, object_id, page, schema_id, title, the four box columns
        (float64), and rotation when ``rotated``.
    """
    if format not in BOX_FORMATS:
        raise ConfigError(f"format must be one of {sorted(BOX_FORMATS)}, got {format!r}")
    require_columns(objects, ["task_id", "object_id", "tool", "x", "y", "width", "height"], "boxes")
    tools = _BOX_TOOLS if rotated else _BOX_TOOLS[:1]
    sel = objects[objects["tool"].isin(tools).fillna(False).astype(bool)]
    x, y, w, h = (
        sel[c].to_numpy(dtype="float64", na_value=np.nan) for c in ("x", "y", "width", "height")
    )
    if normalized:
        aw, ah = _sizes(sel, tasks)
        x, w = x / aw, w / aw
        y, h = y / ah, h / ah
    keep = [c for c in ("task_id", "object_id", "page", "schema_id", "title") if c in sel.columns]
    out = sel[keep].reset_index(drop=True)
    if format == "xywh":
        cols = {"x": x, "y": y, "width": w, "height": h}
    elif format == "xyxy":
        cols = {"x1": x, "y1": y, "x2": x + w, "y2": y + h}
    else:
        cols = {"cx": x + w / 2, "cy": y + h / 2, "width": w, "height": h}
    for name, values in cols.items():
        out[name] = values
    if rotated and "rotation" in sel.columns:
        out["rotation"] = sel["rotation"].to_numpy(dtype="float64", na_value=np.nan)
    return out


def class_index(
    objects: pd.DataFrame,
    *,
    by: str = "title",
    classes: Iterable[str] | Mapping[str, int] | None = None,
) -> dict[str, int]:
    """A stable class -> index mapping (0-based), sorted by name unless ``classes`` gives the order.

    ``classes`` is a list of names, or a mapping from an earlier ``class_index`` (indices
    0..n-1), so COCO, YOLO and masks can share one order. Classes of ``objects`` missing from an
    explicit ``classes`` raise ``ConfigError`` rather than being dropped.
    """
    require_columns(objects, [by], "class_index")
    present = sorted(str(v) for v in objects[by].dropna().unique())
    if classes is None:
        return {name: i for i, name in enumerate(present)}
    if isinstance(classes, Mapping):
        order = [str(k) for k, _ in sorted(classes.items(), key=lambda kv: int(kv[1]))]
        if sorted(int(v) for v in classes.values()) != list(range(len(order))):
            raise ConfigError("a class_index mapping must use the indices 0..n-1, each once")
    else:
        order = [str(c) for c in classes]
    unknown = sorted(set(present) - set(order))
    if unknown:
        raise ConfigError(f"classes {unknown} are in the objects table but not in classes=")
    return {name: i for i, name in enumerate(order)}


def split_by_asset(
    df: pd.DataFrame, *, validation: float = 0.2, key: str = "task_id", seed: int = 0
) -> pd.Series:
    """``"train"`` / ``"validation"`` per row, decided per asset so no asset straddles the split.

    The assignment hashes ``key`` with ``seed``: stable across runs, machines and row orders, and
    an asset added later never moves an existing one.
    """
    if not 0 <= validation <= 1:
        raise ConfigError(f"validation must be within [0, 1], got {validation}")
    require_columns(df, [key], "split_by_asset")

    def bucket(value: Any) -> float:
        digest = hashlib.sha256(f"{seed}:{value}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    keys = df[key].astype("string")
    buckets = {k: bucket(k) for k in keys.dropna().unique()}
    side = keys.map(lambda k: "validation" if buckets.get(k, 1.0) < validation else "train")
    return side.astype("string").rename("split")


def image_table(objects: pd.DataFrame, tasks: pd.DataFrame) -> pd.DataFrame:
    """One image per (task_id, page) that has boxes, with file name and size."""
    require_columns(tasks, ["task_id", "external_id"], "COCO / YOLO export")
    pages = objects[["task_id", "page"]].drop_duplicates().reset_index(drop=True)
    meta_cols = [c for c in ("metadata_width", "metadata_height") if c in tasks.columns]
    info = tasks.drop_duplicates("task_id")[["task_id", "external_id", *meta_cols]]
    images = pages.merge(info, on="task_id", how="left")
    page = images["page"].astype("Int64")
    base = images["external_id"].fillna(images["task_id"]).astype(str)
    images["file_name"] = [
        b if pd.isna(p) else f"{posixpath.splitext(b)[0]}_{int(p):06d}{posixpath.splitext(b)[1]}"
        for b, p in zip(base, page)
    ]
    images["image_id"] = np.arange(1, len(images) + 1)
    return images


class ClassIndex(dict[str, int]):
    """The class -> index mapping a writer used, plus what it did to fit the format.

    ``clipped_boxes``: boxes (or outlines) cut to the image edge; ``outside_boxes``: ones wholly
    outside the image, not written; ``dropped_parts``: objects whose holes or extra zones the
    format cannot hold (YOLO segmentation); ``files``: label files written.
    """

    clipped_boxes: int = 0
    outside_boxes: int = 0
    dropped_parts: int = 0
    files: int = 0


def _image_sizes(images: pd.DataFrame) -> pd.DataFrame:
    w = images.get("metadata_width", pd.Series(np.nan, images.index))
    h = images.get("metadata_height", pd.Series(np.nan, images.index))
    return images.assign(
        image_w=pd.to_numeric(w, errors="coerce").astype("float64"),
        image_h=pd.to_numeric(h, errors="coerce").astype("float64"),
    )


def _clip_boxes(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, h: np.ndarray, iw: np.ndarray, ih: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Boxes cut to ``[0, iw] x [0, ih]`` (unknown sizes: unchanged); clipped and outside flags."""
    iw = np.where(np.isnan(iw), np.inf, iw)
    ih = np.where(np.isnan(ih), np.inf, ih)
    x1, y1 = np.clip(x, 0, iw), np.clip(y, 0, ih)
    x2, y2 = np.clip(x + w, 0, iw), np.clip(y + h, 0, ih)
    clipped = (np.abs(x1 - x) > 1e-9) | (np.abs(y1 - y) > 1e-9)
    clipped |= (np.abs(x2 - (x + w)) > 1e-9) | (np.abs(y2 - (y + h)) > 1e-9)
    outside = (x2 - x1 <= 0) | (y2 - y1 <= 0)
    return x1, y1, x2 - x1, y2 - y1, clipped & ~outside, outside


def _area_objects(objects: pd.DataFrame) -> pd.DataFrame:
    from ango_frames.look.shapes import AREA_TOOLS

    require_columns(objects, ["task_id", "object_id", "tool", "title", "page"], "segmentation")
    return objects[objects["tool"].isin(AREA_TOOLS).fillna(False).astype(bool)].reset_index(
        drop=True
    )


def _coco_segments(
    sel: pd.DataFrame, sizes: pd.DataFrame, mode: str, report: ClassIndex
) -> list[tuple[int, Any]]:
    """(row, Segment) per object of ``sel`` that has an area inside its image."""
    from ango_frames.look.segments import coco_segment
    from ango_frames.look.shapes import shape_of

    out = []
    for i, (row, iw, ih) in enumerate(
        zip(sel.to_dict("records"), sizes["image_w"], sizes["image_h"])
    ):
        shape = shape_of(row)
        if shape is None:
            report.outside_boxes += 1
            continue
        size = None if np.isnan(iw) or np.isnan(ih) else (int(iw), int(ih))
        seg = coco_segment(shape, size, mode)
        if seg is None:
            report.outside_boxes += 1
            continue
        report.clipped_boxes += int(seg.clipped)
        report.dropped_parts += int(seg.rle and mode == "polygon")
        out.append((i, seg))
    return out


def to_coco(
    objects: pd.DataFrame,
    tasks: pd.DataFrame,
    dest: str | None = None,
    *,
    classes: Iterable[str] | Mapping[str, int] | None = None,
    segmentation: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """COCO JSON (boxes in pixels, xywh) from the objects and tasks tables.

    Writes it to ``dest`` (any fsspec URL) when given and returns the dict. Category ids are
    ``class_index + 1`` (COCO reserves 0), the same values as the semantic masks of
    ``ango_frames.look``. Frames and pages become separate images named
    ``<stem>_<page:06d><ext>``. Boxes are clipped to the image (assets of known size); ones
    wholly outside are left out; ``info`` counts both (``clipped_boxes``, ``outside_boxes``).

    ``segmentation``: None writes boxes only; ``"polygon"`` writes every area object (boxes,
    rotated boxes, polygons, segmentation zones) with polygon ``segmentation`` (zones with holes
    as RLE, counted in ``info.rle_for_holes``); ``"rle"`` writes uncompressed RLE masks.
    """
    if segmentation not in (None, "polygon", "rle"):
        raise ConfigError(f"segmentation must be None, 'polygon' or 'rle', got {segmentation!r}")
    report = ClassIndex()
    sel = boxes(objects, format="xywh") if segmentation is None else _area_objects(objects)
    index = class_index(sel, classes=classes)
    images = _image_sizes(image_table(sel, tasks))
    key = pd.MultiIndex.from_frame(sel[["task_id", "page"]])
    per_image = images.set_index(["task_id", "page"])
    image_ids = per_image["image_id"].reindex(key).to_numpy()
    sizes = per_image[["image_w", "image_h"]].reindex(key).reset_index(drop=True)
    annotations: list[dict[str, Any]] = []
    if segmentation is None:
        bx, by, bw, bh = (sel[c].to_numpy(dtype="float64") for c in ("x", "y", "width", "height"))
        x, y, w, h, clipped, outside = _clip_boxes(
            bx, by, bw, bh, sizes["image_w"].to_numpy(), sizes["image_h"].to_numpy()
        )
        report.clipped_boxes, report.outside_boxes = int(clipped.sum()), int(outside.sum())
        for i in np.flatnonzero(~outside):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": int(image_ids[i]),
                    "category_id": index[str(sel["title"].iat[int(i)])] + 1,
                    "bbox": [float(x[i]), float(y[i]), float(w[i]), float(h[i])],
                    "area": float(w[i] * h[i]),
                    "iscrowd": 0,
                }
            )
    else:
        for j, seg in _coco_segments(sel, sizes, segmentation, report):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": int(image_ids[j]),
                    "category_id": index[str(sel["title"].iat[j])] + 1,
                    "segmentation": seg.segmentation,
                    "bbox": seg.bbox,
                    "area": seg.area,
                    "iscrowd": 0,
                }
            )

    def size(value: Any) -> int | None:
        return None if pd.isna(value) else int(value)

    info: dict[str, Any] = {
        "description": "written by ango_frames from an Ango Hub export",
        "clipped_boxes": report.clipped_boxes,
        "outside_boxes": report.outside_boxes,
    }
    if segmentation == "polygon":
        info["rle_for_holes"] = report.dropped_parts
    coco = {
        "info": info,
        "images": [
            {
                "id": int(cast(Any, r.image_id)),  # typed alike with and without pandas-stubs
                "file_name": r.file_name,
                "width": size(r.image_w),
                "height": size(r.image_h),
            }
            for r in images.itertuples(index=False)
        ],
        "annotations": annotations,
        "categories": [{"id": i + 1, "name": name} for name, i in index.items()],
    }
    if dest is not None:
        with fsspec.open(dest, "w", encoding="utf-8", **(storage_options or {})) as f:
            json.dump(coco, f)
    return coco


def _yolo_lines(
    sel: pd.DataFrame, task: str, index: Mapping[str, int], sizes: pd.DataFrame, report: ClassIndex
) -> list[str | None]:
    """One label line per row of ``sel`` (None: nothing inside the image)."""
    iw, ih = sizes["image_w"].to_numpy(), sizes["image_h"].to_numpy()
    ids = [index[str(t)] for t in sel["title"]]
    if task == "detect":
        bx, by, bw, bh = (sel[c].to_numpy(dtype="float64") for c in ("x", "y", "width", "height"))
        x, y, w, h, clipped, outside = _clip_boxes(bx, by, bw, bh, iw, ih)
        report.clipped_boxes, report.outside_boxes = int(clipped.sum()), int(outside.sum())
        cx, cy, nw, nh = (x + w / 2) / iw, (y + h / 2) / ih, w / iw, h / ih
        return [
            None if out else f"{c} {a:.6f} {b:.6f} {d:.6f} {e:.6f}"
            for c, a, b, d, e, out in zip(ids, cx, cy, nw, nh, outside)
        ]
    from ango_frames.look.segments import yolo_polygon
    from ango_frames.look.shapes import shape_of

    lines: list[str | None] = []
    for c, row, w, h in zip(ids, sel.to_dict("records"), iw, ih):
        shape = shape_of(row)
        got = None if shape is None else yolo_polygon(shape, (int(w), int(h)))
        if got is None:
            report.outside_boxes += 1
            lines.append(None)
            continue
        coords, cut, dropped = got
        report.clipped_boxes += int(cut)
        report.dropped_parts += int(dropped)
        lines.append(f"{c} " + " ".join(f"{v:.6f}" for v in coords))
    return lines


def to_yolo(
    objects: pd.DataFrame,
    tasks: pd.DataFrame,
    dest_dir: str,
    *,
    classes: Iterable[str] | Mapping[str, int] | None = None,
    task: str = "detect",
    storage_options: Mapping[str, Any] | None = None,
) -> ClassIndex:
    """YOLO label files: one ``<image stem>.txt`` per image, coordinates normalised to [0, 1].

    ``task="detect"``: ``class cx cy w h`` per box; ``task="segment"``: ``class x1 y1 x2 y2 ...``
    per area object (boxes, rotated boxes, polygons, zones; holes and extra zones cannot be
    written and are counted in ``dropped_parts``). Boxes and outlines are clipped to the image;
    ones wholly outside are not written. Also writes ``classes.txt`` (one name per line, in
    index order). Assets of unknown size raise ``ConfigError`` naming them, never a silent skip.
    Returns the class index used, with the counts of ``ClassIndex``.
    """
    if task not in ("detect", "segment"):
        raise ConfigError(f"task must be 'detect' or 'segment', got {task!r}")
    sel = boxes(objects, format="xywh") if task == "detect" else _area_objects(objects)
    images = _image_sizes(image_table(sel, tasks))
    per_image = images.set_index(["task_id", "page"])
    key = pd.MultiIndex.from_frame(sel[["task_id", "page"]])
    sizes = per_image[["image_w", "image_h"]].reindex(key).reset_index(drop=True)
    unknown = sel.loc[
        (sizes["image_w"].isna() | sizes["image_h"].isna()).to_numpy(), "task_id"
    ].unique()
    if len(unknown):
        raise ConfigError(
            f"YOLO needs each asset's width and height; unknown for task(s) {sorted(unknown)[:10]}"
        )
    report = ClassIndex(class_index(sel, classes=classes))
    lines = pd.Series(_yolo_lines(sel, task, report, sizes, report), dtype=object)
    files = per_image["file_name"].reindex(key).to_numpy()
    fs, root = fsspec.core.url_to_fs(dest_dir, **(storage_options or {}))
    fs.makedirs(root, exist_ok=True)
    for file_name, group in lines.groupby(files, sort=True):
        stem = posixpath.splitext(posixpath.basename(str(file_name)))[0]
        with fs.open(f"{root}/{stem}.txt", "w") as f:
            f.write("".join(f"{line}\n" for line in group if line is not None))
        report.files += 1
    with fs.open(f"{root}/classes.txt", "w") as f:
        f.write("\n".join(report) + "\n")
    return report
