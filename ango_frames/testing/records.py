"""What the local hub remembers between requests, and the interface its HTTP handler sees.

The handler (``testing.handler``) never reaches into ``LocalHub``'s private attributes: it talks
to the :class:`HubBackend` protocol below, and the hub keeps its request log, download log,
export files and idempotency answers in the small thread-safe stores of this module. This keeps
``hub -> handler -> records`` a one-way chain.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import NamedTuple, Protocol

import orjson

from ango_frames.testing.faults import FaultPlan
from ango_frames.testing.store import Store

__all__ = [
    "DownloadRecord",
    "ExportFiles",
    "HubBackend",
    "IdempotencyStore",
    "RequestLog",
    "RequestRecord",
]


class RequestRecord(NamedTuple):
    """One request as the hub saw it; never the api key, only whether one was sent."""

    method: str
    path: str
    query: dict[str, str]
    had_api_key: bool


class DownloadRecord(NamedTuple):
    """One request for an export zip; pre-signed links must work without ``apikey``."""

    token: str
    had_api_key: bool


class RequestLog:
    """The request and download logs (appended from many server threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: list[RequestRecord] = []
        self.downloads: list[DownloadRecord] = []

    def request(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)

    def download(self, record: DownloadRecord) -> None:
        with self._lock:
            self.downloads.append(record)


class ExportFiles:
    """Download token -> zip bytes. ``put(..., token=...)`` overwrites one file in place.

    The real hub keeps one export file per project, which parallel requests overwrite; the
    ``shared_file`` fault stores every export of a project under one token to simulate that.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.files: dict[str, bytes] = {}

    def put(self, data: bytes, token: str | None = None) -> str:
        token = token or secrets.token_hex(16)
        with self._lock:
            self.files[token] = data
        return token

    def get(self, token: str) -> bytes | None:
        with self._lock:
            return self.files.get(token)


class IdempotencyStore:
    """``Idempotency-Key`` -> the first answer: ((method, path), status, body)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._answers: dict[str, tuple[tuple[str, str], int, bytes]] = {}
        self.replays = 0

    def run(
        self, key: str, method: str, path: str, apply: Callable[[], tuple[int, bytes]]
    ) -> tuple[int, bytes]:
        """Answer a key seen before from the store; else ``apply()`` and keep a 2xx answer.

        A key reused for another method or path is a 422, as on servers that honour keys.
        """
        with self.lock:
            seen = self._answers.get(key)
            if seen is not None:
                if seen[0] != (method, path):
                    msg = f"Idempotency-Key {key!r} was used for {seen[0][0]} {seen[0][1]}."
                    return 422, orjson.dumps({"status": "fail", "message": msg})
                self.replays += 1
                return seen[1], seen[2]
            status, payload = apply()
            if 200 <= status < 300:  # failures were not applied; a retry must run again
                self._answers[key] = ((method, path), status, payload)
            return status, payload


class HubBackend(Protocol):
    """What the HTTP handler needs from the hub it serves (``LocalHub`` implements it)."""

    state: Store
    faults: FaultPlan
    split_size: int
    max_body_bytes: int | None
    errors: list[Exception]
    log: RequestLog
    files: ExportFiles
    idempotency: IdempotencyStore

    @property
    def api_key(self) -> str: ...

    @property
    def base_url(self) -> str: ...

    def sleep(self, seconds: float) -> bool:
        """Sleep, waking early when the hub stops; True if it stopped."""
        ...
