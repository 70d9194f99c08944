"""Rows of one task: its ``tasks`` row, objects, classifications, relations and stage history.

:class:`TaskRows` is the part of the :class:`~ango_frames.export.flatten.flattener.Flattener` that
walks a task (a v3 ``task``, a legacy ``tasks`` element, or a bare import-format item) and appends
row tuples to the Flattener's buffers; see the flatten module for the made-up ids and the ``extra``
rules.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ango_frames.export.flatten.answers import add_classifications, add_relations, json_text
from ango_frames.export.flatten.columns import widen
from ango_frames.export.flatten.issues import content_hash, list_or_none
from ango_frames.export.flatten.keys import (
    ASSET_KEYS,
    BARE_KEYS,
    HISTORY_KEYS,
    QUIET,
    REVIEW_KEYS,
    REVIEW_QUIET,
    TASK_KEYS,
    keep_unknown,
)
from ango_frames.export.flatten.objects import add_objects
from ango_frames.export.flatten.scope import Scope
from ango_frames.schemas import DYNAMIC_PREFIXES

__all__ = ["TaskRows"]


def _put(extra: dict | None, key: str, value: Any) -> dict:
    if extra is None:
        extra = {}
    extra[key] = value
    return extra


class TaskRows:
    """Task walking, mixed into the Flattener (which owns the buffers and counters)."""

    unknown_keys: Counter
    _rows: dict[str, Any]
    _kinds: dict[str, str]
    _seen_ids: Counter
    _dyn_rows: list[dict | None]
    _keep_tasks: bool

    def _synth_task_id(self, external_id: Any, *parts: Any) -> str:
        ext = external_id if type(external_id) is str else ""
        tid = f"{ext}#{content_hash(*parts)}"
        seen = self._seen_ids[tid]
        self._seen_ids[tid] += 1
        return f"{tid}.{seen}" if seen else tid

    def _dynamic(self, source: str, values: Any, row: dict, extra: dict | None) -> dict | None:
        if values is None:
            return extra
        if type(values) is not dict:
            return _put(extra, source, values)
        prefix = DYNAMIC_PREFIXES[source]
        kinds = self._kinds
        for key, value in values.items():
            name = prefix + str(key)
            kind, stored, fits = widen(kinds.get(name), value)
            kinds[name] = kind
            if fits:
                row[name] = stored
            else:  # a huge int, or NaN / inf (kept as text: JSON has no NaN)
                extra = _put(extra, name, value if type(value) is int else repr(value))
        return extra

    def _task(
        self,
        asset: dict,
        task: dict,
        index: int,
        task_prefix: str,
        *,
        bare: bool = False,
        extra: dict | None = None,
    ) -> None:
        """One ``tasks`` row plus the task's objects, classifications, relations, history."""
        unknown = self.unknown_keys
        aget, tget = asset.get, task.get
        if bare:
            if not BARE_KEYS.issuperset(asset):
                extra = keep_unknown(asset, BARE_KEYS, extra, unknown, "task.")
        else:
            if not ASSET_KEYS.issuperset(asset):
                extra = keep_unknown(asset, ASSET_KEYS, extra, unknown, "asset.")
            if not TASK_KEYS.issuperset(task):
                extra = keep_unknown(task, TASK_KEYS, extra, unknown, "task.", task_prefix)
        for key in QUIET:
            if key in task:
                extra = _put(extra, task_prefix + key, task[key])

        task_id = tget("taskId")
        made = None  # the made-up task id, if one is made up
        if task_id is None:
            content = asset if bare else ({k: v for k, v in asset.items() if k != "tasks"}, task)
            task_id = made = self._synth_task_id(aget("externalId"), content, index)
        elif type(task_id) is not str:
            extra = _put(extra, "task_id", task_id)
            task_id = made = self._synth_task_id(aget("externalId"), task_id, index)

        url = aget("asset")
        if url is None:
            url = aget("data")
        elif "data" in asset:  # the import format's asset URL, next to an export's `asset`
            extra = _put(extra, "data", asset["data"])

        status = tget("status")
        if status is None:
            status = aget("status") if not bare else None
        elif not bare and "status" in asset:
            extra = _put(extra, "status", asset["status"])

        total = tget("totalDuration")
        if total is None:
            total = aget("labelDuration(ms)", aget("labelDuration"))
        consensus = tget("consensusAverage")
        if consensus is None:
            consensus = aget("consensus")
        detailed = tget("consensusDetailed")
        duration = tget("duration(ms)", tget("duration"))

        review = tget("review")
        if review is None:
            review = {}
        elif type(review) is not dict:
            extra = _put(extra, task_prefix + "review", review)
            review = {}
        elif not REVIEW_KEYS.issuperset(review):
            extra = keep_unknown(
                review, REVIEW_KEYS, extra, unknown, "task.review.", f"{task_prefix}review.",
                REVIEW_QUIET,
            )  # fmt: skip
        rget = review.get

        dyn: dict = {}
        extra = self._dynamic("metadata", aget("metadata"), dyn, extra)
        extra = self._dynamic("contextData", aget("contextData"), dyn, extra)
        if self._keep_tasks:
            self._dyn_rows.append(dyn or None)

        self._rows["tasks"].append(
            (
                task_id,
                aget("assetId"),
                aget("externalId"),
                url,
                list_or_none(aget("dataset")),
                tget("stage"),
                tget("stageId"),
                list_or_none(aget("batches")),
                tget("updatedAt"),
                tget("updatedBy"),
                total,
                consensus,
                None if detailed is None else json_text(detailed),
                tget("brushDataUrl"),
                tget("medicalBrushDataUrl"),
                index,
                status,
                tget("completedAt"),
                tget("completedBy"),
                duration,
                tget("isSkipped"),
                tget("isBenchmark"),
                tget("benchmark"),
                rget("status"),
                rget("completedAt"),
                rget("completedBy"),
                rget("duration(ms)", rget("duration")),
                aget("labeledAt"),
                aget("reviewedAt"),
                extra,
            )
        )
        # A real task id met again (two assets sharing one) gets its made-up child ids under
        # `<task_id>#<n>`, n counting the earlier tasks of that id that made some up.
        seen = self._seen_ids
        repeats = seen.get(task_id, 0) if made is None else 0
        prefix = f"{task_id}#{repeats}" if repeats else task_id
        made_children = self._content(task, task_id, prefix, None)
        history = tget("stageHistory")
        if history is not None:
            made_children += self._history(history, task_id, prefix)
        if made_children and made is None:
            seen[task_id] += 1

    def _content(self, holder: dict, task_id: str, prefix: str, order: int | None) -> int:
        """The tools / objects, classifications and relations of a task or a history snapshot;
        returns how many ids were made up."""
        rows = self._rows
        sinks = (
            (rows["objects"], rows["classifications"], rows["relations"])
            if order is None
            else (
                rows["history_objects"],
                rows["history_classifications"],
                rows["history_relations"],
            )
        )
        lead = (task_id,) if order is None else (task_id, order)
        scope = Scope(lead, prefix, sinks, self.unknown_keys)
        get = holder.get
        start = 0  # `objects` beside `tools` continue their numbering
        # a present value is read even when falsy (0, false, ""): kept, never dropped
        for key in ("tools", "objects"):
            items = get(key)
            if items is not None and items != []:
                add_objects(items, scope, start)
                start += len(items) if type(items) is list else 1
        items = get("classifications")
        if items is not None and items != []:
            add_classifications(items, scope, None, None)
        items = get("relations")
        if items is not None and items != []:
            add_relations(items, scope)
        return scope.counter[1]

    def _history(self, history: Any, task_id: str, prefix: str) -> int:
        unknown = self.unknown_keys
        append = self._rows["stage_history"].append
        if type(history) is not list:
            history = [history]
        made = 0
        for order, snap in enumerate(history):
            extra: dict | None = None
            if type(snap) is not dict:
                append((task_id, order) + (None,) * 8 + ({"snapshot": snap},))
                continue
            get = snap.get
            if not HISTORY_KEYS.issuperset(snap):
                extra = keep_unknown(snap, HISTORY_KEYS, extra, unknown, "stage_history.")
            append(
                (
                    task_id,
                    order,
                    get("stage"),
                    get("stageId"),
                    get("duration", get("duration(ms)")),
                    get("completedAt"),
                    get("completedBy"),
                    get("brushDataUrl"),
                    get("medicalBrushDataUrl"),
                    get("reviewStatus"),
                    extra,
                )
            )
            made += self._content(snap, task_id, f"{prefix}/h{order}", order)
        return made
