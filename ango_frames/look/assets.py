"""One asset of the tidy tables: find its task, its objects on a page or frame, its image.

``key`` names an asset by ``task_id``, ``external_id`` or ``asset_id`` (tried in that order; an
``external_id`` shared by several tasks is an error listing them, never a guess). Pages of a
multi-page asset and frames of a video are 0-based, as the ``page`` column is.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd

from ango_frames.errors import ConfigError, ImageError
from ango_frames.look.png import decode_png

__all__ = [
    "asset_objects",
    "asset_size",
    "find_task",
    "has_pages",
    "image_url",
    "load_image",
    "public_source",
]

_VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")


def find_task(tasks: pd.DataFrame, key: str) -> pd.Series:
    """The ``tasks`` row of the asset named by ``key`` (task_id, external_id or asset_id)."""
    for column in ("task_id", "external_id", "asset_id"):
        if column not in tasks.columns:
            continue
        hits = tasks[tasks[column].astype("string") == str(key)]
        if len(hits) == 1:
            return hits.iloc[0]
        if len(hits) > 1:
            ids = ", ".join(map(str, hits["task_id"].head(5)))
            raise ConfigError(f"{column} {key!r} names {len(hits)} tasks ({ids}); pass a task_id")
    raise ConfigError(f"no task has task_id, external_id or asset_id {key!r}")


def _value(row: pd.Series, column: str) -> Any:
    value = row.get(column)
    if value is None or (np.ndim(value) == 0 and pd.isna(value)):
        return None
    return value


def has_pages(task: pd.Series, objects: pd.DataFrame | None = None) -> bool:
    """True for videos and multi-page assets, whose objects are keyed by ``page``."""
    if _value(task, "metadata_frameTotal") is not None:
        return True
    dataset = _value(task, "dataset")
    if dataset is not None and len(dataset) > 0:
        return True
    if objects is not None and "page" in objects.columns:
        mine = objects[objects["task_id"] == task["task_id"]]
        return bool(mine["page"].notna().any())
    return False


def asset_objects(
    objects: pd.DataFrame, task: pd.Series, page: int | None
) -> tuple[pd.DataFrame, int | None]:
    """The objects drawn on ``page`` (default 0 for paged assets) and the page used."""
    mine = objects[objects["task_id"] == task["task_id"]]
    if not has_pages(task, objects):
        if page not in (None, 0):
            raise ConfigError(f"task {task['task_id']} has no pages or frames; page={page}")
        return mine, None
    page = 0 if page is None else int(page)
    frames = _value(task, "metadata_frameTotal")
    if page < 0 or (frames is not None and page >= int(frames)):
        raise ConfigError(f"task {task['task_id']} has frames 0..{frames}; page={page}")
    return mine[mine["page"].astype("Int64") == page], page


def asset_size(task: pd.Series) -> tuple[int, int] | None:
    """``(width, height)`` from the asset's metadata, or None when unknown."""
    w, h = _value(task, "metadata_width"), _value(task, "metadata_height")
    if w is None or h is None:
        return None
    return round(float(w)), round(float(h))


def image_url(task: pd.Series, page: int | None) -> str | None:
    """The URL of the picture of ``page``; None for videos and non-image assets."""
    if _value(task, "metadata_frameTotal") is not None:
        return None
    dataset = _value(task, "dataset")
    if dataset is not None and len(dataset) > 0:
        index = page or 0
        if index >= len(dataset):
            raise ConfigError(f"task {task['task_id']} has {len(dataset)} pages; page={page}")
        return str(dataset[index])
    url = _value(task, "asset")
    if url is None or urlsplit(str(url)).path.lower().endswith(_VIDEO_SUFFIXES):
        return None
    if _value(task, "metadata_width") is None:
        return None  # text, audio, PDF: nothing to draw boxes on
    return str(url)


def public_source(source: str) -> str:
    """``source`` without credentials or query string (signed URLs carry secrets there)."""
    parts = urlsplit(source)
    if not parts.scheme or len(parts.scheme) == 1:  # a path (or a Windows drive letter)
        return source
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def read_bytes(source: str, storage_options: Mapping[str, Any] | None = None) -> bytes:
    """The bytes at a path or URL; ImageError if unreadable.

    http(s) goes through ``requests`` (a core dependency; fsspec's http needs aiohttp), with
    ``storage_options`` as keyword arguments of ``requests.get`` (headers, timeout, ...); every
    other protocol (s3, gs, memory, file, ...) through fsspec with ``storage_options``.
    """
    import fsspec

    try:
        if source.lower().startswith(("http://", "https://")):
            import requests

            options = {"timeout": 30, **(storage_options or {})}
            reply = requests.get(source, **options)
            if reply.status_code != 200:
                raise OSError(f"HTTP {reply.status_code}")
            return reply.content
        with fsspec.open(source, "rb", **(storage_options or {})) as f:
            return f.read()
    except ImportError:
        raise
    except Exception as exc:
        where = public_source(source)
        raise ImageError(
            f"cannot fetch {where}: {type(exc).__name__}: {_safe(str(exc), source)}", where
        ) from None


def _safe(text: str, source: str) -> str:
    """An error text without the source's query string or credentials, wherever they appear."""
    parts = urlsplit(source)
    text = text.replace(source, public_source(source))
    for secret in (parts.query, parts.password, parts.username):
        if secret:
            text = text.replace(secret, "...")
    return text[:300]


def decode_image(data: bytes, source: str = "") -> np.ndarray:
    """Pixels of PNG (stdlib) or any format pillow reads (JPEG, WebP, ...)."""
    try:
        if data.startswith(b"\x89PNG"):
            try:
                return decode_png(data)
            except ValueError:
                pass  # interlaced or low bit depth: pillow below
        from ango_frames.look.deps import require_pillow

        image_module = require_pillow()
        with image_module.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGBA" if "A" in im.getbands() else "RGB"))
    except ImportError:
        raise
    except Exception as exc:
        where = public_source(source)
        raise ImageError(f"cannot decode the image {where}: {exc}", where) from None


def load_image(image: Any, *, storage_options: Mapping[str, Any] | None = None) -> np.ndarray:
    """An image as a numpy array, from an array, bytes, a path or an fsspec URL."""
    if isinstance(image, np.ndarray):
        return image
    if isinstance(image, (bytes, bytearray)):
        return decode_image(bytes(image))
    if hasattr(image, "__array__"):  # a PIL image, an xarray, ...
        return np.asarray(image)
    if isinstance(image, str):
        return decode_image(read_bytes(image, storage_options), image)
    raise ConfigError(f"image must be an array, bytes, a path or a URL, not {type(image).__name__}")
