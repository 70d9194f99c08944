"""HTTP for the local hub: routing, auth, envelopes, idempotency keys, faults and downloads.

One handler instance serves one connection (HTTP/1.1 keep-alive) on a server thread; the hub it
serves is ``self.server.hub``. The api key is compared in constant time and never written
anywhere: the request log records only whether a key was sent.
"""

from __future__ import annotations

import contextlib
import hmac
import re
import socket
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from ango_frames.errors import ApiError, BadRequest
from ango_frames.testing import api
from ango_frames.testing.downloads import serve_download
from ango_frames.testing.faults import Fault
from ango_frames.testing.records import DownloadRecord, HubBackend, RequestRecord

__all__ = ["HubHandler"]

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(r"/v2/project/([^/]+)"), "project"),
    ("GET", re.compile(r"/v2/task/([^/]+)"), "task"),
    ("GET", re.compile(r"/v2/export"), "export"),
    ("POST", re.compile(r"/v2/import/labels"), "import_labels"),
    ("POST", re.compile(r"/v2/attachments"), "attachments"),
    ("POST", re.compile(r"/v2/annotate/([^/]+)"), "annotate"),
    ("GET", re.compile(r"/downloads/([A-Za-z0-9_-]+)\.zip"), "download"),
]
_EXPIRED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Request has expired</Message></Error>"
)
_NO_KEY = b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code></Error>'


def _route(method: str, raw_path: str) -> tuple[str | None, str | None]:
    """Route on the path as sent (``%2F`` stays inside one segment), then decode the id."""
    for verb, pattern, name in _ROUTES:
        match = pattern.fullmatch(raw_path)
        if match and verb == method:
            return name, unquote(match.group(1)) if match.groups() else None
    return None, None


class HubHandler(BaseHTTPRequestHandler):
    """Serves the Ango Hub API subset of ``openapi.json`` under ``/v2``, plus export downloads."""

    protocol_version = "HTTP/1.1"
    server_version = "LocalAngoHub/1"
    # Headers and body go out in two writes: with Nagle on, the body waits for the client's
    # delayed ACK of the headers, which cost about 40 ms per request on loopback.
    disable_nagle_algorithm = True
    _fault: Fault | None = None

    @property
    def hub(self) -> HubBackend:
        return self.server.hub  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        """Silent by default: tests and notebooks should not fill stderr with request lines."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # ------------------------------------------------------------------------------ plumbing

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _fail(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        kind = "error" if status >= 500 else "fail"
        self._send(status, orjson.dumps({"status": kind, "message": message}), headers=headers)

    def _drop(self) -> None:
        """Close the connection without a byte of answer, as a crashed proxy would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering 400/413 for one that cannot be read."""
        limit = self.hub.max_body_bytes
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(chunks)
        else:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                self.close_connection = True
                self._fail(400, "Invalid Content-Length header.")
                return None
            if limit is not None and length > limit:
                self.close_connection = True  # the unread body makes the connection unusable
                self._fail(413, f"Request body too large: {length} bytes; the limit is {limit}.")
                return None
            body = self.rfile.read(length) if length else b""
        if limit is not None and len(body) > limit:
            self._fail(413, f"Request body too large: {len(body)} bytes; the limit is {limit}.")
            return None
        return body

    # ------------------------------------------------------------------------------ requests

    def _handle(self, method: str) -> None:
        hub = self.hub
        url = urlsplit(self.path)
        path = unquote(url.path)
        query = parse_qs(url.query, keep_blank_values=True)
        sent_key = self.headers.get("apikey")
        hub.log.request(
            RequestRecord(method, path, {k: v[-1] for k, v in query.items()}, sent_key is not None)
        )
        body = self._read_body()
        if body is None:
            return
        endpoint, arg = _route(method, url.path)
        if endpoint is None:
            self._fail(404, f"Not found: {method} {path}")
            return
        if endpoint == "download":
            hub.log.download(DownloadRecord(str(arg), sent_key is not None))
        fault = hub.faults.take(endpoint)
        if fault is not None and self._fault_before(fault):
            return
        if endpoint == "download":
            self._download(str(arg), fault)
            return
        if sent_key is None or not hmac.compare_digest(sent_key.encode(), hub.api_key.encode()):
            self._fail(401, "Invalid API KEY")
            return
        idem = self.headers.get("Idempotency-Key") if method == "POST" else None
        self._fault = fault
        status, payload = self._idempotent(idem, method, path, endpoint, arg, query, body)
        if fault is not None and fault.kind == "drop_after":
            self._drop()
            return
        if (
            fault is not None
            and fault.kind == "stall"
            and hub.sleep(float(fault.option("seconds")))
        ):
            self._drop()  # the hub is stopping
            return
        self._send(status, payload)

    def _fault_before(self, fault: Fault) -> bool:
        """Inject what happens before handling; True when the request is answered (or dropped)."""
        kind = fault.kind
        if kind == "429":
            retry = fault.option("retry_after")
            if retry is None:
                headers = None
            else:  # a number of seconds, or a string sent verbatim (an HTTP date, or garbage)
                headers = {"Retry-After": retry if isinstance(retry, str) else f"{retry:g}"}
            self._fail(429, "Too many requests, please slow down.", headers)
        elif kind in ("500", "502", "503"):
            reason = {
                "500": "Internal Server Error",
                "502": "Bad Gateway",
                "503": "Service Unavailable",
            }
            self._fail(int(kind), reason[kind])
        elif kind == "drop_before":
            self._drop()
        elif kind == "expire":
            self._send(403, _EXPIRED, "application/xml")
        elif kind == "latency":
            self.hub.sleep(float(fault.option("seconds")))
            return False
        else:
            return False
        return True

    def _idempotent(
        self,
        key: str | None,
        method: str,
        path: str,
        endpoint: str,
        arg: str | None,
        query: dict[str, list[str]],
        body: bytes,
    ) -> tuple[int, bytes]:
        """Apply once per ``Idempotency-Key``: a key seen before gets its stored answer back."""
        if key is None:
            return self._dispatch(endpoint, arg, query, body)
        return self.hub.idempotency.run(
            key, method, path, lambda: self._dispatch(endpoint, arg, query, body)
        )

    def _dispatch(
        self, endpoint: str, arg: str | None, query: dict[str, list[str]], raw: bytes
    ) -> tuple[int, bytes]:
        hub = self.hub
        try:
            if endpoint == "project":
                data = api.get_project(hub.state, str(arg))
            elif endpoint == "task":
                data = api.get_task(hub.state, str(arg), query)
            elif endpoint == "export":
                parsed, zipped = api.export(hub.state, query, hub.split_size)
                shared = self._fault is not None and self._fault.kind == "shared_file"
                # shared_file: one file per project, overwritten by every export of it (the race
                # the official client warns about); normally every export gets its own link.
                token = hub.files.put(zipped, f"project-{parsed.project}" if shared else None)
                data = {"exportPath": f"{hub.base_url}/downloads/{token}.zip"}
            else:
                try:
                    body = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    raise BadRequest(400, f"Malformed JSON body: {exc}") from None
                if endpoint != "annotate" and query:
                    raise BadRequest(400, f"Unknown query parameter: {next(iter(query))}.")
                if endpoint == "import_labels":  # the spec's body, or the SDK's jsonContent
                    data = api.import_labels(hub.state, body)
                elif endpoint == "attachments":
                    data = api.import_attachments(hub.state, body)
                else:
                    data = api.annotate(hub.state, str(arg), query, body)
        except ApiError as exc:
            kind = "error" if exc.status >= 500 else "fail"
            return exc.status, orjson.dumps({"status": kind, "message": exc.message})
        except Exception as exc:  # a hub bug must not kill the server; tests can read hub.errors
            hub.errors.append(exc)
            return 500, orjson.dumps(
                {"status": "error", "message": f"Internal hub error: {type(exc).__name__}"}
            )
        return 200, orjson.dumps({"status": "success", "data": data})

    def _download(self, token: str, fault: Fault | None) -> None:
        data = self.hub.files.get(token)
        if data is None:
            self._send(404, _NO_KEY, "application/xml")
            return
        serve_download(self, data, fault)
