"""An export source resolved, opened and sniffed ONCE: what it is, what it holds, its size.

``open_source(src)`` resolves ``src`` (a path, an fsspec URL, an ExportFile, a binary file
object), opens it once, tells by content what it holds (a zip and its members, a JSON array,
ndjson, whole objects, nothing) and keeps the open stream, from which :meth:`Opened.records`
reads on, so that provenance, the parallel plan and the records all come from one open and one
sniff (also on ``s3://`` or ``memory://``, where every open is a request). ``records.py`` builds
``iter_records`` / ``plan_parts`` / ``source_provenance`` on it; parts read by worker processes
open their part themselves.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from ango_frames.errors import ConfigError, ExportFormatError
from ango_frames.export import jsonscan as scan
from ango_frames.export import jsonstream as js
from ango_frames.export import safezip as sz
from ango_frames.export_file import ExportFile

__all__ = ["CHUNK_BYTES", "ExportPart", "Opened", "ReadLimits", "Source", "open_source", "resolve"]

CHUNK_BYTES = 1 << 20
_SPOOL_BYTES = 16 << 20  # a non-seekable zip stream is spooled; to disk above this size
# what to install when fsspec has no filesystem for a URL's protocol
_EXTRAS = {
    "http": "pip install 'ango-frames[http]' (fsspec's HTTP filesystem needs aiohttp)",
    "https": "pip install 'ango-frames[http]' (fsspec's HTTP filesystem needs aiohttp)",
    "s3": "pip install s3fs",
    "gs": "pip install gcsfs",
    "gcs": "pip install gcsfs",
    "az": "pip install adlfs",
    "abfs": "pip install adlfs",
}


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

    def zip_kw(self) -> dict[str, Any]:
        """The limits ``safezip.safe_members`` takes."""
        return {
            "max_members": self.max_members,
            "max_member_bytes": self.max_member_bytes,
            "max_ratio": self.max_ratio,
        }


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
        return f"ExportPart({display(self.url)!r}{extra}, kind={self.kind!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        if self.fileobj is not None:
            raise TypeError("an ExportPart of a file object cannot be pickled: pass a path or URL")
        return (
            type(self),
            (self.url, self.member, self.byte_range, self.kind, self.storage_options),
        )


def display(url: str) -> str:
    """The source as shown in errors and provenance: no user:password, no query (signatures)."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def _check_protocol(url: str) -> None:
    """A typed error naming what to install when fsspec cannot open this kind of URL."""
    import fsspec

    protocol = url.split("://", 1)[0].split("::")[-1].lower()
    try:
        fsspec.get_filesystem_class(protocol)
    except ImportError as exc:
        hint = _EXTRAS.get(protocol, f"install the fsspec filesystem for {protocol}://")
        raise ConfigError(
            f"cannot read {display(url)}: fsspec's {protocol}:// filesystem is not installed "
            f"({exc}); {hint}"
        ) from None
    except ValueError as exc:
        raise ConfigError(f"cannot read {display(url)}: {exc}") from None


@dataclass
class Source:
    """A resolved source: where it is, its fsspec options, or the caller's file object."""

    url: str
    storage_options: dict[str, Any]
    fileobj: IO[bytes] | None = None

    @property
    def name(self) -> str:
        return display(self.url)

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


def resolve(src: Any, storage_options: dict[str, Any] | None = None) -> Source:
    """The :class:`Source` of ``src``; a URL whose filesystem is missing is a ConfigError."""
    so = dict(storage_options or {})
    if isinstance(src, ExportFile):
        source = Source(src.path, {**src.storage_options, **so})
    elif isinstance(src, (str, os.PathLike)):
        source = Source(os.fspath(src), so)
    elif hasattr(src, "read"):
        return Source("<file object>", so, fileobj=src)
    else:
        raise TypeError(
            f"src must be a path, an fsspec URL, an ExportFile or a binary file object, "
            f"not {type(src).__name__}"
        )
    if "://" in source.url:
        _check_protocol(source.url)
    return source


def chunks_of(fh: IO[bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The bytes of ``fh`` in chunks (a text-mode file object is a TypeError)."""
    while True:
        chunk = fh.read(size)
        if not chunk:
            return
        if isinstance(chunk, str):
            raise TypeError("the file object must be opened in binary mode ('rb')")
        yield chunk


Sniffed = tuple[str, Iterator[bytes], js.Ctx, int, int, int]  # kind, chunks, ctx, off, line, nl


def read_kind(sniffed: Sniffed, raw: bool = False) -> Iterator[Any]:
    """The records of a sniffed stream (with ``raw``, the lines of ndjson and the records of a
    JSON array as ``jsonstream.Lines`` blocks, for the native flattener)."""
    kind, chunks, ctx, off, line, last_nl = sniffed
    if kind == "json":
        return scan.iter_array(chunks, ctx, raw=raw, offset=off, line=line, last_nl=last_nl)
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


def sniff_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: ReadLimits
) -> Sniffed:
    """One zip member opened and sniffed (a zip inside the zip is refused)."""
    kw = limits.zip_kw()
    del kw["max_members"]
    chunks = sz.guarded_chunks(zf, info, name, chunk_bytes=CHUNK_BYTES, **kw)
    ctx = js.Ctx(sz.member_source(name, info.filename), limits.max_depth)
    kind, chunks, off, line, last_nl = js.sniff(chunks, ctx)
    if kind == "zip":
        raise ExportFormatError("a zip inside the zip: not supported", ctx.source)
    return kind, chunks, ctx, off, line, last_nl


class Opened:
    """A source opened and sniffed once (see the module docstring); use :func:`open_source`.

    Attributes
    ----------
    source : Source
    kind : str
        ``zip``, ``json``, ``ndjson``, ``object`` or ``empty``.
    members : list of zipfile.ZipInfo
        The data members of a zip (checked by ``safezip.safe_members``), else empty.
    """

    def __init__(self, source: Source, fh: IO[bytes], limits: ReadLimits) -> None:
        self.source, self.limits, self._fh = source, limits, fh
        ctx = js.Ctx(source.name, limits.max_depth)
        kind, chunks, off, line, last_nl = js.sniff(chunks_of(fh), ctx)
        self.kind = kind
        self.members: list[zipfile.ZipInfo] = []
        self._zf: zipfile.ZipFile | None = None
        self._head: Sniffed | None = None  # the sniffed stream not yet read
        self._first: tuple[str, Sniffed] | None = None  # the first zip member, sniffed
        self._kinds: dict[str, str] = {}
        if kind == "zip":
            self._zf = _zipfile(fh, chunks, source.name)
            self.members = sz.safe_members(self._zf, source.name, **limits.zip_kw())
        else:
            self._head = (kind, chunks, ctx, off, line, last_nl)

    def close(self) -> None:
        if self._zf is not None:
            self._zf.close()

    def size(self) -> int:
        """Bytes of the source, from the open handle (no second request)."""
        size = getattr(self._fh, "size", None)
        if isinstance(size, int):
            return size
        try:
            return os.fstat(self._fh.fileno()).st_size
        except (AttributeError, OSError, ValueError):
            import fsspec

            fs, path = fsspec.core.url_to_fs(self.source.url, **self.source.storage_options)
            return int(fs.size(path))

    def member_kind(self, info: zipfile.ZipInfo) -> str:
        """What one zip member holds (sniffed once; the first member's stream is kept)."""
        kind = self._kinds.get(info.filename)
        if kind is None:
            assert self._zf is not None
            sniffed = sniff_member(self._zf, info, self.source.name, self.limits)
            if not self._kinds and self._first is None:
                self._first = (info.filename, sniffed)
            kind = self._kinds[info.filename] = sniffed[0]
        return kind

    def member_records(self, member: str, raw: bool = False) -> Iterator[Any]:
        """The records of one zip member, by name."""
        infos = [i for i in self.members if i.filename == member]
        if self.kind != "zip" or not infos:
            raise ExportFormatError(f"no data member {member!r} in the zip", self.source.name)
        return self._member_records(infos[0], raw)

    def _member_records(self, info: zipfile.ZipInfo, raw: bool = False) -> Iterator[Any]:
        if self._first is not None and self._first[0] == info.filename:
            sniffed, self._first = self._first[1], None
        else:
            assert self._zf is not None
            sniffed = sniff_member(self._zf, info, self.source.name, self.limits)
        return read_kind(sniffed, raw)

    def records(self, raw: bool = False) -> Iterator[Any]:
        """Every record, in order (zip members in name order); read once. With ``raw``, ndjson
        lines and JSON array records come as ``jsonstream.Lines`` blocks (for the native
        flattener)."""
        if self._zf is None:
            head, self._head = self._head, None
            if head is None:
                raise RuntimeError("the records of an opened source are read once")
            yield from read_kind(head, raw)
            return
        for info in self.members:
            yield from self._member_records(info, raw)

    def container_format(self) -> str:
        """``json`` / ``ndjson`` / ``object`` / ``empty`` of one file or a one-member zip,
        ``split`` for a zip of several members."""
        if self.kind != "zip":
            return self.kind
        if len(self.members) == 1:
            return self.member_kind(self.members[0])
        return "split" if self.members else "empty"

    def provenance(self, src: Any = None) -> dict[str, Any]:
        """What was read, for Parquet metadata: never credentials, never URL signatures."""
        info: dict[str, Any] = {
            "source": self.source.name,
            "container": "zip" if self.kind == "zip" else "file",
            "members": [m.filename for m in self.members],
            "format": "stream" if self.source.fileobj is not None else self.container_format(),
        }
        if isinstance(src, ExportFile):
            return {**src.provenance(), **info, "requested_format": src.format}
        return info


@contextlib.contextmanager
def open_source(
    src: Any,
    storage_options: dict[str, Any] | None = None,
    limits: ReadLimits | None = None,
) -> Iterator[Opened]:
    """``src`` resolved, opened and sniffed once, as an :class:`Opened`."""
    source = src if isinstance(src, Source) else resolve(src, storage_options)
    with source.open() as fh:
        opened = Opened(source, fh, limits or ReadLimits())
        try:
            yield opened
        finally:
            opened.close()
