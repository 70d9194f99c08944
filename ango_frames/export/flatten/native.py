"""The engine choice, and the native core driven with the Python flattener as its fallback.

The native core (``_core``, C++ in ``_native/``, optional) reads blocks of ndjson lines
(:class:`~ango_frames.export.jsonstream.Lines`) straight into Arrow columns, without the GIL.
It stops at every record it does not fully understand; that record goes through the Python
:class:`~ango_frames.export.flatten.flattener.Flattener` (the reference), and the core goes on
after it. Batches are cut where the Python engine cuts them (a table of the window reaches
``batch_rows`` rows, between records), and the dynamic ``metadata_*`` / ``context_*`` columns
of a window are typed with the kinds seen up to its end, so both engines give the same tables,
rows, order and made-up ids (the core never makes up a task id: such records are Python's).

``engine()`` says which engine runs: ``"native"`` when the extension is built, unless the
``ANGO_FRAMES_ENGINE`` environment variable is ``python``.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pyarrow as pa

from ango_frames.errors import ConfigError
from ango_frames.export.flatten.batch import rows_to_batch
from ango_frames.export.flatten.columns import KIND_TYPES, dynamic_array
from ango_frames.export.jsonstream import Lines
from ango_frames.schemas import SCHEMAS, TABLE_NAMES, dynamic_field

#: The Python ``Flattener`` that drives the core (typed loosely: the flattener imports this module,
#: so this one does not import it back).
Flattener = Any

_core: Any
try:
    from ango_frames.export.flatten import _core
except ImportError:  # not built: the pure-Python engine
    _core = None

__all__ = [
    "ENGINES",
    "THREADS",
    "Lines",
    "NativeRun",
    "available",
    "engine",
    "flatten_native",
    "resolve_engine",
]

ENGINES = ("native", "python")
THREADS = 2  # threads running the core on successive blocks (the GIL is released meanwhile)
_ENV = "ANGO_FRAMES_ENGINE"
_FALLBACK = 2
_NO_WINDOW = 2**62  # blocks are scanned whole; NativeRun cuts the windows
_N = len(TABLE_NAMES)
_STRIDE = _N + 3  # per record: rows per table, ids made up, line offset, line index
_local = threading.local()


def available() -> bool:
    """True when the native core is built."""
    return _core is not None


def resolve_engine(requested: str | None = None) -> str:
    """``requested`` (or ``$ANGO_FRAMES_ENGINE``, or the best available) as an engine name."""
    name = requested if requested is not None else os.environ.get(_ENV) or None
    if name is None:
        return "native" if _core is not None else "python"
    if name not in ENGINES:
        raise ConfigError(f"engine must be one of {ENGINES}, got {name!r}")
    if name == "native" and _core is None:
        raise ConfigError("engine='native' asked for, but the native core is not built")
    return name


def engine() -> str:
    """The flattening engine in use by default: ``"native"`` or ``"python"``."""
    try:
        return resolve_engine()
    except ConfigError:  # a bad value in the environment: the reference engine
        return "python"


class _Segment:
    """Consecutive records of one block flattened by the core: one batch per table."""

    __slots__ = ("batches", "counts", "data", "dynamic", "k0", "records")

    def __init__(
        self, batches: dict, dynamic: list, counts: bytes, data: bytes, n: int, k0: int
    ) -> None:
        self.batches, self.dynamic, self.data, self.records = batches, dynamic, data, n
        self.counts = memoryview(counts).cast("q")  # _STRIDE values per record
        self.k0 = k0  # lines of the block before the segment


_STRUCTS: dict[tuple, pa.DataType] = {}  # (table, mask) -> struct of the non-null columns


def _import(columns: list, wanted: list[bool]) -> dict[str, pa.RecordBatch]:
    """The core's columns as record batches (one struct array imported per table)."""
    batches = {}
    for i, table in enumerate(TABLE_NAMES):
        entry = columns[i]
        if entry is None or not wanted[i]:
            continue  # a table nobody asked for: freed with the owner
        mask, address = entry
        schema = SCHEMAS[table]
        kind = _STRUCTS.get((i, mask))
        if kind is None:
            kind = _STRUCTS[(i, mask)] = pa.struct([f for f, m in zip(schema, mask) if m])
        struct = pa.Array._import_from_c(address, kind)
        n = len(struct)
        given = iter(struct.flatten())
        arrays = [next(given) if m else pa.nulls(n, f.type) for f, m in zip(schema, mask)]
        batches[table] = pa.RecordBatch.from_arrays(arrays, schema=schema)
    return batches


def scan(lines: Lines, wanted: list[bool]) -> list[Any]:
    """One block through the core: ``_Segment``s and, between them, ``(pos, k)`` of each line
    the core refused (for the Python flattener). Runs in any thread, one core per thread."""
    core = getattr(_local, "core", None)
    if core is None:
        core = _local.core = _core.new_core()
    data, pos, k = lines.data, 0, 0
    parts: list[Any] = []
    zero = [0] * _N
    while pos < len(data):
        pos, n_lines, records, status, columns, dynamic, counts, owner = _core.run(
            core, data, pos, zero, 0, _NO_WINDOW, lines.max_depth
        )
        if records:
            parts.append(_Segment(_import(columns, wanted), dynamic, counts, data, records, k))
        k += n_lines
        del owner  # frees what pyarrow did not take
        if status == _FALLBACK:
            parts.append((pos, k))
            nl = data.find(b"\n", pos)
            pos, k = (len(data) if nl < 0 else nl + 1), k + 1
    return parts


class NativeRun:
    """One window of rows at a time: pieces of native batches and Python-flattened records,
    cut where the Python engine flushes (a wanted table reaches ``batch_rows``)."""

    def __init__(self, flat: Flattener, batch_rows: int) -> None:
        assert _core is not None
        self.flat = flat
        self.batch_rows = batch_rows
        self.wanted = [t in flat.tables for t in TABLE_NAMES]
        self.tables = [i for i, w in enumerate(self.wanted) if w]
        self.importing = [True, *self.wanted[1:]]  # task ids are needed (made-up child ids)
        self.pending = [0] * _N
        self.pieces: list[tuple[bool, Any]] = []  # (native?, content)

    # ------------------------------------------------------------------ input
    def full(self) -> bool:
        return any(p >= self.batch_rows for p in self.pending)

    def add_parts(self, lines: Lines, parts: list) -> Iterator[dict[str, pa.RecordBatch]]:
        for part in parts:
            if type(part) is _Segment:
                yield from self.add_segment(part, lines)
            else:
                record, _ = lines.record(*part)
                self.add_record(record)
                if self.full():
                    yield from self.flush()

    def add_segment(self, seg: _Segment, lines: Lines) -> Iterator[dict[str, pa.RecordBatch]]:
        counts, pending, tables, limit = seg.counts, self.pending, self.tables, self.batch_rows
        seen = self.flat._seen_ids
        start = [0] * _N
        ends = [0] * _N
        first = 0
        for r in range(seg.records):
            base = r * _STRIDE
            if counts[base + _N]:  # made-up child ids: under `<task_id>#<n>` if the id repeats
                task_id = seg.batches["tasks"].column(0)[r].as_py()
                if seen.get(task_id, 0):  # the core's ids would be wrong: Python reads it
                    self._piece(seg, start, ends, first, r)
                    for i in tables:
                        ends[i] += counts[base + i]
                    start, first = list(ends), r + 1
                    record, _ = lines.record(counts[base + _N + 1], seg.k0 + counts[base + _N + 2])
                    self.add_record(record)
                    if self.full():
                        yield from self.flush()
                        pending = self.pending
                    continue
                seen[task_id] += 1
            full = False
            for i in tables:
                c = counts[base + i]
                ends[i] += c
                pending[i] += c
                full = full or pending[i] >= limit
            if full:
                self._piece(seg, start, ends, first, r + 1)
                start, first = list(ends), r + 1
                yield from self.flush()
                pending = self.pending  # a new window
        if first < seg.records:
            self._piece(seg, start, ends, first, seg.records)

    def _piece(self, seg: _Segment, start: list, ends: list, first: int, last: int) -> None:
        if last <= first:
            return
        flat = self.flat
        flat.records += last - first
        batches = {}
        for i in self.tables:
            if ends[i] > start[i]:
                table = TABLE_NAMES[i]
                batches[table] = seg.batches[table].slice(start[i], ends[i] - start[i])
        loads, dyn_of, data, spans = orjson.loads, flat._dynamic, seg.data, seg.dynamic
        dyn: list[dict | None] = []
        for j in range(4 * first, 4 * last, 4):  # one tasks row (4 spans) per native record
            row: dict = {}
            ms, me, cs, ce = spans[j : j + 4]
            extra = None if ms < 0 else dyn_of("metadata", loads(data[ms:me]), row, None)
            if cs >= 0:
                extra = dyn_of("contextData", loads(data[cs:ce]), row, extra)
            if extra is not None:  # the core refuses huge ints; nothing else can misfit
                raise AssertionError(f"native core passed a misfit dynamic value: {extra}")
            dyn.append(row or None)
        self.pieces.append((True, (batches, dyn)))

    def add_record(self, record: Any) -> None:
        flat = self.flat
        flat.add(record)
        flat.python_records += 1
        rows = {}
        for i in self.tables:
            table = TABLE_NAMES[i]
            if flat._rows[table]:
                rows[table] = flat._rows[table]
                self.pending[i] += len(rows[table])
                flat._rows[table] = []
        dyn, flat._dyn_rows = flat._dyn_rows, []
        if self.pieces and not self.pieces[-1][0]:  # extend the open Python piece
            last_rows, last_dyn = self.pieces[-1][1]
            for table, more in rows.items():
                last_rows.setdefault(table, []).extend(more)
            last_dyn.extend(dyn)
        else:
            self.pieces.append((False, (rows, dyn)))

    # ----------------------------------------------------------------- output
    def flush(self) -> Iterator[dict[str, pa.RecordBatch]]:
        """The window's pieces as batches, in order; the window starts again empty."""
        flat = self.flat
        kinds, names = flat._kinds, flat._dynamic_names()
        pieces, self.pieces = self.pieces, []
        self.pending = [0] * _N
        for native, (content, dyn) in pieces:
            out = {}
            for table in flat.tables:
                if native:
                    batch = content.get(table)
                    if batch is not None and table == "tasks" and names:
                        batch = _with_dynamic(batch, dyn, kinds, names)
                else:
                    rows = content.get(table)
                    if not rows:
                        continue
                    if table == "tasks":
                        batch = rows_to_batch(rows, SCHEMAS[table], dyn, kinds, names)
                    else:
                        batch = rows_to_batch(rows, SCHEMAS[table])
                if batch is not None:
                    out[table] = batch
            if out:
                yield out


def _with_dynamic(
    batch: pa.RecordBatch, dyn: list, kinds: dict[str, str], names: list[str]
) -> pa.RecordBatch:
    arrays, fields = list(batch.columns), list(batch.schema)
    for name in names:
        kind = kinds[name]
        arrays.append(dynamic_array([d.get(name) if d else None for d in dyn], kind))
        fields.append(dynamic_field(name, KIND_TYPES[kind]))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def _in_order(items: Iterable[Any], wanted: list[bool], threads: int) -> Iterator[tuple]:
    """``(item, parts)`` in order: blocks scanned ``threads`` at a time (parts None: a record)."""
    if threads <= 1:
        for item in items:
            yield item, (scan(item, wanted) if type(item) is Lines else None)
        return
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ango-frames-core")
    queued: deque = deque()
    try:
        for item in items:
            queued.append((item, pool.submit(scan, item, wanted) if type(item) is Lines else None))
            while len(queued) > threads or (queued and queued[0][1] is None):
                head, future = queued.popleft()
                yield head, None if future is None else future.result()
        while queued:
            head, future = queued.popleft()
            yield head, None if future is None else future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def flatten_native(
    items: Iterable[Any], flat: Flattener, batch_rows: int, threads: int = THREADS
) -> Iterator[dict[str, pa.RecordBatch]]:
    """``flatten_records`` with the native core: ``items`` are records and :class:`Lines`."""
    run = NativeRun(flat, batch_rows)
    for item, parts in _in_order(items, run.importing, threads):
        if parts is not None:
            yield from run.add_parts(item, parts)
        else:
            run.add_record(item)
            if run.full():
                yield from run.flush()
    yield from run.flush()
