"""One JSON array (a ``.json`` export, a one-member zip) flattened by several processes.

An array is one part for ``records.plan_parts``, yet it is the usual export. Here this process
reads it (so parse errors are the one-process errors, with their positions) and re-encodes the
records with orjson into ndjson chunks of about :data:`CHUNK_BYTES`, which the workers decode
and flatten as parts of their own, numbered in order (so the part files, and the rows read back,
keep the export's order). orjson's encoding of what it decoded is exact, so the workers see the
very same records. The chunks are jobs of ``parallel.run_parts``, the one runner (this process
flattens a chunk whenever the ``workers - 1`` helper processes each have one running and one
queued), with its one policy for repeated made-up ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

__all__ = ["ARRAY_KINDS", "CHUNK_BYTES", "chunks_of"]

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
