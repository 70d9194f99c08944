"""The local hub's "pre-signed" export downloads, with the faults real object storage shows.

``serve_download(handler, data, fault)`` answers one ``GET /downloads/<token>.zip`` on the
handler's connection: the zip as built, or cut, corrupted, trickled, endless, gzip-encoded or
redirected, as the fault says (see ``testing.faults``).
"""

from __future__ import annotations

import gzip
from typing import Any

from ango_frames.testing.faults import Fault

__all__ = ["serve_download"]


def _corrupt(data: bytes, fault: Fault) -> bytes:
    buf = bytearray(data)
    n = max(1, min(int(fault.option("nbytes")), len(buf)))
    start = min(max(0, int(len(buf) * float(fault.option("at")))), len(buf) - n)
    for i in range(start, start + n):
        buf[i] ^= 0xFF
    return bytes(buf)


def _trickle(handler: Any, data: bytes, rate: int, forever: bool) -> None:
    """Write ``data`` at about ``rate`` bytes a second (again and again when ``forever``)."""
    step = max(1, rate // 20)
    while True:
        for i in range(0, len(data), step):
            try:
                handler.wfile.write(data[i : i + step])
            except OSError:  # the client gave up: that is the point of these faults
                return
            if handler.hub.sleep(step / rate):
                return
        if not forever:
            return


def serve_download(handler: Any, data: bytes, fault: Fault | None) -> None:
    """Answer a download request on ``handler`` with ``data`` and the download fault, if any."""
    kind = fault.kind if fault is not None else None
    if kind == "drop_after":
        handler._drop()
        return
    if kind == "stall":
        assert fault is not None
        handler.hub.sleep(float(fault.option("seconds")))
    if kind == "redirect":
        assert fault is not None
        handler.send_response(302)
        handler.send_header("Location", str(fault.option("location")))
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return
    if kind == "corrupt":
        assert fault is not None
        data = _corrupt(data, fault)
    handler.send_response(200)
    handler.send_header("Content-Type", "application/zip")
    if kind == "truncate":
        assert fault is not None
        keep = int(len(data) * float(fault.option("keep")))
        if fault.option("content_length") == "full":
            handler.send_header("Content-Length", str(len(data)))
        else:
            handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(data[:keep])
        handler._drop()
        return
    if kind == "endless":  # no length, bytes without end: only a size cap or deadline stops it
        assert fault is not None
        handler.send_header("Connection", "close")
        handler.end_headers()
        _trickle(handler, data, max(1, int(fault.option("bytes_per_second"))), forever=True)
        handler._drop()
        return
    if kind == "gzip":  # object storage that serves the zip with Content-Encoding: gzip
        data = gzip.compress(data, mtime=0)
        handler.send_header("Content-Encoding", "gzip")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    if kind == "slow":
        assert fault is not None
        _trickle(handler, data, max(1, int(fault.option("bytes_per_second"))), forever=False)
    else:
        handler.wfile.write(data)
