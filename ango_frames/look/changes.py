"""Which assets to show: the first ones with objects, or the ones reviewers changed most."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ango_frames.errors import ConfigError

__all__ = ["first_assets", "pick_assets", "review_changes"]

_GEOMETRY = ("x", "y", "width", "height", "rotation", "points", "zones")


def _signature(frame: pd.DataFrame) -> pd.Series:
    cols = [c for c in ("title", *_GEOMETRY) if c in frame.columns]
    return frame[cols].astype("string").fillna("").agg("|".join, axis=1)


def review_changes(tables: Any) -> pd.DataFrame:
    """Per task: objects ``added``, ``deleted`` and ``moved`` since the Label stage, and ``total``.

    Compares each task's last Label snapshot (``history_objects``) with its exported objects,
    object by object (and page by page for videos). Needs an export with ``include_history``.
    """
    hist = getattr(tables, "history_objects", None)
    stages = getattr(tables, "stage_history", None)
    if hist is None or stages is None or stages.empty:
        raise ConfigError("order='changed' needs an export with include_history=True")
    label = stages[stages["stage"] == "Label"][["task_id", "history_order"]]
    label = label.sort_values("history_order").drop_duplicates("task_id", keep="last")
    before = hist.merge(label, on=["task_id", "history_order"])
    after = tables.objects[tables.objects["task_id"].isin(label["task_id"])]
    key = ["task_id", "object_id", "page"]
    left = before[key].assign(sig_l=_signature(before).to_numpy())
    right = after[key].assign(sig_r=_signature(after).to_numpy())
    pairs = left.merge(right, on=key, how="outer", indicator=True)
    out = (
        pd.DataFrame(
            {
                "added": pairs["_merge"].eq("right_only"),
                "deleted": pairs["_merge"].eq("left_only"),
                "moved": pairs["_merge"].eq("both") & pairs["sig_l"].ne(pairs["sig_r"]),
                "task_id": pairs["task_id"],
            }
        )
        .groupby("task_id")[["added", "deleted", "moved"]]
        .sum()
    )
    out["total"] = out.sum(axis=1)
    return out.sort_values(["total", "moved"], ascending=False, kind="stable")


def _image_tasks(objects: pd.DataFrame, tasks: pd.DataFrame) -> pd.DataFrame:
    """Tasks of single images (sized, not videos) that have objects."""
    images = tasks
    if "metadata_width" in tasks.columns:
        images = tasks[tasks["metadata_width"].notna()]
    if "metadata_frameTotal" in tasks.columns:
        images = images[images["metadata_frameTotal"].isna()]
    return images[images["task_id"].isin(objects["task_id"])]


def first_assets(objects: pd.DataFrame, tasks: pd.DataFrame, n: int) -> list[str]:
    """The task ids of the first ``n`` image assets with objects, in table order."""
    return [str(t) for t in _image_tasks(objects, tasks)["task_id"].head(n)]


def pick_assets(tables: Any, n: int, order: str) -> tuple[list[str], dict[str, str] | None]:
    """``n`` task ids to show, and titles for them (None: the default titles)."""
    tasks, objects = tables.tasks, tables.objects
    if order == "first":
        return first_assets(objects, tasks, n), None
    if order == "changed":
        with_objects = _image_tasks(objects, tasks)
        changes = review_changes(tables)
        changes = changes[changes.index.isin(with_objects["task_id"]) & (changes["total"] > 0)]
        top = changes.head(n)
        ext = tasks.drop_duplicates("task_id").set_index("task_id")["external_id"]
        titles = {
            str(t): f"{ext.get(t, t)}: {r.added} added, {r.deleted} deleted, {r.moved} moved"
            for t, r in top.iterrows()
        }
        return [str(t) for t in top.index], titles
    raise ConfigError(f"order must be 'first' or 'changed', got {order!r}")
