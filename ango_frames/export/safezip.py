"""Reading export zips defensively: safe member names, no zip bombs, typed errors.

Nothing is ever extracted to disk, but a member name that would escape a target folder (absolute,
drive letter, ``..``) still marks a hostile archive and is refused. Decompressed sizes are counted
while streaming, so a member whose header lies about its size is caught too.

A zip that cannot be read at all (truncated, not a zip, bad CRC, broken deflate stream) raises
``ExportDownloadError``: that is what the error tree documents for "what arrived is not a readable
zip", and a new download is the usual cure. A readable zip whose content breaks the rules (unsafe
names, bombs, encrypted members) raises ``ExportFormatError``.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO

from ango_frames.errors import ExportDownloadError, ExportFormatError

__all__ = ["guarded_chunks", "member_source", "open_zip", "safe_members"]

_RATIO_FLOOR = 1 << 20  # the ratio guard only applies above 1 MiB: tiny files compress wildly
_DRIVE = re.compile(r"^[A-Za-z]:")
_JUNK_DIRS = ("__MACOSX/",)
_JUNK_FILES = (".DS_Store",)


def member_source(source: str, member: str) -> str:
    """How errors name a zip member."""
    return f"{source} (member {member!r})"


def open_zip(fh: IO[bytes], source: str) -> zipfile.ZipFile:
    """Open ``fh`` as a zip, turning every failure into ExportDownloadError."""
    try:
        return zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as exc:
        raise ExportDownloadError(
            f"{source}: not a readable zip (truncated or corrupt download?): {exc}"
        ) from exc


def _is_junk(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return name.startswith(_JUNK_DIRS) or f"/{_JUNK_DIRS[0]}" in name or base in _JUNK_FILES


def safe_members(
    zf: zipfile.ZipFile,
    source: str,
    *,
    max_members: int,
    max_member_bytes: int,
    max_ratio: float,
) -> list[zipfile.ZipInfo]:
    """The data members of an export zip, sorted by name, after checking every entry.

    Directories and OS junk (``__MACOSX/``, ``.DS_Store``) are skipped; every other member is
    returned, so no data is skipped silently (a "directory" entry holding data is an error).

    Raises
    ------
    ExportFormatError
        Too many entries, an unsafe or duplicate name, an entry named like a folder that holds
        data, an encrypted member, or a header that
        already announces a size or ratio above the limits.
    """
    infos = zf.infolist()
    if len(infos) > max_members:
        raise ExportFormatError(
            f"the zip has {len(infos)} entries, more than max_members={max_members}", source
        )
    seen: set[str] = set()
    out = []
    for info in infos:
        name = info.filename
        parts = re.split(r"[\\/]", name)
        if name.startswith(("/", "\\")) or _DRIVE.match(name) or ".." in parts:
            raise ExportFormatError(f"unsafe member name {name!r} (absolute or '..')", source)
        if name in seen:
            raise ExportFormatError(f"duplicate member name {name!r}", source)
        seen.add(name)
        if info.is_dir() and info.file_size > 0:
            raise ExportFormatError(
                f"entry {name!r} is named like a folder but holds {info.file_size} bytes of "
                "data; rename it (drop the trailing '/') to read it",
                source,
            )
        if info.is_dir() or _is_junk(name):
            continue
        where = member_source(source, name)
        if info.flag_bits & 0x1:
            raise ExportFormatError("encrypted member: not supported", where)
        if info.file_size > max_member_bytes:
            raise ExportFormatError(
                f"member declares {info.file_size} bytes, more than "
                f"max_member_bytes={max_member_bytes}",
                where,
            )
        if info.file_size > _RATIO_FLOOR and info.file_size > max_ratio * max(
            info.compress_size, 1
        ):
            raise ExportFormatError(
                f"compression ratio {info.file_size / max(info.compress_size, 1):.0f} is above "
                f"max_ratio={max_ratio:g} (zip bomb?)",
                where,
            )
        out.append(info)
    out.sort(key=lambda i: i.filename)
    return out


def guarded_chunks(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    source: str,
    *,
    chunk_bytes: int,
    max_member_bytes: int,
    max_ratio: float,
) -> Iterator[bytes]:
    """Decompressed chunks of one member, counting bytes as they come (header sizes can lie)."""
    where = member_source(source, info.filename)
    budget = max_ratio * max(info.compress_size, 1)
    total = 0
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(chunk_bytes)
                if not chunk:
                    return
                total += len(chunk)
                if total > max_member_bytes:
                    raise ExportFormatError(
                        f"member decompresses to more than max_member_bytes={max_member_bytes}",
                        where,
                    )
                if total > _RATIO_FLOOR and total > budget:
                    raise ExportFormatError(
                        f"member decompresses more than max_ratio={max_ratio:g} times its "
                        "compressed size (zip bomb?)",
                        where,
                    )
                yield chunk
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ExportDownloadError(f"{where}: corrupt zip data: {exc}") from exc
    except NotImplementedError as exc:  # e.g. a compression method zipfile cannot read
        raise ExportFormatError(f"cannot decompress: {exc}", where) from exc
