"""The public look functions on ``ExportTables`` (``read_export``'s result).

Each takes the tables object (anything with ``objects`` and ``tasks``, optionally
``classifications`` and the ``history_*`` tables) and hands its frames to the module that does
the work; ``df.ango`` calls those modules the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from ango_frames.errors import ConfigError
from ango_frames.look import masking as _masks
from ango_frames.look import plot as _plot
from ango_frames.look.changes import pick_assets

__all__ = ["asset_mask", "contact_sheet", "masks", "plot_asset", "write_masks"]


def _frames(tables: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    try:
        return tables.objects, tables.tasks
    except AttributeError:
        raise ConfigError(
            f"expected the tables of read_export (with .objects and .tasks), got "
            f"{type(tables).__name__}; on a single frame use df.ango"
        ) from None


def _table(tables: Any, name: str) -> pd.DataFrame | None:
    value = getattr(tables, name, None)
    return value if isinstance(value, pd.DataFrame) else None


def plot_asset(tables: Any, key: str, **options: Any) -> Any:
    """Draw an asset's objects over its image; returns the matplotlib Axes.

    ``key`` is a task_id, external_id or asset_id. Options: ``image`` (array, bytes, path or
    URL; default: fetch the asset URL), ``ax``, ``page`` / ``frame``, ``fill``, ``alpha``,
    ``colors``, ``legend``, ``title``, ``answers`` (the global answers under the title),
    ``brush``, ``storage_options``. Needs the ``[plot]`` extra.
    """
    objects, tasks = _frames(tables)
    options.setdefault("classifications", _table(tables, "classifications"))
    return _plot.draw_asset(objects, tasks, key, **options)


def contact_sheet(
    tables: Any, keys: Sequence[str] | int = 12, *, order: str = "first", **options: Any
) -> Any:
    """A grid of assets; returns the matplotlib Figure.

    ``keys``: the assets to show, or a number of them, picked by ``order``: ``"first"`` (image
    assets with objects, in table order) or ``"changed"`` (the ones reviewers changed most:
    objects added, deleted or moved between the Label snapshot and the export; needs an export
    with ``include_history``). Options as ``plot_asset``, plus ``ncols`` and ``size`` (inches).
    """
    objects, tasks = _frames(tables)
    titles = None
    if isinstance(keys, int):
        keys, titles = pick_assets(tables, keys, order)
    options.setdefault("classifications", _table(tables, "classifications"))
    return _plot.draw_sheet(objects, tasks, list(keys), titles=titles, **options)


def asset_mask(tables: Any, key: str, **options: Any) -> _masks.AssetMask:
    """The semantic and instance masks of one asset (see ``ango_frames.look.masking``)."""
    objects, tasks = _frames(tables)
    return _masks.asset_mask(objects, tasks, key, **options)


def masks(
    tables: Any, keys: Iterable[str] | None = None, **options: Any
) -> Iterator[_masks.AssetMask]:
    """Masks of every image, one at a time: ``for m in af.masks(tables, class_index=index)``.

    Options: ``class_index`` (shared with ``to_coco`` / ``to_yolo``), ``by``, ``brush``,
    ``brush_class``, ``storage_options``.
    """
    objects, tasks = _frames(tables)
    return _masks.iter_masks(objects, tasks, keys, **options)


def write_masks(
    tables: Any,
    dest: str,
    keys: Iterable[str] | None = None,
    *,
    class_index: Mapping[str, int] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """PNG masks under ``dest`` (any fsspec folder), one image in memory at a time."""
    objects, tasks = _frames(tables)
    return _masks.write_masks(objects, tasks, dest, keys, class_index=class_index, **options)
