"""The export reader: any export source -> a stream of record dicts, in bounded memory.

A source is a local path or fsspec URL of a ``.zip``, ``.json`` or ``.ndjson`` file, an
:class:`~ango_frames.export_file.ExportFile`, or a readable binary file object. What it holds is
told by content, not by extension: a zip (one member, or a ``split`` export of several), a JSON
array of records, ndjson (one record per line), or whole JSON objects (e.g. one pretty-printed
record). Records are yielded in file order; zip members in name order.

For parallel reading, :func:`plan_parts` cuts a source into independent, picklable
:class:`ExportPart` pieces (one per zip member; byte ranges of a plain ndjson file) and
:func:`iter_part_records` reads one. ``iter_records`` is the same reading, in one process.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Any

from ango_frames.errors import ConfigError
from ango_frames.export import jsonstream as js
from ango_frames.export.source import (
    CHUNK_BYTES,
    ExportPart,
    Opened,
    ReadLimits,
    Source,
    chunks_of,
    open_source,
)

__all__ = [
    "ExportPart",
    "ReadLimits",
    "iter_part_records",
    "iter_records",
    "plan_opened",
    "plan_parts",
    "source_provenance",
]


def iter_records(
    src: Any,
    *,
    storage_options: dict[str, Any] | None = None,
    limits: ReadLimits | None = None,
    raw: bool = False,
) -> Iterator[Any]:
    """Every record of an export, in order, holding one chunk and one record in memory.

    Parameters
    ----------
    src : str, os.PathLike, ExportFile or binary file object
        Local path or fsspec URL of a .zip, .json or .ndjson export, or an open file.
    storage_options : dict, optional
        fsspec options (credentials) for a URL; merged over an ExportFile's own.
    limits : ReadLimits, optional
        Safety limits (zip bombs, nesting depth, member count).
    raw : bool
        Give the lines of ndjson text and the records of a JSON array as blocks
        (``jsonstream.Lines``, for the native flattener) instead of one record each.

    Yields
    ------
    dict
        One top-level record (a v3 asset, a legacy asset, an issue, ...), as parsed.

    Raises
    ------
    ExportFormatError
        Invalid JSON (with file, zip member, line, column and byte), a record that is not an
        object, nesting deeper than ``limits.max_depth``, unsafe zip members, zip bombs.
    ExportDownloadError
        A truncated or corrupt zip.
    """
    with open_source(src, storage_options, limits) as opened:
        yield from opened.records(raw)


def plan_parts(
    src: Any,
    *,
    storage_options: dict[str, Any] | None = None,
    target_bytes: int = 64 * 2**20,
    limits: ReadLimits | None = None,
) -> list[ExportPart]:
    """Cut an export into independent pieces, for Dask partitions or any parallel reader.

    Each zip member is one part; a plain ndjson file is cut into byte ranges of about
    ``target_bytes`` (a part owns the lines that start inside its range, so every line is read
    exactly once whatever the cut points); a JSON array or whole-object file is one part. A file
    object source gives one part (readable only in this process). Reading every part in order
    with :func:`iter_part_records` gives exactly what :func:`iter_records` gives.
    """
    with open_source(src, storage_options, limits) as opened:
        return plan_opened(opened, target_bytes)


def plan_opened(opened: Opened, target_bytes: int = 64 * 2**20) -> list[ExportPart]:
    """:func:`plan_parts` of a source already opened and sniffed."""
    if target_bytes < 1:
        raise ConfigError(f"target_bytes must be positive, got {target_bytes!r}")
    source = opened.source
    so = source.storage_options
    if source.fileobj is not None:
        return [ExportPart(source.url, None, None, "stream", so, fileobj=source.fileobj)]
    if opened.kind == "zip":
        return [
            ExportPart(source.url, info.filename, None, opened.member_kind(info), so)
            for info in opened.members
        ]
    if opened.kind != "ndjson":
        return [ExportPart(source.url, None, None, opened.kind, so)]
    size = opened.size()
    return [
        ExportPart(source.url, None, (start, min(start + target_bytes, size)), "ndjson", so)
        for start in range(0, size, target_bytes)
    ]


def iter_part_records(
    part: ExportPart, *, limits: ReadLimits | None = None, raw: bool = False
) -> Iterator[Any]:
    """The records of one :class:`ExportPart`, in order (see :func:`plan_parts`; ``raw`` as for
    :func:`iter_records`)."""
    limits = limits or ReadLimits()
    source = Source(part.url, dict(part.storage_options), part.fileobj)
    if part.byte_range is not None:
        yield from _range_records(source, part.byte_range, limits, raw)
        return
    with open_source(source, limits=limits) as opened:
        if part.member is None:
            yield from opened.records(raw)
            return
        yield from opened.member_records(part.member, raw)


def _range_records(
    source: Source, byte_range: tuple[int, int], limits: ReadLimits, raw: bool = False
) -> Iterator[Any]:
    start, end = byte_range
    with source.open() as fh:
        first = b""
        if start == 0:
            first = fh.read(3)
            offset = 0
            if first == b"\xef\xbb\xbf":
                # The BOM belongs to the first line, which this part owns whatever its size.
                first, offset, end = b"", 3, max(end, 4)
        else:
            fh.seek(start - 1)
            offset = start
            if fh.read(1) != b"\n":  # mid-line: that line belongs to an earlier part
                while True:
                    chunk = fh.read(CHUNK_BYTES)
                    if not chunk:
                        return
                    nl = chunk.find(b"\n")
                    if nl >= 0:
                        first, offset = chunk[nl + 1 :], offset + nl + 1
                        break
                    offset += len(chunk)
        if offset >= end:
            return
        ctx = js.Ctx(
            source.name, limits.max_depth, lines_before=lambda: _count_lines(source, offset)
        )
        chunks = chain([first] if first else [], chunks_of(fh))
        yield from js.iter_ndjson(
            chunks, ctx, offset=offset, line=1 if offset <= 3 else None, stop=end, raw=raw
        )


def _count_lines(source: Source, upto: int) -> int:
    """Newlines before byte ``upto`` (only to word an error in a byte-range part)."""
    n = 0
    with source.open() as fh:
        while upto > 0:
            chunk = fh.read(min(CHUNK_BYTES, upto))
            if not chunk:
                break
            n += chunk.count(b"\n")
            upto -= len(chunk)
    return n


def source_provenance(src: Any, *, storage_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """What was read, for Parquet metadata: never credentials, never URL signatures.

    Returns ``{"source", "format", "container", "members"}`` where format is ``json``,
    ``ndjson``, ``object`` or ``empty`` for one file or a one-member zip, and ``split`` for a
    zip of several members; plus the ExportFile's own ``provenance()`` when ``src`` is one (its
    requested format kept as ``requested_format``).
    """
    with open_source(src, storage_options) as opened:
        return opened.provenance(src)
