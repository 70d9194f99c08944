"""Export records to tidy tables: one code path, records in, Arrow record batches out.

A :class:`Flattener` takes one record at a time (an asset of a v3 or legacy export, a bare task,
an import-format item, a fragment, or an issue), appends rows to per-table buffers, and turns
them into record batches typed exactly per :mod:`ango_frames.schemas` on :meth:`Flattener.flush`.
``read_export``, ``export_to_parquet`` and the Dask reader all use it, so it keeps no global state
and gives the same rows for the same records, in the same order.

Ids that the records lack are made up deterministically (real ids are always kept as they are):

* ``task_id``: ``<externalId>#<h>``, h = 16 hex digits of a BLAKE2b hash of the record's
  content (plus the position for legacy ``tasks`` elements), so it depends on the record alone,
  not on where it sits; the 2nd, 3rd, ... record with identical content in the export gets
  ``.1``, ``.2``, ... appended, counted in export order (a parallel read passes the counts of
  earlier parts on through ``seen_ids``, so it gives the ids of a one-process read);
* ``object_id``: ``<task_id>/o<n>`` (n = position in ``tools`` / ``objects``);
  ``classification_id``: ``<task_id>/c<n>`` (n counts the task's classifications depth first);
  ``relation_id``: ``<task_id>/r<n>``; in stage-history snapshots the prefix is
  ``<task_id>/h<history_order>``; ``issue_id``: ``issue#<h>``.

Rows are buffered as tuples and transposed once per batch (``zip(*rows)``), which measured faster
in CPython than appending to one list per column. Values that do not fit their column (wrong
type, huge ints, unparseable timestamps) are nulled and kept in the row's ``extra`` JSON under
the column's name; keys the reader does not know are kept in ``extra`` under their own name
(``task.<key>`` for keys of a v3 ``task`` / legacy ``tasks`` element, ``<geometry>.<key>`` for
keys inside a geometry) and counted in :attr:`Flattener.unknown_keys`.
"""

from __future__ import annotations

import gc
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pyarrow as pa

from ango_frames._answers import add_classifications, add_relations, json_text
from ango_frames._batch import rows_to_batch
from ango_frames._columns import KIND_TYPES, widen
from ango_frames._issues import content_hash, issue_row, list_or_none
from ango_frames._keys import (
    ASSET_KEYS,
    BARE_KEYS,
    CONTAINERS,
    GEOMETRY,
    HISTORY_KEYS,
    HOLDERS,
    QUIET,
    RELATION_SHAPE,
    REVIEW_KEYS,
    TASK_KEYS,
)
from ango_frames._tools import add_objects
from ango_frames.errors import ConfigError, UnknownKeysWarning
from ango_frames.schemas import DYNAMIC_PREFIXES, SCHEMAS, TABLE_NAMES, dynamic_field

__all__ = ["BATCH_ROWS", "Flattener", "flatten_records", "warn_unknown_keys"]

# Rows of the fullest table per flush. Rows point into freshly parsed records, and Arrow reads
# them ~5x faster while they are still in the CPU caches: 8192 measured faster than 65536 (and
# than 2048), and it bounds the Python rows held at once. Row groups are sized by the writer.
BATCH_ROWS = 8192


def _put(extra: dict | None, key: str, value: Any) -> dict:
    if extra is None:
        extra = {}
    extra[key] = value
    return extra


class _Drop:
    """The buffer of a table nobody asked for."""

    __slots__ = ()

    def append(self, _row: Any) -> None:
        pass

    def __len__(self) -> int:
        return 0


class Flattener:
    """Records in, typed Arrow record batches out; one instance per stream of records.

    Parameters
    ----------
    tables : iterable of str, optional
        Only these tables are built (default: all of ``schemas.TABLE_NAMES``).

    Attributes
    ----------
    unknown_keys : collections.Counter
        How often each unknown key was met (``"asset.foo"``, ``"object.spline"``, ...); callers
        emit one ``UnknownKeysWarning`` per read from it (:func:`warn_unknown_keys`).
    """

    def __init__(
        self, tables: Iterable[str] | None = None, *, seen_ids: Mapping[str, int] | None = None
    ) -> None:
        wanted = TABLE_NAMES if tables is None else tuple(tables)
        bad = [t for t in wanted if t not in SCHEMAS]
        if bad:
            raise ConfigError(f"unknown table(s) {bad}; tables are {', '.join(TABLE_NAMES)}")
        self.tables = tuple(t for t in TABLE_NAMES if t in wanted)
        self.unknown_keys: Counter = Counter()
        self.records = 0
        self._rows: dict[str, Any] = {t: ([] if t in wanted else _Drop()) for t in TABLE_NAMES}
        self._keep_tasks = "tasks" in self.tables
        self._dyn_rows: list[dict | None] = []  # metadata_* / context_* values per tasks row
        self._kinds: dict[str, str] = {}  # dynamic column -> kind, over the whole stream
        # made-up task id -> how often it was made (earlier parts of the export may pre-fill it)
        self._start_ids = dict(seen_ids or {})
        self._seen_ids: Counter = Counter(self._start_ids)

    # ------------------------------------------------------------------ public
    def made_up_ids(self) -> Counter:
        """Made-up task id -> how many records of this stream got it (not counting pre-fills)."""
        made = Counter(self._seen_ids)
        made.subtract(self._start_ids)
        return +made

    def pending_rows(self) -> int:
        """Rows of the fullest table buffer (``flatten_records`` flushes on it)."""
        return max(len(self._rows[t]) for t in self.tables) if self.tables else 0

    def add(self, record: Any) -> None:
        """Append the rows of one top-level record to the table buffers."""
        self.records += 1
        if type(record) is not dict:
            self.unknown_keys["record(not an object)"] += 1
            self._task({}, {}, 0, "", extra={"record": record})
            return
        task = record.get("task")
        if type(task) is dict:
            self._task(record, task, 0, "task.")
            return
        tasks = record.get("tasks")
        if type(tasks) is list:
            if not tasks:
                self._task(record, {}, 0, "task.")
            for i, element in enumerate(tasks):
                if type(element) is dict:
                    self._task(record, element, i, "task.")
                else:
                    self._task(record, {}, i, "task.", extra={"task": element})
            return
        answer = record.get("answer")
        if "labelTask" in record or (
            "_id" in record
            and ("content" in record or "status" in record)
            and answer is None
            and not CONTAINERS.intersection(record)
        ):
            self._rows["issues"].append(issue_row(record, self.unknown_keys))
            return
        if type(answer) is dict and "schemaId" not in record:  # OpenAPI {externalId, answer: {...}}
            inner = {**answer, **{k: v for k, v in record.items() if k != "answer"}}
            self._task(inner, inner, 0, "", bare=True)
            return
        if not HOLDERS.intersection(record):  # a fragment: one entry of a task's lists
            if GEOMETRY.intersection(record):
                record = {"tools": [record]}
            elif "answer" in record:
                record = {"classifications": [record]}
            elif RELATION_SHAPE.intersection(record):
                record = {"relations": [record]}
        self._task(record, record, 0, "", bare=True)

    def schema(self, table: str) -> pa.Schema:
        """The schema of ``table`` so far (``tasks`` grows its dynamic columns as they appear)."""
        base = SCHEMAS[table]
        if table != "tasks" or not self._kinds:
            return base
        return pa.schema(
            [*base, *(dynamic_field(n, KIND_TYPES[self._kinds[n]]) for n in self._dynamic_names())]
        )

    def flush(self) -> dict[str, pa.RecordBatch]:
        """The buffered rows as record batches (only tables with rows), emptying the buffers."""
        out: dict[str, pa.RecordBatch] = {}
        for table in self.tables:
            rows = self._rows[table]
            if not rows:
                continue
            self._rows[table] = []
            if table == "tasks":
                dyn, self._dyn_rows = self._dyn_rows, []
                out[table] = rows_to_batch(
                    rows, SCHEMAS[table], dyn, self._kinds, self._dynamic_names()
                )
            else:
                out[table] = rows_to_batch(rows, SCHEMAS[table])
            del rows
        return out

    # ----------------------------------------------------------------- private
    def _dynamic_names(self) -> list[str]:
        meta = sorted(n for n in self._kinds if n.startswith(DYNAMIC_PREFIXES["metadata"]))
        ctx = sorted(n for n in self._kinds if n.startswith(DYNAMIC_PREFIXES["contextData"]))
        return meta + ctx

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
                for key in asset:
                    if key not in BARE_KEYS:
                        extra = _put(extra, key, asset[key])
                        unknown[f"task.{key}"] += 1
        else:
            if not ASSET_KEYS.issuperset(asset):
                for key in asset:
                    if key not in ASSET_KEYS:
                        extra = _put(extra, key, asset[key])
                        unknown[f"asset.{key}"] += 1
            if not TASK_KEYS.issuperset(task):
                for key in task:
                    if key not in TASK_KEYS:
                        extra = _put(extra, task_prefix + key, task[key])
                        unknown[f"task.{key}"] += 1
        for key in QUIET:
            if key in task:
                extra = _put(extra, task_prefix + key, task[key])

        task_id = tget("taskId")
        if task_id is None:
            content = asset if bare else ({k: v for k, v in asset.items() if k != "tasks"}, task)
            task_id = self._synth_task_id(aget("externalId"), content, index)
        elif type(task_id) is not str:
            extra = _put(extra, "task_id", task_id)
            task_id = self._synth_task_id(aget("externalId"), task_id, index)

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
            for key in review:
                if key not in REVIEW_KEYS:
                    extra = _put(extra, f"{task_prefix}review.{key}", review[key])
                    if key != "isSkipped":  # documented (NRRD sample), no column of its own
                        unknown[f"task.review.{key}"] += 1
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
        self._content(task, task_id, task_id, None)
        history = tget("stageHistory")
        if history is not None:
            self._history(history, task_id)

    def _content(self, holder: dict, task_id: str, prefix: str, order: int | None) -> None:
        """The tools / objects, classifications and relations of a task or a history snapshot."""
        unknown, rows = self.unknown_keys, self._rows
        objects, classes, relations = (
            (rows["objects"], rows["classifications"], rows["relations"])
            if order is None
            else (
                rows["history_objects"],
                rows["history_classifications"],
                rows["history_relations"],
            )
        )
        counter = [0]
        get = holder.get
        for key in ("tools", "objects"):
            items = get(key)
            if items:
                add_objects(items, task_id, prefix, objects, classes, counter, order, unknown)
        items = get("classifications")
        if items:
            add_classifications(
                items, task_id, None, None, prefix, counter, classes, order, unknown
            )
        items = get("relations")
        if items:
            add_relations(items, task_id, prefix, relations, classes, counter, order, unknown)

    def _history(self, history: Any, task_id: str) -> None:
        unknown = self.unknown_keys
        append = self._rows["stage_history"].append
        if type(history) is not list:
            history = [history]
        for order, snap in enumerate(history):
            extra: dict | None = None
            if type(snap) is not dict:
                append((task_id, order) + (None,) * 7 + ({"snapshot": snap},))
                continue
            get = snap.get
            if not HISTORY_KEYS.issuperset(snap):
                for key in snap:
                    if key not in HISTORY_KEYS:
                        extra = _put(extra, key, snap[key])
                        unknown[f"stage_history.{key}"] += 1
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
                    extra,
                )
            )
            self._content(snap, task_id, f"{task_id}/h{order}", order)


def flatten_records(
    records: Iterable[Any],
    *,
    batch_rows: int = BATCH_ROWS,
    tables: Iterable[str] | None = None,
    flattener: Flattener | None = None,
) -> Iterator[dict[str, pa.RecordBatch]]:
    """Flatten ``records``, yielding record batches whenever a table buffer reaches ``batch_rows``.

    A record's rows always land in the same yield (flushes happen between records), so the rows
    of one task can be joined within one yield. Pass ``flattener`` to read its ``unknown_keys``
    and final schemas afterwards.

    Yields
    ------
    dict of str to pyarrow.RecordBatch
        Only the tables that got rows since the previous yield.
    """
    if batch_rows < 1:
        raise ConfigError(f"batch_rows must be >= 1, got {batch_rows}")
    flat = flattener if flattener is not None else Flattener(tables)
    add = flat.add
    # The buffers hold up to batch_rows tuples per table, and CPython's cyclic GC would walk them
    # again and again while they grow (measured: ~40% of the time). Nothing here makes cycles, so
    # the collector is paused while a batch is built and restored before each yield.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for record in records:
            add(record)
            if flat.pending_rows() >= batch_rows:
                out = flat.flush()
                if was_enabled:
                    gc.enable()
                yield out
                gc.disable()
        last = flat.flush()
    finally:
        if was_enabled:
            gc.enable()
    if last:
        yield last


def warn_unknown_keys(unknown: Counter, source: str = "", stacklevel: int = 3) -> None:
    """Emit ONE ``UnknownKeysWarning`` listing every unknown key of a read and its count."""
    if not unknown:
        return
    listed = ", ".join(f"{key} ({n})" for key, n in unknown.most_common())
    where = f" in {source}" if source else ""
    warnings.warn(
        f"unknown export keys{where}, kept in the `extra` columns: {listed}",
        UnknownKeysWarning,
        stacklevel=stacklevel,
    )
