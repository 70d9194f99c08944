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
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa

from ango_frames.errors import ConfigError
from ango_frames.export.flatten.batch import rows_to_batch
from ango_frames.export.flatten.columns import KIND_TYPES, dynamic_array
from ango_frames.export.jsonstream import Lines
from ango_frames.schemas import SCHEMAS, TABLE_NAMES, dynamic_field

if TYPE_CHECKING:
    from ango_frames.export.flatten.flattener import Flattener

try:
    from ango_frames.export.flatten import _core
except ImportError:  # not built: the pure-Python engine
    _core = None

__all__ = ["ENGINES", "Lines", "NativeRun", "available", "engine", "resolve_engine"]

ENGINES = ("native", "python")
_ENV = "ANGO_FRAMES_ENGINE"
_FALLBACK, _FULL = 2, 1


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


class NativeRun:
    """One window of rows at a time: segments of native batches and Python-flattened records."""

    def __init__(self, flat: Flattener, batch_rows: int) -> None:
        assert _core is not None
        self.flat = flat
        self.batch_rows = batch_rows
        self.core = _core.new_core()
        self.wanted = [t in flat.tables for t in TABLE_NAMES]
        self.mask = sum(1 << i for i, w in enumerate(self.wanted) if w)
        self.pending = [0] * len(TABLE_NAMES)
        self.segments: list[tuple[bool, Any]] = []  # (native?, content)

    # ------------------------------------------------------------------ input
    def full(self) -> bool:
        return any(p >= self.batch_rows for p in self.pending)

    def add_lines(self, lines: Lines) -> Iterator[dict[str, pa.RecordBatch]]:
        data, pos, k = lines.data, 0, 0
        run = _core.run
        while pos < len(data):
            pos, n_lines, records, status, columns, dynamic, owner = run(
                self.core, data, pos, self.pending, self.mask, self.batch_rows, lines.max_depth
            )
            k += n_lines
            if records:
                self._native(columns, dynamic, data, records)
            del owner  # frees what pyarrow did not take
            if status == _FALLBACK:
                record, pos = lines.record(pos, k)
                k += 1
                self.add_record(record)
            if self.full():
                yield from self.flush()

    def add_record(self, record: Any) -> None:
        flat = self.flat
        flat.add(record)
        flat.python_records += 1
        rows = {}
        for i, table in enumerate(TABLE_NAMES):
            if self.wanted[i] and flat._rows[table]:
                rows[table] = flat._rows[table]
                self.pending[i] += len(rows[table])
                flat._rows[table] = []
        dyn, flat._dyn_rows = flat._dyn_rows, []
        if self.segments and not self.segments[-1][0]:  # extend the open Python segment
            last_rows, last_dyn = self.segments[-1][1]
            for table, more in rows.items():
                last_rows.setdefault(table, []).extend(more)
            last_dyn.extend(dyn)
        else:
            self.segments.append((False, (rows, dyn)))

    def _native(self, columns: list, dynamic: list, data: bytes, records: int) -> None:
        flat = self.flat
        flat.records += records
        batches = {}
        for i, table in enumerate(TABLE_NAMES):
            cols = columns[i]
            if cols is None or not self.wanted[i]:
                continue
            schema = SCHEMAS[table]
            first = pa.Array._import_from_c(cols[0], schema.field(0).type)
            n = len(first)
            arrays = [first]
            for field, col in zip(list(schema)[1:], cols[1:], strict=True):
                arrays.append(
                    pa.nulls(n, field.type) if col is None else pa.Array._import_from_c(col, field.type)
                )
            batches[table] = pa.RecordBatch.from_arrays(arrays, schema=schema)
            self.pending[i] += n
        loads, dyn_of = orjson.loads, flat._dynamic
        dyn: list[dict | None] = []
        for j in range(0, len(dynamic), 4):
            row: dict = {}
            ms, me, cs, ce = dynamic[j : j + 4]
            extra = None if ms < 0 else dyn_of("metadata", loads(data[ms:me]), row, None)
            if cs >= 0:
                extra = dyn_of("contextData", loads(data[cs:ce]), row, extra)
            if extra is not None:  # the core refuses huge ints; nothing else can misfit
                raise AssertionError(f"native core passed a misfit dynamic value: {extra}")
            dyn.append(row or None)
        self.segments.append((True, (batches, dyn)))

    # ----------------------------------------------------------------- output
    def flush(self) -> Iterator[dict[str, pa.RecordBatch]]:
        """The window's segments as batches, in order; the window starts again empty."""
        flat = self.flat
        kinds, names = flat._kinds, flat._dynamic_names()
        segments, self.segments = self.segments, []
        self.pending = [0] * len(TABLE_NAMES)
        for native, (content, dyn) in segments:
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


def flatten_native(
    items: Iterable[Any], flat: Flattener, batch_rows: int
) -> Iterator[dict[str, pa.RecordBatch]]:
    """``flatten_records`` with the native core: ``items`` are records and :class:`Lines`."""
    run = NativeRun(flat, batch_rows)
    for item in items:
        if type(item) is Lines:
            yield from run.add_lines(item)
        else:
            run.add_record(item)
            if run.full():
                yield from run.flush()
    yield from run.flush()
