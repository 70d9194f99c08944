"""Stream an export's pre-signed ``exportPath`` to a file, in constant memory, and check the zip.

The link is pre-signed: it is fetched without the api key. The bytes go from the socket to a
temporary file, or to a temporary sibling of ``dest`` that is renamed over ``dest`` only once the
zip checks out, so a failed download never touches the user's previous good file. A download
ends with ``ExportDownloadError`` when it is cut short, is not a valid zip, grows past
``max_bytes`` or runs past its deadline (an endless or trickling link ends too). Redirects are
followed by hand, each one checked like the ``exportPath`` itself: plain http to a non-loopback
host is refused. A body sent with ``Content-Encoding: gzip`` is decoded and its length checked
on the wire.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
import zipfile
import zlib
from typing import Any
from urllib.parse import urljoin

import fsspec
import urllib3
from fsspec.implementations.local import LocalFileSystem

from ango_frames.api.transport import Transport, check_url_scheme, safe_url
from ango_frames.errors import ApiError, ConfigError, ExportDownloadError, TransportError

__all__ = ["TEMP_PREFIX", "check_zip", "download_to", "remove_file"]

CHUNK = 1 << 20
MAX_REDIRECTS = 5
#: Name prefix of the temporary export files (the test suite checks none is left behind).
TEMP_PREFIX = "ango-export-"


def _new_temp_path() -> str:
    fd, path = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".zip")
    os.close(fd)
    return path


def _sibling(dest: str) -> str:
    """A fresh name beside ``dest`` (same folder, so the final rename stays on one filesystem)."""
    return f"{dest}.{TEMP_PREFIX}{secrets.token_hex(4)}.part"


def download_to(
    transport: Transport,
    url: str,
    dest: str | None = None,
    storage_options: dict[str, Any] | None = None,
    *,
    max_bytes: int | None = None,
    deadline: float | None = None,
    allow_insecure_http: bool = False,
) -> tuple[str, int]:
    """Download ``url`` to ``dest`` (a temporary file when None); returns (path, bytes written).

    ``deadline`` is a ``time.monotonic()`` value the whole download must end by.

    Raises
    ------
    ExportDownloadError
        On any failure: the hub's status for the link (403 = expired or forbidden link), a dropped
        connection, a short read, a body over ``max_bytes``, the deadline, or content that is not
        a valid zip. Nothing is left behind, and an existing file at ``dest`` is untouched.
    ConfigError
        The link redirects to plain http on a non-loopback host (or to another scheme).
    """
    resp, where = _open(transport, url, deadline, allow_insecure_http)
    path = _sibling(dest) if dest else _new_temp_path()
    try:
        written = _stream(resp, path, where, storage_options, max_bytes, deadline)
        check_zip(path, storage_options)
        if dest:
            _replace(path, dest, storage_options)
    except BaseException:
        remove_file(path, storage_options)
        raise
    return dest or path, written


def _remaining(deadline: float | None, where: str) -> float | None:
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise ExportDownloadError(f"download of {where} ran past its deadline (download_deadline=)")
    return left


def _open(
    transport: Transport, url: str, deadline: float | None, allow_insecure_http: bool
) -> tuple[Any, str]:
    """GET the link, following redirects by hand; the open streaming response and its safe URL."""
    for _ in range(MAX_REDIRECTS + 1):
        where = safe_url(url)
        left = _remaining(deadline, where)
        connect, read = transport.timeout
        timeout = (connect, read) if left is None else (min(connect, left), min(read, left))
        try:
            resp = transport.send(
                "GET", url, auth=False, stream=True, timeout=timeout, follow_redirects=False
            )
        except ApiError as exc:
            hint = " (the pre-signed link expired or is forbidden)" if exc.status == 403 else ""
            raise ExportDownloadError(
                f"download of {where} failed: HTTP {exc.status}{hint}"
            ) from exc
        except TransportError as exc:  # ours, already scrubbed: kept as the cause
            raise ExportDownloadError(f"download of {where} failed: {exc}") from exc
        if not resp.is_redirect:
            return resp, where
        location = urljoin(url, resp.headers.get("Location", ""))
        resp.close()
        try:
            check_url_scheme(location, allow_insecure_http)
        except ConfigError as exc:
            raise ConfigError(f"the download link {where} redirects elsewhere: {exc}") from None
        url = location
    raise ExportDownloadError(f"download of {where} redirected more than {MAX_REDIRECTS} times")


def _pieces(resp: Any) -> Any:
    """The decoded body in pieces of at most CHUNK bytes, each from at most one socket read."""
    raw = getattr(resp, "raw", None)
    if raw is None:  # a transport adapter that answers from memory
        yield resp.content
    elif isinstance(raw, urllib3.response.BaseHTTPResponse) and hasattr(
        raw, "read1"
    ):  # urllib3 2: returns what one read gives, so deadlines are checked
        while True:
            piece = raw.read1(CHUNK, decode_content=True)
            if not piece:
                return
            yield piece
    else:  # urllib3 1.x, or another file-like body
        yield from resp.iter_content(CHUNK)


def _stream(
    resp: Any,
    path: str,
    where: str,
    storage_options: dict[str, Any] | None,
    max_bytes: int | None,
    deadline: float | None,
) -> int:
    """Write the response body to ``path``; the byte count, checked against Content-Length."""
    expected = resp.headers.get("Content-Length")
    encoded = resp.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    if max_bytes is not None and expected and expected.isdigit() and int(expected) > max_bytes:
        resp.close()
        raise ExportDownloadError(
            f"download of {where} is {int(expected):,} bytes, over the cap of {max_bytes:,} "
            "(max_download_bytes=)"
        )
    written = 0
    try:
        with resp, fsspec.open(path, "wb", **(storage_options or {})) as out:
            for piece in _pieces(resp):
                written += len(piece)
                if max_bytes is not None and written > max_bytes:
                    raise ExportDownloadError(
                        f"download of {where} passed the cap of {max_bytes:,} bytes "
                        "(max_download_bytes=)"
                    )
                if deadline is not None and time.monotonic() > deadline:
                    raise ExportDownloadError(
                        f"download of {where} ran past its deadline after {written:,} bytes "
                        "(download_deadline=)"
                    )
                out.write(piece)
            raw = getattr(resp, "raw", None)
            on_wire = (
                raw.tell() if encoded and raw is not None and hasattr(raw, "tell") else written
            )
    except ExportDownloadError:
        raise
    except Exception as exc:  # any read or write failure means no usable export
        raise ExportDownloadError(
            f"download of {where} broke off after {written} bytes: {type(exc).__name__}"
        ) from None
    if expected is not None and expected.isdigit() and int(expected) != on_wire:
        raise ExportDownloadError(
            f"download of {where} is truncated: {on_wire} of {expected} bytes arrived"
        )
    return written


def _replace(part: str, dest: str, storage_options: dict[str, Any] | None) -> None:
    """Move the checked download over ``dest`` (atomic on a local filesystem)."""
    fs, target = fsspec.core.url_to_fs(dest, **(storage_options or {}))
    _, source = fsspec.core.url_to_fs(part, **(storage_options or {}))
    if isinstance(fs, LocalFileSystem):
        os.replace(source, target)
    else:
        fs.mv(source, target)


def remove_file(path: str, storage_options: dict[str, Any] | None = None) -> None:
    """Delete ``path`` if it exists (best effort: the caller's error is what the user needs)."""
    try:
        fs, target = fsspec.core.url_to_fs(path, **(storage_options or {}))
        if fs.exists(target):
            fs.rm(target)
    except Exception:
        pass


def check_zip(path: str, storage_options: dict[str, Any] | None = None) -> list[str]:
    """Open ``path`` as a zip and verify every member's CRC (streamed); returns member names."""
    try:
        with fsspec.open(path, "rb", **(storage_options or {})) as f, zipfile.ZipFile(f) as zf:
            bad = zf.testzip()
            names = zf.namelist()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise ExportDownloadError(f"{safe_url(path)} is not a readable zip: {exc}") from exc
    if bad is not None:
        raise ExportDownloadError(
            f"{safe_url(path)} is corrupt: member {bad!r} fails its CRC check"
        )
    if not names:
        raise ExportDownloadError(f"{safe_url(path)} is an empty zip")
    return names
