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
    objects: pd.DataFrame, *, by: str = "title", classes: Iterable[str] | None = None
) -> dict[str, int]:
    """A stable class -> index mapping (0-based), sorted by name unless ``classes`` gives the order.

    Classes of ``objects`` missing from an explicit ``classes`` list raise ``ConfigError`` rather
    than being dropped.
    """
    require_columns(objects, [by], "class_index")
    present = sorted(str(v) for v in objects[by].dropna().unique())
    if classes is None:
        return {name: i for i, name in enumerate(present)}
    order = list(classes)
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


def _images(objects: pd.DataFrame, tasks: pd.DataFrame) -> pd.DataFrame:
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


def to_coco(
    objects: pd.DataFrame,
    tasks: pd.DataFrame,
    dest: str | None = None,
    *,
    classes: Iterable[str] | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """COCO detection JSON (boxes in pixels, xywh) from the objects and tasks tables.

    Writes it to ``dest`` (any fsspec URL) when given and returns the dict. Category ids are
    ``class_index + 1`` (COCO reserves 0). Frames and pages become separate images named
    ``<stem>_<page:06d><ext>``.
    """
    bx = boxes(objects, format="xywh")
    index = class_index(bx, classes=classes)
    images = _images(bx, tasks)
    key = images.set_index(["task_id", "page"])["image_id"]
    image_ids = key.reindex(pd.MultiIndex.from_frame(bx[["task_id", "page"]])).to_numpy()
    annotations = [
        {
            "id": i + 1,
            "image_id": int(image_id),
            "category_id": index[str(title)] + 1,
            "bbox": [float(x), float(y), float(w), float(h)],
            "area": float(w * h),
            "iscrowd": 0,
        }
        for i, (image_id, title, x, y, w, h) in enumerate(
            zip(image_ids, bx["title"], bx["x"], bx["y"], bx["width"], bx["height"])
        )
    ]

    def size(value: Any) -> int | None:
        return None if pd.isna(value) else int(value)

    coco = {
        "images": [
            {
                "id": int(cast(Any, r.image_id)),  # typed alike with and without pandas-stubs
                "file_name": r.file_name,
                "width": size(getattr(r, "metadata_width", None)),
                "height": size(getattr(r, "metadata_height", None)),
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


def to_yolo(
    objects: pd.DataFrame,
    tasks: pd.DataFrame,
    dest_dir: str,
    *,
    classes: Iterable[str] | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """YOLO label files: one ``<image stem>.txt`` per image (``class cx cy w h``, normalised).

    Also writes ``classes.txt`` (one name per line, in index order). Boxes of assets whose size is
    unknown cannot be normalised: they raise ``ConfigError`` naming the assets, never a silent skip.
    Returns the class index used.
    """
    bx = boxes(objects, tasks, format="cxcywh", normalized=True)
    unknown = bx.loc[bx[["cx", "cy", "width", "height"]].isna().any(axis=1), "task_id"].unique()
    if len(unknown):
        raise ConfigError(
            f"YOLO needs each asset's width and height; unknown for task(s) {sorted(unknown)[:10]}"
        )
    index = class_index(bx, classes=classes)
    images = _images(bx, tasks)
    names = images.set_index(["task_id", "page"])["file_name"]
    bx["file"] = names.reindex(pd.MultiIndex.from_frame(bx[["task_id", "page"]])).to_numpy()
    fs, root = fsspec.core.url_to_fs(dest_dir, **(storage_options or {}))
    fs.makedirs(root, exist_ok=True)
    for file_name, group in bx.groupby("file", sort=True):
        lines = [
            f"{index[str(t)]} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}"
            for t, cx, cy, w, h in zip(
                group["title"], group["cx"], group["cy"], group["width"], group["height"]
            )
        ]
        stem = posixpath.splitext(posixpath.basename(str(file_name)))[0]
        with fs.open(f"{root}/{stem}.txt", "w") as f:
            f.write("\n".join(lines) + "\n")
    with fs.open(f"{root}/classes.txt", "w") as f:
        f.write("\n".join(index) + "\n")
    return index
