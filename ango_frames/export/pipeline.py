"""One JSON array (a ``.json`` export, a one-member zip) flattened by several processes.

An array is one part for ``records.plan_parts``, yet it is the usual export. Here this process
reads it (so parse errors are the one-process errors, with their positions) and re-encodes the
records with orjson into ndjson chunks of about :data:`CHUNK_BYTES`, which the workers decode
and flatten as parts of their own, numbered in order (so the part files, and the rows read back,
keep the export's order). orjson's encoding of what it decoded is exact, so the workers see the
very same records. This process is one of the workers (it flattens a chunk whenever the
``workers - 1`` helper processes each have one running and one queued).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

import orjson

from ango_frames.export.parallel import PartJob, PartResult, context, unwrap

__all__ = ["ARRAY_KINDS", "CHUNK_BYTES", "chunks_of", "run_chunks"]

CHUNK_BYTES = 8 * 2**20
ARRAY_KINDS = ("json", "object")  # part kinds read here when they are the only part


def chunks_of(records: Iterable[Any], chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """``records`` as ndjson byte chunks of about ``chunk_bytes`` (whole records only)."""
    dumps = orjson.dumps
    lines: list[bytes] = []
    size = 0
    for record in records:
        line = dumps(record)
        lines.append(line)
        size += len(line) + 1
        if size >= chunk_bytes:
            yield b"\n".join(lines)
            lines, size = [], 0
    if lines:
        yield b"\n".join(lines)


def run_chunks(
    fn: Callable[[PartJob], Any],
    make_job: Callable[[int, bytes], PartJob],
    chunks: Iterable[bytes],
    workers: int,
    progress: Any = None,
) -> tuple[list[PartResult], bool]:
    """Every chunk through ``fn`` in a pool of ``workers`` processes; results in chunk order.

    The flag is False when a made-up task id occurs in two chunks: the caller then reads the
    export in one process, which numbers the repeats (rare: real exports carry task ids).
    """
    results: list[PartResult] = []
    running: set[Future] = set()

    def store(result: Any) -> None:
        results.append(unwrap(result))
        if progress is not None:
            progress.update(1)

    def collect(block: bool) -> None:
        done = wait(running, return_when=FIRST_COMPLETED).done if block else set()
        for future in done or [f for f in running if f.done()]:
            running.discard(future)
            store(future.result())

    # This process is one of the `workers`: it reads the array and, whenever the helpers have
    # a chunk running and one queued each, flattens the next chunk itself. A third process
    # (a reader beside two flatteners) would cost ~200 MB more RSS for a few % of speed.
    helpers = max(1, workers - 1)
    pool = ProcessPoolExecutor(max_workers=helpers, mp_context=context())
    try:
        for index, raw in enumerate(chunks):
            if len(running) < 2 * helpers:
                running.add(pool.submit(fn, make_job(index, raw)))
            else:
                store(fn(make_job(index, raw)))
            del raw
            collect(block=False)
        while running:
            collect(block=True)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    results.sort(key=lambda r: r.index)
    seen: set[str] = set()
    for result in results:
        if seen.intersection(result.made_ids):
            return results, False
        seen.update(result.made_ids)
    return results, True
