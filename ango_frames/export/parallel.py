"""Flatten the parts of one export in worker processes, with the output of a one-process read.

``records.plan_parts`` cuts an export into parts (byte ranges of an ndjson file, zip members);
each part is read and flattened by one of ``workers`` processes: the caller's own and
``workers - 1`` spawned ones (``pipeline`` makes the chunks of one JSON array jobs of the same
runner). For ``export_to_parquet`` a worker writes its own Parquet files,
``<table>/part-<part index>-<n>.parquet``, so tables never travel between processes; only file
lists, schemas and counters come back. Results are taken in part order, so rows come out in the
order of a one-process read. Afterwards:

* made-up ids (one policy for parts and for the chunks of a JSON array, :func:`run_parts`): a
  job whose made-up task ids (or repeated real task ids that made up child ids) also occur in
  an earlier job is flattened again with the earlier counts (``Flattener(seen_ids=...)``), so
  the ``.1`` / ``#1`` suffixes are those of a one-process read (rare: real exports carry ids);
* the ``tasks`` tables of the parts, whose dynamic ``metadata_*`` / ``context_*`` columns may
  differ, are unified (``parts.unify``), and only the files whose schema differs are rewritten,
  one row group at a time;
* unknown-key counts are summed, and the caller warns once.

Workers are started by a forkserver (or spawned where there is none), never forked from the
caller, which may hold Arrow's threads; the worker functions are module-level and their jobs
plain picklable data, so everything works under ``spawn`` (where a calling script needs the usual
``if __name__ == "__main__":`` guard).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from itertools import chain
from typing import Any

import orjson
import pyarrow as pa

from ango_frames.errors import AngoError, ConfigError
from ango_frames.export.flatten.columns import conform
from ango_frames.export.flatten.flattener import BATCH_ROWS, Flattener, flatten_records
from ango_frames.export.jsonstream import Lines
from ango_frames.export.records import ExportPart, iter_part_records
from ango_frames.export.writer import DatasetWriter, filesystem

__all__ = [
    "PART_BYTES",
    "PartJob",
    "PartResult",
    "context",
    "in_process_only",
    "parquet_job",
    "resolve_workers",
    "run_parts",
    "table_job",
    "unwrap",
]

# Byte-range parts of an ndjson file: big enough that a worker's start-up and its last, partly
# filled row groups are small next to its work; small enough that two workers share the load.
PART_BYTES = 64 * 2**20


def in_process_only(url: Any, storage_options: dict[str, Any] | None) -> bool:
    """True for a source or destination other processes cannot see (``memory://``)."""
    if not isinstance(url, (str, os.PathLike)) or "://" not in os.fspath(url):
        return False
    import fsspec

    fs = fsspec.core.url_to_fs(os.fspath(url), **(storage_options or {}))[0]
    protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
    return "memory" in protocols


def resolve_workers(workers: int | None) -> int:
    """``None`` -> ``min(2, os.cpu_count())``; 1 inside a worker process (no nested pools)."""
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a positive int or None, got {workers!r}")
    if multiprocessing.parent_process() is not None:
        return 1
    return workers


@dataclass
class PartJob:
    """What one worker does: flatten ``part`` (and, with ``dest``, write it as Parquet)."""

    part: ExportPart | None  # None: the records are ``raw``
    index: int
    tables: tuple[str, ...]  # tables to build
    write: tuple[str, ...] = ()  # tables to write (Parquet jobs)
    seen_ids: dict[str, int] = field(default_factory=dict)
    dest: str | None = None  # the dataset root URL, for Parquet jobs
    dest_storage_options: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    row_group_rows: int = 65536
    partition_by: str | None = None
    raw: bytes = b""  # records as ndjson lines (chunks of one JSON array, see _pipeline)
    engine: str | None = None  # the flattening engine (None: the default)


@dataclass
class PartResult:
    """What comes back from one worker (tables only for ``read_export`` jobs)."""

    index: int
    schemas: dict[str, pa.Schema]
    unknown_keys: Counter
    made_ids: Counter
    records: int = 0
    files: dict[str, list[str]] = field(default_factory=dict)
    tables: dict[str, pa.Table] = field(default_factory=dict)


class _Failed:
    """An ango_frames error raised in a worker, carried back to be raised again as it was."""

    def __init__(self, error: AngoError) -> None:
        self.cls, self.message, self.attrs = type(error), str(error), dict(vars(error))

    def rebuild(self) -> AngoError:
        error = self.cls.__new__(self.cls)
        Exception.__init__(error, self.message)
        vars(error).update(self.attrs)
        return error


def _flatten(job: PartJob, write: Callable[[dict[str, pa.RecordBatch]], None]) -> Flattener:
    flat = Flattener(job.tables, seen_ids=job.seen_ids, engine=job.engine)
    records: Iterator[Any]
    if job.part is None and flat.native:  # chunks of a JSON array, re-encoded by orjson
        records = iter([Lines(job.raw, lambda line, _pos, _k: orjson.loads(line))])
    elif job.part is None:
        records = map(orjson.loads, job.raw.split(b"\n"))
    else:
        records = iter_part_records(job.part, raw=flat.native)
    batch_rows = min(job.row_group_rows, BATCH_ROWS)
    for batches in flatten_records(records, batch_rows=batch_rows, flattener=flat):
        write(batches)
    return flat


def parquet_job(job: PartJob) -> PartResult | _Failed:
    """Worker: flatten one part and write its Parquet files (see the module docstring)."""
    try:
        assert job.dest is not None
        fs, root = filesystem(job.dest, job.dest_storage_options)
        writer = DatasetWriter(
            fs,
            root,
            job.provenance,
            job.row_group_rows,
            job.partition_by,
            file_prefix=f"part-{job.index:05d}-",
        )
        flat = _flatten(job, lambda batches: writer.write_all(batches, job.write))
        writer.close_files()
    except AngoError as error:
        return _Failed(error)
    schemas = {t: flat.schema(t) for t in job.write}
    return PartResult(
        job.index, schemas, flat.unknown_keys, flat.made_up_ids(), flat.records, writer.files
    )


def table_job(job: PartJob) -> PartResult | _Failed:
    """Worker: flatten one part into Arrow tables (for ``read_export``)."""
    try:
        batches: dict[str, list[pa.RecordBatch]] = {t: [] for t in job.tables}

        def keep(out: dict[str, pa.RecordBatch]) -> None:
            for name, batch in out.items():
                batches[name].append(batch)

        flat = _flatten(job, keep)
    except AngoError as error:
        return _Failed(error)
    schemas = {t: flat.schema(t) for t in job.tables}
    tables = {
        t: pa.Table.from_batches([conform(b, schemas[t]) for b in batches.pop(t)], schemas[t])
        for t in job.tables
    }
    return PartResult(
        job.index, schemas, flat.unknown_keys, flat.made_up_ids(), flat.records, tables=tables
    )


def context() -> Any:
    """forkserver where there is one (workers fork from a clean, bare server), else spawn. Never
    fork: the caller may hold Arrow's threads and locks.

    The server preloads nothing: preloading ango_frames (pandas, pyarrow) kept ~110 MB resident
    in the server for the rest of the caller's life, and each worker pays the same again
    anyway (a forked page is counted in every process that maps it). A worker imports ango_frames
    once (~0.5 s) when it gets its first job.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([])
        return context
    return multiprocessing.get_context("spawn")


def unwrap(result: PartResult | _Failed) -> PartResult:
    """The worker's result, or its error raised here."""
    if isinstance(result, _Failed):
        raise result.rebuild()
    return result


def _run(
    fn: Callable[[PartJob], PartResult | _Failed],
    jobs: Iterable[PartJob],
    workers: int,
    store: Callable[[PartJob, PartResult | _Failed], None],
) -> None:
    """Run the jobs (taken lazily, in order) in this process and ``workers - 1`` pool processes.

    This process takes a job whenever each pool process has one running and one queued, so
    that the pool's start-up (a spawned interpreter imports ango_frames) overlaps useful work
    and at most ``2 * (workers - 1) + 1`` jobs (a JSON array's chunks: their bytes) are held.
    A single job, or ``workers == 1``, runs here without a pool.
    """
    queue = iter(jobs)
    first = next(queue, None)
    if first is None:
        return
    second = next(queue, None)
    if workers <= 1 or second is None:
        for one in chain([first], [] if second is None else [second], queue):
            store(one, fn(one))
        return
    pending = chain([first, second], queue)
    helpers = workers - 1
    pool = ProcessPoolExecutor(max_workers=helpers, mp_context=context())
    running: dict[Future, PartJob] = {}
    try:
        job: PartJob | None = next(pending, None)
        while job is not None or running:
            while job is not None and len(running) < 2 * helpers:
                running[pool.submit(fn, job)] = job
                job = next(pending, None)
            if job is not None:
                store(job, fn(job))
                job = next(pending, None)
                finished = [f for f in running if f.done()]
            else:
                finished = list(wait(running, return_when=FIRST_COMPLETED).done)
            for future in finished:
                store(running.pop(future), future.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_parts(
    fn: Callable[[PartJob], PartResult | _Failed],
    jobs: Iterable[PartJob],
    workers: int,
    progress: Any = None,
) -> list[PartResult]:
    """Run ``fn`` on every job with ``workers`` processes in all; results in job order.

    The one runner of the export readers: the parts of a split zip or a cut ndjson file, and the
    chunks of one JSON array (taken lazily, as they are read). ``jobs`` are numbered 0, 1, ...
    in order (``job.index``). One policy for repeated made-up ids: a job whose made-up task ids
    (or repeated real task ids that made up child ids) also occur in earlier jobs is run again
    with the earlier counts, so every made-up id is the one a one-process read gives. Only the
    jobs that made up ids are kept for that (real exports carry their ids: none are kept).
    """
    results: dict[int, PartResult] = {}
    keep: dict[int, PartJob] = {}

    def store(job: PartJob, result: PartResult | _Failed) -> None:
        done = unwrap(result)
        results[done.index] = done
        if done.made_ids:
            keep[done.index] = job
        if progress is not None and done.index not in counted:
            counted.add(done.index)
            progress.update(1)

    counted: set[int] = set()
    _run(fn, jobs, workers, store)
    ordered = [results[i] for i in range(len(results))]
    seen: Counter = Counter()
    again = []
    for result in ordered:
        earlier = {tid: seen[tid] for tid in result.made_ids if seen[tid]}
        if earlier:
            again.append(replace(keep[result.index], seen_ids=earlier))
        seen.update(result.made_ids)
    if again:
        keep.clear()
        _run(fn, again, workers, store)
    return [results[i] for i in range(len(results))]
