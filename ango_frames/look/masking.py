"""Segmentation masks from the tidy tables: per image, a semantic and an instance mask.

::

    index = af.training.class_index(tables.objects)          # shared with to_coco / to_yolo
    for m in af.masks(tables, class_index=index):
        m.semantic   # (h, w) uint8/uint16: 0 = background, class c = index[c] + 1 (COCO's id)
        m.instance   # (h, w) uint16: 0 = background, object k = k (see m.instances)
    af.write_masks(tables, "s3://bucket/masks", class_index=index)

Boxes, rotated boxes, polygons and segmentation zones are filled (zones even-odd, so holes stay
empty); later objects are drawn over earlier ones, as the export lists them. Polylines, points and
non-picture tools have no area: they are counted in ``skipped``, never drawn or dropped silently.
Brush masks (``tasks.brush_data_url``, a PNG of brush traces) are fetched through fsspec when
``brush=True`` and returned as ``brush``; with ``brush_class=`` their pixels join the masks as one
more instance of that class. Images are one per ``(task_id, page)``; a video frame or a page of a
multi-page asset is an image.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ango_frames.errors import ConfigError
from ango_frames.look.assets import asset_objects, asset_size, find_task, has_pages, read_bytes
from ango_frames.look.png import decode_png, encode_png
from ango_frames.look.raster import box_slices, rings_mask
from ango_frames.look.shapes import shape_of
from ango_frames.training import class_index as _class_index
from ango_frames.training import require_columns

__all__ = ["AssetMask", "asset_mask", "iter_masks", "mask_images", "write_masks"]


class AssetMask(NamedTuple):
    """The masks of one image."""

    task_id: str
    page: int | None
    file_name: str
    semantic: np.ndarray
    instance: np.ndarray
    instances: pd.DataFrame  # instance, object_id, title, class_id, pixels
    skipped: dict[str, int]  # tool -> objects without an area (polyline, point, ...)
    brush: np.ndarray | None


_SHAPE_COLUMNS = (
    "object_id",
    "tool",
    "x",
    "y",
    "width",
    "height",
    "rotation",
    "corners",
    "points",
    "zones",
)


class _Columns:
    """The columns ``shape_of`` reads, as numpy arrays, sliced into records per image.

    ``DataFrame.to_dict`` on a slice of the wide objects table costs ~50 ms; this costs ~50 us.
    """

    def __init__(self, objects: pd.DataFrame, by: str) -> None:
        self.columns: dict[str, np.ndarray] = {}
        for name in dict.fromkeys((*_SHAPE_COLUMNS, by)):
            if name not in objects.columns:
                continue
            col = objects[name]
            if pd.api.types.is_float_dtype(col.dtype):
                self.columns[name] = col.to_numpy(dtype="float64", na_value=np.nan)
            else:
                self.columns[name] = col.astype(object).where(col.notna(), None).to_numpy()

    def records(self, idx: np.ndarray | None) -> list[dict[str, Any]]:
        if idx is None or len(idx) == 0:
            return []
        names = list(self.columns)
        values = [self.columns[n][idx].tolist() for n in names]
        return [dict(zip(names, row)) for row in zip(*values)]


_TASK_COLUMNS = (
    "task_id",
    "external_id",
    "metadata_width",
    "metadata_height",
    "metadata_frameTotal",
    "dataset",
    "brush_data_url",
)


def _index(objects: pd.DataFrame, class_index: Mapping[str, int] | None, by: str) -> dict[str, int]:
    if class_index is None:
        return _class_index(objects, by=by)
    index = {str(k): int(v) for k, v in class_index.items()}
    present = set(objects[by].dropna().astype(str)) if by in objects.columns else set()
    unknown = sorted(present - set(index))
    if unknown:
        raise ConfigError(f"classes {unknown} are in the objects table but not in class_index")
    return index


def _dtype(index: Mapping[str, int]) -> type:
    return np.uint8 if max(index.values(), default=0) + 1 < 256 else np.uint16


def _file_name(task: pd.Series, page: int | None) -> str:
    base = task.get("external_id")
    base = str(task["task_id"]) if base is None or pd.isna(base) else str(base)
    stem = posixpath.splitext(posixpath.basename(base))[0] or str(task["task_id"])
    return stem if page is None else f"{stem}_{page:06d}"


def _brush(
    task: pd.Series, size: tuple[int, int], storage_options: Mapping[str, Any] | None
) -> np.ndarray | None:
    url = task.get("brush_data_url")
    if url is None or pd.isna(url):
        return None
    pixels = decode_png(read_bytes(str(url), storage_options))
    if pixels.ndim == 3:
        pixels = pixels[:, :, 3] if pixels.shape[2] in (2, 4) else pixels.max(axis=2)
    w, h = size
    if pixels.shape != (h, w):
        raise ConfigError(
            f"task {task['task_id']}: brush mask is {pixels.shape[1]}x{pixels.shape[0]}, "
            f"the asset {w}x{h}"
        )
    return pixels > 0


def _draw(
    task: pd.Series,
    page: int | None,
    rows: list[dict[str, Any]],
    index: Mapping[str, int],
    by: str,
    brush: bool,
    brush_class: str | None,
    storage_options: Mapping[str, Any] | None,
) -> AssetMask:
    size = asset_size(task)
    if size is None:
        raise ConfigError(
            f"task {task['task_id']}: masks need the asset size (metadata_width / metadata_height)"
        )
    w, h = size
    if len(rows) > 65534:
        raise ConfigError(f"task {task['task_id']}: more than 65534 objects on one image")
    semantic: np.ndarray = np.zeros((h, w), _dtype(index))
    instance = np.zeros((h, w), np.uint16)
    records: list[tuple[Any, ...]] = []
    skipped: Counter[str] = Counter()

    drawn: list[tuple[slice, slice]] = []  # where each instance was painted

    def paint(rs: slice, cs: slice, inside: np.ndarray | None, k: int, class_id: int) -> None:
        if inside is None:  # a whole box
            instance[rs, cs] = k
            semantic[rs, cs] = class_id
        else:
            instance[rs, cs][inside] = k
            semantic[rs, cs][inside] = class_id
        while len(drawn) < k:
            drawn.append((slice(0, 0), slice(0, 0)))
        a, b = drawn[k - 1]
        drawn[k - 1] = (_union(a, rs), _union(b, cs))

    for obj in rows:
        shape = shape_of(obj)
        if shape is None or shape.kind != "area":
            skipped[str(obj.get("tool"))] += 1
            continue
        k = len(records) + 1
        title = obj.get(by)
        class_id = index[str(title)] + 1
        if obj.get("tool") == "bounding-box":
            box = box_slices(obj["x"], obj["y"], obj["width"], obj["height"], (h, w))
            if box is not None:
                paint(*box, None, k, class_id)
        for zone in shape.zones if obj.get("tool") != "bounding-box" else ():
            got = rings_mask(zone, (h, w))
            if got is not None:
                paint(*got, k, class_id)
        records.append((k, obj.get("object_id"), title, class_id))
    mask = _brush(task, size, storage_options) if brush else None
    if mask is not None and brush_class is not None:
        if brush_class not in index:
            raise ConfigError(f"brush_class {brush_class!r} is not in class_index")
        k = len(records) + 1
        paint(slice(0, h), slice(0, w), mask, k, index[brush_class] + 1)
        records.append((k, None, brush_class, index[brush_class] + 1))
    instances = pd.DataFrame(records, columns=["instance", "object_id", "title", "class_id"])
    # pixels per instance as visible after overlaps, counted within each one's own extent
    visible = [
        int(np.count_nonzero(instance[drawn[k - 1]] == k)) if k <= len(drawn) else 0
        for k in range(1, len(records) + 1)
    ]
    instances["pixels"] = np.asarray(visible, dtype=np.int64)
    return AssetMask(
        str(task["task_id"]),
        page,
        _file_name(task, page),
        semantic,
        instance,
        instances,
        dict(skipped),
        mask,
    )


def _union(a: slice, b: slice) -> slice:
    if a.stop <= a.start:
        return b
    return slice(min(a.start, b.start), max(a.stop, b.stop))


def mask_images(objects: pd.DataFrame, tasks: pd.DataFrame) -> list[tuple[str, int | None]]:
    """``(task_id, page)`` of every image to mask: sized image tasks, and paged ones per page.

    Single images without objects are included (an empty mask is a negative example); pages
    and frames are those that carry objects.
    """
    require_columns(tasks, ["task_id"], "masks")
    sized = tasks
    if "metadata_width" in tasks.columns:
        sized = tasks[tasks["metadata_width"].notna() & tasks["metadata_height"].notna()]
    else:
        sized = tasks.iloc[0:0]
    paged_pages: dict[str, list[int]] = {}
    if "page" in objects.columns:
        have = objects[objects["page"].notna()][["task_id", "page"]].drop_duplicates()
        for tid, page in zip(have["task_id"], have["page"].astype("int64")):
            paged_pages.setdefault(str(tid), []).append(int(page))
    out: list[tuple[str, int | None]] = []
    for _, task in sized.drop_duplicates("task_id").iterrows():
        tid = str(task["task_id"])
        if tid in paged_pages or has_pages(task):
            out.extend((tid, p) for p in sorted(paged_pages.get(tid, [])))
        else:
            out.append((tid, None))
    return out


def asset_mask(
    objects: pd.DataFrame,
    tasks: pd.DataFrame,
    key: str,
    *,
    page: int | None = None,
    class_index: Mapping[str, int] | None = None,
    by: str = "title",
    brush: bool = False,
    brush_class: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> AssetMask:
    """The masks of one asset (``key``: task_id, external_id or asset_id) on ``page``."""
    require_columns(objects, ["task_id", "tool", by], "masks")
    task = find_task(tasks, key)
    rows, page = asset_objects(objects, task, page)
    index = _index(objects, class_index, by)
    records = _Columns(rows, by).records(np.arange(len(rows)))
    return _draw(task, page, records, index, by, brush, brush_class, storage_options)


def iter_masks(
    objects: pd.DataFrame,
    tasks: pd.DataFrame,
    keys: Iterable[str] | None = None,
    *,
    class_index: Mapping[str, int] | None = None,
    by: str = "title",
    brush: bool = False,
    brush_class: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Iterator[AssetMask]:
    """Masks of every image (or of the assets named in ``keys``), one at a time."""
    require_columns(objects, ["task_id", "tool", by], "masks")
    index = _index(objects, class_index, by)
    if keys is not None:
        wanted = {str(find_task(tasks, k)["task_id"]) for k in keys}
        tasks = tasks[tasks["task_id"].astype(str).isin(wanted)]
    unique = tasks.drop_duplicates("task_id")
    unique = unique[[c for c in _TASK_COLUMNS if c in unique.columns]]
    by_task = unique.set_index(unique["task_id"].astype(str))
    page_col = objects["page"] if "page" in objects.columns else pd.Series(pd.NA, objects.index)
    groups = (
        pd.DataFrame(
            {"t": objects["task_id"].astype(str), "p": page_col.astype("Int64").fillna(-1)}
        )
        .groupby(["t", "p"], sort=False)
        .indices
    )
    columns = _Columns(objects, by)
    for tid, page in mask_images(objects, tasks):
        rows = columns.records(groups.get((tid, -1 if page is None else page)))
        yield _draw(by_task.loc[tid], page, rows, index, by, brush, brush_class, storage_options)


def write_masks(
    objects: pd.DataFrame,
    tasks: pd.DataFrame,
    dest: str,
    keys: Iterable[str] | None = None,
    *,
    class_index: Mapping[str, int] | None = None,
    by: str = "title",
    brush: bool = False,
    brush_class: str | None = None,
    progress: bool = True,
    storage_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """PNG masks under ``dest`` (any fsspec folder): ``semantic/<name>.png``, ``instance/...``.

    One image is in memory at a time. Also writes ``classes.txt`` (index order; the semantic
    value of line ``i`` is ``i + 1``). Returns one row per image: task_id, page, file_name,
    objects, skipped.
    """
    import fsspec

    index = _index(objects, class_index, by)
    fs, root = fsspec.core.url_to_fs(dest, **(storage_options or {}))
    for sub in ("semantic", "instance"):
        fs.makedirs(f"{root}/{sub}", exist_ok=True)
    images = iter_masks(
        objects,
        tasks,
        keys,
        class_index=index,
        by=by,
        brush=brush,
        brush_class=brush_class,
        storage_options=storage_options,
    )
    rows = []
    if progress:
        from tqdm.auto import tqdm

        images = tqdm(images, desc="masks", unit="image")
    for m in images:
        fs.pipe_file(f"{root}/semantic/{m.file_name}.png", encode_png(m.semantic))
        fs.pipe_file(f"{root}/instance/{m.file_name}.png", encode_png(m.instance))
        rows.append((m.task_id, m.page, m.file_name, len(m.instances), sum(m.skipped.values())))
    fs.pipe_file(f"{root}/classes.txt", ("\n".join(index) + "\n").encode())
    out = pd.DataFrame(rows, columns=["task_id", "page", "file_name", "objects", "skipped"])
    out["page"] = out["page"].astype("Int64")
    return out
