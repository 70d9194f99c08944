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

import contextlib
import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from ango_frames.errors import ConfigError, ExportFormatError
from ango_frames.export import jsonscan as scan
from ango_frames.export import jsonstream as js
from ango_frames.export import safezip as sz
from ango_frames.export_file import ExportFile

__all__ = [
    "ExportPart",
    "ReadLimits",
    "iter_part_records",
    "iter_records",
    "plan_parts",
    "source_provenance",
]

CHUNK_BYTES = 1 << 20
_SPOOL_BYTES = 16 << 20  # a non-seekable zip stream is spooled; to disk above this size


@dataclass(frozen=True)
class ReadLimits:
    """Safety limits of the export reader; the defaults suit very large real exports.

    Attributes
    ----------
    max_member_bytes : int
        Largest decompressed size of one zip member (default 64 GiB).
    max_ratio : float
        Largest decompressed / compressed size of one member (default 200); only enforced once
        a member has produced more than 1 MiB, since tiny files compress extremely well.
    max_depth : int
        Deepest JSON nesting of one record, the record itself being level 1 (default 64).
    max_members : int
        Most entries a zip may have (default 100 000).
    """

    max_member_bytes: int = 64 * 2**30
    max_ratio: float = 200.0
    max_depth: int = 64
    max_members: int = 100_000

    def __post_init__(self) -> None:
        for name in ("max_member_bytes", "max_ratio", "max_depth", "max_members"):
            if not getattr(self, name) > 0:
                raise ConfigError(
                    f"ReadLimits.{name} must be positive, got {getattr(self, name)!r}"
                )


@dataclass(frozen=True, repr=False)
class ExportPart:
    """One independently readable piece of an export.

    Attributes
    ----------
    url : str
        Local path or fsspec URL of the file (``"<file object>"`` for a file object source).
    member : str or None
        The zip member, or None for a plain file.
    byte_range : (int, int) or None
        ``[start, end)`` of a plain ndjson file: the part owns the lines that start inside it.
    kind : str
        What the piece holds: ``json`` (an array), ``ndjson``, ``object`` (whole objects),
        ``empty``, or ``stream`` (a file object, told when read).
    storage_options : dict
        fsspec options for ``url``; kept out of the repr (they may hold credentials).
    """

    url: str
    member: str | None
    byte_range: tuple[int, int] | None
    kind: str
    storage_options: dict[str, Any] = field(default_factory=dict, compare=False)
    fileobj: IO[bytes] | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        extra = f", member={self.member!r}" if self.member is not None else ""
        extra += f", byte_range={self.byte_range!r}" if self.byte_range is not None else ""
        return f"ExportPart({_display(self.url)!r}{extra}, kind={self.kind!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        if self.fileobj is not None:
            raise TypeError("an ExportPart of a file object cannot be pickled: pass a path or URL")
        return (
            type(self),
            (self.url, self.member, self.byte_range, self.kind, self.storage_options),
        )


def _display(url: str) -> str:
    """The source as shown in errors and provenance: no user:password, no query (signatures)."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


@dataclass
class _Source:
    url: str
    storage_options: dict[str, Any]
    fileobj: IO[bytes] | None = None

    @property
    def name(self) -> str:
        return _display(self.url)

    @contextlib.contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        if self.fileobj is not None:
            yield self.fileobj  # the caller's: never closed here
        elif "://" in self.url:
            import fsspec

            with fsspec.open(self.url, "rb", **self.storage_options) as fh:
                yield fh
        else:
            with open(self.url, "rb") as fh:
                yield fh

    def size(self) -> int:
        if "://" not in self.url:
            return os.path.getsize(self.url)
        import fsspec

        fs, path = fsspec.core.url_to_fs(self.url, **self.storage_options)
        return int(fs.size(path))


def _resolve(src: Any, storage_options: dict[str, Any] | None) -> _Source:
    so = dict(storage_options or {})
    if isinstance(src, ExportFile):
        return _Source(src.path, {**src.storage_options, **so})
    if isinstance(src, (str, os.PathLike)):
        return _Source(os.fspath(src), so)
    if hasattr(src, "read"):
        return _Source("<file object>", so, fileobj=src)
    raise TypeError(
        f"src must be a path, an fsspec URL, an ExportFile or a binary file object, "
        f"not {type(src).__name__}"
    )


def _chunks(fh: IO[bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    while True:
        chunk = fh.read(size)
        if not chunk:
            return
        if isinstance(chunk, str):
            raise TypeError("the file object must be opened in binary mode ('rb')")
        yield chunk


def _read_kind(
    kind: str,
    chunks: Iterator[bytes],
    ctx: js.Ctx,
    off: int,
    line: int,
    last_nl: int,
    raw: bool = False,
) -> Iterator[Any]:
    if kind == "json":
        return scan.iter_array(chunks, ctx, offset=off, line=line, last_nl=last_nl)
    if kind == "object":
        return scan.iter_objects(chunks, ctx, offset=off, line=line, last_nl=last_nl)
    if kind == "ndjson":
        return js.iter_ndjson(chunks, ctx, offset=off, line=line, raw=raw)
    return iter(())  # empty


def _zipfile(fh: IO[bytes], head: Iterator[bytes], name: str) -> zipfile.ZipFile:
    """A ZipFile over a stream whose first chunks were already read by sniffing."""
    seekable = getattr(fh, "seekable", lambda: False)()
    if seekable:
        fh.seek(0)
        return sz.open_zip(fh, name)
    # zipfile needs to seek; the spool lives as long as the ZipFile that reads it.
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
    for chunk in head:
        spool.write(chunk)
    spool.seek(0)
    return sz.open_zip(spool, name)


def _zip_kw(limits: ReadLimits) -> dict[str, Any]:
    return {
        "max_members": limits.max_members,
        "max_member_bytes": limits.max_member_bytes,
        "max_ratio": limits.max_ratio,
    }


def _member_stream(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: ReadLimits
) -> tuple[str, Iterator[bytes], js.Ctx, int, int, int]:
    kw = _zip_kw(limits)
    del kw["max_members"]
    chunks = sz.guarded_chunks(zf, info, name, chunk_bytes=CHUNK_BYTES, **kw)
    ctx = js.Ctx(sz.member_source(name, info.filename), limits.max_depth)
    kind, chunks, off, line, last_nl = js.sniff(chunks, ctx)
    if kind == "zip":
        raise ExportFormatError("a zip inside the zip: not supported", ctx.source)
    return kind, chunks, ctx, off, line, last_nl


def _stream_records(
    fh: IO[bytes], name: str, limits: ReadLimits, raw: bool = False
) -> Iterator[Any]:
    ctx = js.Ctx(name, limits.max_depth)
    kind, chunks, off, line, last_nl = js.sniff(_chunks(fh), ctx)
    if kind != "zip":
        yield from _read_kind(kind, chunks, ctx, off, line, last_nl, raw)
        return
    with _zipfile(fh, chunks, name) as zf:
        for info in sz.safe_members(zf, name, **_zip_kw(limits)):
            kind, chunks, mctx, off, line, last_nl = _member_stream(zf, info, name, limits)
            yield from _read_kind(kind, chunks, mctx, off, line, last_nl, raw)


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
        Give the lines of ndjson text as blocks (``jsonstream.Lines``, for the native
        flattener) instead of one record each.

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
    limits = limits or ReadLimits()
    source = _resolve(src, storage_options)
    with source.open() as fh:
        yield from _stream_records(fh, source.name, limits, raw)


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
    if target_bytes < 1:
        raise ConfigError(f"target_bytes must be positive, got {target_bytes!r}")
    limits = limits or ReadLimits()
    source = _resolve(src, storage_options)
    so = source.storage_options
    if source.fileobj is not None:
        return [ExportPart(source.url, None, None, "stream", so, fileobj=source.fileobj)]
    with source.open() as fh:
        kind, chunks, *_ = js.sniff(_chunks(fh), js.Ctx(source.name, limits.max_depth))
        if kind == "zip":
            parts = []
            with _zipfile(fh, chunks, source.name) as zf:
                for info in sz.safe_members(zf, source.name, **_zip_kw(limits)):
                    mkind = _member_stream(zf, info, source.name, limits)[0]
                    parts.append(ExportPart(source.url, info.filename, None, mkind, so))
            return parts
    if kind != "ndjson":
        return [ExportPart(source.url, None, None, kind, so)]
    size = source.size()
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
    source = _Source(part.url, dict(part.storage_options), part.fileobj)
    if part.byte_range is not None:
        yield from _range_records(source, part.byte_range, limits, raw)
        return
    with source.open() as fh:
        if part.member is None:
            yield from _stream_records(fh, source.name, limits, raw)
            return
        with sz.open_zip(fh, source.name) as zf:
            infos = [
                i
                for i in sz.safe_members(zf, source.name, **_zip_kw(limits))
                if i.filename == part.member
            ]
            if not infos:
                raise ExportFormatError(f"no data member {part.member!r} in the zip", source.name)
            kind, chunks, ctx, off, line, last_nl = _member_stream(
                zf, infos[0], source.name, limits
            )
            yield from _read_kind(kind, chunks, ctx, off, line, last_nl, raw)


def _range_records(
    source: _Source, byte_range: tuple[int, int], limits: ReadLimits, raw: bool = False
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
        chunks = chain([first] if first else [], _chunks(fh))
        yield from js.iter_ndjson(
            chunks, ctx, offset=offset, line=1 if offset <= 3 else None, stop=end, raw=raw
        )


def _count_lines(source: _Source, upto: int) -> int:
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
    source = _resolve(src, storage_options)
    limits = ReadLimits()
    info: dict[str, Any] = {"source": source.name, "container": "file", "members": []}
    if source.fileobj is not None:
        info["format"] = "stream"
    else:
        with source.open() as fh:
            kind, chunks, *_ = js.sniff(_chunks(fh), js.Ctx(source.name, limits.max_depth))
            if kind == "zip":
                with _zipfile(fh, chunks, source.name) as zf:
                    members = sz.safe_members(zf, source.name, **_zip_kw(limits))
                    info["container"] = "zip"
                    info["members"] = [m.filename for m in members]
                    if len(members) == 1:
                        kind = _member_stream(zf, members[0], source.name, limits)[0]
                    else:
                        kind = "split" if members else "empty"
            info["format"] = kind
    if isinstance(src, ExportFile):
        return {**src.provenance(), **info, "requested_format": src.format}
    return info
