"""Stream an export's pre-signed ``exportPath`` to a file, in constant memory, and check the zip.

The link is pre-signed: it is fetched without the api key. The bytes go straight from the socket to
a temporary file or to any fsspec destination in 1 MiB pieces; a short read (fewer bytes than the
``Content-Length``), a non-zip or a zip whose CRCs do not match raises ``ExportDownloadError``.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
import zlib
from typing import Any

import fsspec

from ango_frames.api.transport import Transport, safe_url
from ango_frames.errors import ApiError, ExportDownloadError, TransportError

__all__ = ["check_zip", "download_to"]

CHUNK = 1 << 20


def _new_temp_path() -> str:
    fd, path = tempfile.mkstemp(prefix="ango-export-", suffix=".zip")
    os.close(fd)
    return path


def download_to(
    transport: Transport,
    url: str,
    dest: str | None = None,
    storage_options: dict[str, Any] | None = None,
) -> tuple[str, int]:
    """Download ``url`` to ``dest`` (a temporary file when None); returns (path, bytes written).

    Raises
    ------
    ExportDownloadError
        On any failure: the hub's status for the link (403 = expired or forbidden link), a dropped
        connection, a short read, or content that is not a valid zip. The partial file (at
        ``dest`` or the temporary path) is removed first.
    """
    where = safe_url(url)
    try:
        resp = transport.send("GET", url, auth=False, stream=True)
    except ApiError as exc:
        hint = " (the pre-signed link expired or is forbidden)" if exc.status == 403 else ""
        raise ExportDownloadError(f"download of {where} failed: HTTP {exc.status}{hint}") from exc
    except TransportError as exc:
        raise ExportDownloadError(f"download of {where} failed: {exc}") from exc
    path = dest or _new_temp_path()
    try:
        written = _stream(resp, path, where, storage_options)
        check_zip(path, storage_options)
    except BaseException:
        # A failed download leaves no file behind: no leaked temp files, and nothing at ``dest``
        # that looks like an export but is not one.
        _remove(path, storage_options)
        raise
    return path, written


def _stream(resp: Any, path: str, where: str, storage_options: dict[str, Any] | None) -> int:
    """Write the response body to ``path``; the byte count, checked against Content-Length."""
    expected = resp.headers.get("Content-Length")
    written = 0
    try:
        with resp, fsspec.open(path, "wb", **(storage_options or {})) as out:
            for piece in resp.iter_content(CHUNK):
                out.write(piece)
                written += len(piece)
    except Exception as exc:  # any read or write failure means no usable export
        raise ExportDownloadError(
            f"download of {where} broke off after {written} bytes: {type(exc).__name__}"
        ) from exc
    if expected is not None and expected.isdigit() and int(expected) != written:
        raise ExportDownloadError(
            f"download of {where} is truncated: {written} of {expected} bytes arrived"
        )
    return written


def _remove(path: str, storage_options: dict[str, Any] | None) -> None:
    try:
        fs, target = fsspec.core.url_to_fs(path, **(storage_options or {}))
        if fs.exists(target):
            fs.rm(target)
    except Exception:  # best effort: the download error is what the user needs
        pass


def check_zip(path: str, storage_options: dict[str, Any] | None = None) -> list[str]:
    """Open ``path`` as a zip and verify every member's CRC (streamed); returns member names."""
    try:
        with fsspec.open(path, "rb", **(storage_options or {})) as f, zipfile.ZipFile(f) as zf:
            bad = zf.testzip()
            names = zf.namelist()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise ExportDownloadError(f"{path} is not a readable zip: {exc}") from exc
    if bad is not None:
        raise ExportDownloadError(f"{path} is corrupt: member {bad!r} fails its CRC check")
    if not names:
        raise ExportDownloadError(f"{path} is an empty zip")
    return names
