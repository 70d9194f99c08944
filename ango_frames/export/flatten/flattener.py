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
import threading
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pyarrow as pa

from ango_frames.errors import ConfigError, UnknownKeysWarning
from ango_frames.export.flatten.batch import rows_to_batch
from ango_frames.export.flatten.columns import KIND_TYPES, conform
from ango_frames.export.flatten.issues import issue_row
from ango_frames.export.flatten.keys import (
    CONTAINERS,
    GEOMETRY,
    HOLDERS,
    RELATION_SHAPE,
)
from ango_frames.export.flatten.native import flatten_native, resolve_engine
from ango_frames.export.flatten.tasks import TaskRows
from ango_frames.export.jsonstream import Lines
from ango_frames.schemas import DYNAMIC_PREFIXES, SCHEMAS, TABLE_NAMES, dynamic_field

__all__ = ["BATCH_ROWS", "Flattener", "flatten_records", "flatten_to_tables", "warn_unknown_keys"]

# Rows of the fullest table per flush. Rows point into freshly parsed records, and Arrow reads
# them ~5x faster while they are still in the CPU caches: 4096 and 8192 measured as fast as each
# other and faster than 65536 or 2048; 4096 holds ~20 MB fewer Python rows per process (which
# counts twice with workers=2). Row groups are sized by the writer.
BATCH_ROWS = 4096


def _with(extra: dict | None, key: str, value: Any) -> dict:
    return {key: value} if extra is None else {**extra, key: value}


class _Drop:
    """The buffer of a table nobody asked for."""

    __slots__ = ()

    def append(self, _row: Any) -> None:
        pass

    def __len__(self) -> int:
        return 0


class Flattener(TaskRows):
    """Records in, typed Arrow record batches out; one instance per stream of records.

    Parameters
    ----------
    tables : iterable of str, optional
        Only these tables are built (default: all of ``schemas.TABLE_NAMES``).
    engine : {"native", "python"}, optional
        Who flattens blocks of ndjson lines (:class:`~ango_frames.export.jsonstream.Lines`):
        the native core when it is built (the default, unless ``$ANGO_FRAMES_ENGINE`` says
        ``python``), with this class as its fallback, or this class alone. Same tables either way.

    Attributes
    ----------
    unknown_keys : collections.Counter
        How often each unknown key was met (``"asset.foo"``, ``"object.spline"``, ...); callers
        emit one ``UnknownKeysWarning`` per read from it (:func:`warn_unknown_keys`).
    """

    def __init__(
        self,
        tables: Iterable[str] | None = None,
        *,
        seen_ids: Mapping[str, int] | None = None,
        engine: str | None = None,
    ) -> None:
        self.engine = resolve_engine(engine)
        self.native = self.engine == "native"
        wanted = TABLE_NAMES if tables is None else tuple(tables)
        bad = [t for t in wanted if t not in SCHEMAS]
        if bad:
            raise ConfigError(f"unknown table(s) {bad}; tables are {', '.join(TABLE_NAMES)}")
        self.tables = tuple(t for t in TABLE_NAMES if t in wanted)
        self.unknown_keys: Counter = Counter()
        self.records = 0
        self.python_records = 0  # records the native core handed to this class
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
        tasks = record.get("tasks")
        if task is not None and tasks is not None:
            # both: `task` is read, `tasks` is kept whole (never silently dropped)
            self.unknown_keys["asset.tasks(beside task)"] += 1
            record = {k: v for k, v in record.items() if k != "tasks"}
            extra = {"tasks": tasks}
            tasks = None
        else:
            extra = None
        if type(task) is dict:
            self._task(record, task, 0, "task.", extra=extra)
            return
        if task is not None:  # not an object: kept whole in `extra`
            self.unknown_keys["asset.task(not an object)"] += 1
            self._task(record, {}, 0, "task.", extra=_with(extra, "task", task))
            return
        if tasks is not None and type(tasks) is not list:
            self.unknown_keys["asset.tasks(not a list)"] += 1
            self._task(record, {}, 0, "task.", extra={"tasks": tasks})
            return
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
    if flat.native:
        yield from _gc_paused(flatten_native(records, flat, batch_rows))
        return
    add = flat.add
    # The buffers hold up to batch_rows tuples per table, and CPython's cyclic GC would walk them
    # again and again while they grow (measured: ~40% of the time). Nothing here makes cycles, so
    # the collector is paused while a batch is built and restored before each yield.
    _pause_gc()
    try:
        for record in _records_of(records):
            add(record)
            if flat.pending_rows() >= batch_rows:
                out = flat.flush()
                _resume_gc()
                try:
                    yield out
                finally:
                    _pause_gc()
        last = flat.flush()
    finally:
        _resume_gc()
    if last:
        yield last


def _records_of(items: Iterable[Any]) -> Iterator[Any]:
    """Records, with blocks of ndjson lines (for the native core) read record by record."""
    for item in items:
        if type(item) is Lines:
            yield from item
        else:
            yield item


def _gc_paused(batches: Iterator[dict[str, pa.RecordBatch]]) -> Iterator[dict[str, pa.RecordBatch]]:
    """``batches`` with the cyclic GC paused while each one is built (see flatten_records)."""
    _pause_gc()
    try:
        for out in batches:
            _resume_gc()
            try:
                yield out
            finally:
                _pause_gc()
    finally:
        _resume_gc()


# The collector is shared by every thread: it is paused while any thread builds a batch and put
# back as it was found when the last one is done (a per-call "was it enabled?" would leave it
# disabled when two threads overlap).
_GC_LOCK = threading.Lock()
_gc_state = {"pausers": 0, "was_enabled": True}


def _pause_gc() -> None:
    with _GC_LOCK:
        if _gc_state["pausers"] == 0:
            _gc_state["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_state["pausers"] += 1


def _resume_gc() -> None:
    with _GC_LOCK:
        _gc_state["pausers"] -= 1
        if _gc_state["pausers"] == 0 and _gc_state["was_enabled"]:
            gc.enable()


def flatten_to_tables(
    records: Iterable[Any], flat: Flattener, *, batch_rows: int = BATCH_ROWS
) -> dict[str, pa.Table]:
    """All of ``records`` as one Arrow table per table of ``flat`` (each at its final schema)."""
    batches: dict[str, list[pa.RecordBatch]] = {name: [] for name in flat.tables}
    for out in flatten_records(records, batch_rows=batch_rows, flattener=flat):
        for name, batch in out.items():
            batches[name].append(batch)
    tables = {}
    for name in flat.tables:
        schema = flat.schema(name)
        tables[name] = pa.Table.from_batches(
            [conform(b, schema) for b in batches.pop(name)], schema=schema
        )
    return tables


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
