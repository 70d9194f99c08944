"""``Client``: the Ango Hub Import/Export API (and the project ontology) from Python values."""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
import requests

from ango_frames.api.download import download_to
from ango_frames.api.export_request import ExportRequest
from ango_frames.api.transport import (
    DEFAULT_TIMEOUT,
    RetryPolicy,
    Transport,
    check_url_scheme,
)
from ango_frames.errors import ApiError, ConfigError, ExportDownloadError, redact_url
from ango_frames.export_file import ExportFile

__all__ = ["DEFAULT_DOWNLOAD_DEADLINE", "DEFAULT_MAX_DOWNLOAD_BYTES", "REGIONS", "Client"]

log = logging.getLogger("ango_frames")

#: The four servers of the API specification; each base already ends in /v2.
REGIONS: dict[str, str] = {
    "eu": "https://imeritapi.ango.ai/v2",
    "us": "https://us-api.ango.ai/v2",
    "in": "https://in-api.ango.ai/v2",
    "test": "https://testapi.ango.ai/v2",
}

#: Largest export download accepted by default (bytes): far above real exports, below a full disk.
DEFAULT_MAX_DOWNLOAD_BYTES = 32 * 1024**3
#: Seconds a whole export download may take by default, however steadily bytes arrive.
DEFAULT_DOWNLOAD_DEADLINE = 4 * 3600.0


class _Unset:
    """The default of a per-call limit: use the client's."""

    def __repr__(self) -> str:
        return "<the client's>"


UNSET = _Unset()

_PROJECT_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_PROJECT_LOCKS_GUARD = threading.Lock()


@contextmanager
def _project_lock(base_url: str, project: str) -> Iterator[None]:
    """One export of a project at a time in this process (the hub keeps one file per project)."""
    with _PROJECT_LOCKS_GUARD:
        lock = _PROJECT_LOCKS.setdefault((base_url, project), threading.Lock())
    with lock:
        yield


def _positive(value: Any, name: str) -> Any:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (math.isfinite(value) and value > 0)
    ):
        raise ConfigError(f"{name} must be a positive number, or None for no limit; got {value!r}")
    return value


def _final(error: ExportDownloadError) -> bool:
    """Errors a fresh link cannot fix: the size cap and the deadline."""
    text = str(error)
    return "(max_download_bytes=)" in text or "(download_deadline=)" in text


def path_segment(value: Any, name: str) -> str:
    """``value`` quoted as exactly one URL path segment (no ``/ ? #`` can reach another path)."""
    if not isinstance(value, str) or value in ("", ".", ".."):
        raise ConfigError(f"{name}: expected an id, got {value!r}")
    return quote(value, safe="")


class Client:
    """A connection to Ango Hub's Import/Export API.

    Parameters
    ----------
    api_key : str, optional
        The account's api key; defaults to the ``ANGO_API_KEY`` environment variable. It is sent in
        the ``apikey`` header of API calls only and never appears in reprs, logs or errors.
    region : {"eu", "us", "in", "test"}
        Which of the spec's servers to use (default ``"eu"``).
    base_url : str, optional
        Overrides ``region``: a proxy, or ``LocalHub().url``. Plain http is refused unless the host
        is loopback or ``allow_insecure_http=True``.
    timeout : (connect, read) seconds
        Applied to every request.
    retry : RetryPolicy
        Retries 429, 5xx and connection errors with backoff, honouring ``Retry-After``.
    rate_limit : float or None
        Client-side requests per minute (default 100, the documented standard plan); None
        disables it. NaN, infinite or non-positive values are a ``ConfigError``.
    max_download_bytes : int or None
        Size cap of an export download (default 32 GiB); a bigger or endless download ends in
        ``ExportDownloadError``. None lifts the cap.
    download_deadline : float or None
        Seconds a whole export download may take (default 4 hours), so that a trickling link
        ends in ``ExportDownloadError``. None lifts it.

    Examples
    --------
    >>> from ango_frames.testing import LocalHub
    >>> with LocalHub() as hub:                                       # doctest: +SKIP
    ...     client = Client(base_url=hub.url, api_key=hub.api_key)
    ...     export = client.export(hub.project_id, format="ndjson")
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        region: str = "eu",
        base_url: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        rate_limit: float | None = 100,
        allow_insecure_http: bool = False,
        max_download_bytes: int | None = DEFAULT_MAX_DOWNLOAD_BYTES,
        download_deadline: float | None = DEFAULT_DOWNLOAD_DEADLINE,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("ANGO_API_KEY")
        if not key:
            raise ConfigError(
                "no api key: pass api_key=... or set the ANGO_API_KEY environment variable"
            )
        if base_url is None:
            if region not in REGIONS:
                raise ConfigError(f"region must be one of {sorted(REGIONS)}, got {region!r}")
            base_url = REGIONS[region]
        check_url_scheme(base_url, allow_insecure_http)
        self.base_url = base_url.rstrip("/")
        self.allow_insecure_http = allow_insecure_http
        self.max_download_bytes = _positive(max_download_bytes, "max_download_bytes")
        self.download_deadline = _positive(download_deadline, "download_deadline")
        self._transport = Transport(
            api_key=key, timeout=timeout, retry=retry, rate_limit=rate_limit
        )

    def __repr__(self) -> str:
        return f"Client(base_url={redact_url(self.base_url)!r}, api_key='***')"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._transport.close()

    @property
    def transport(self) -> Transport:
        """The transport (session, timeouts, retry policy, rate limiter) this client sends with."""
        return self._transport

    # -- raw calls --------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def get(self, path: str, *, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """GET an API path; returns the parsed JSON body. Raises ``ango_frames.errors`` types."""
        resp = self._transport.send("GET", self._url(path), params=params)
        return _json(resp)

    def post(
        self,
        path: str,
        body: Any,
        *,
        params: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        raw: bytes | None = None,
    ) -> dict[str, Any]:
        """POST a JSON body to an API path; returns the parsed JSON body.

        ``raw`` sends these bytes, already serialised JSON, as the body instead of ``body``
        (give ``body=None``): the importers send exactly the bytes they hashed.

        ``idempotency_key`` is sent as the ``Idempotency-Key`` header: a hub that honours it (the
        local hub does) applies a request once however often it is retried or resumed, and the
        client then also retries read timeouts for it.
        """
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        resp = self._transport.send(
            "POST",
            self._url(path),
            params=params,
            json_body=body,
            raw_body=raw,
            headers=headers,
            idempotent=idempotency_key is not None,
        )
        return _json(resp)

    # -- endpoints ----------------------------------------------------------------------------

    def get_project(self, project: str) -> dict[str, Any]:
        """``GET /project/{projectId}``: the project, with its ontology under ``categorySchema``."""
        body = self.get(f"project/{path_segment(project, 'project')}")
        return body.get("data", {}).get("project", body.get("data", body))

    def export_url(
        self, project: str, request: ExportRequest | None = None, **options: Any
    ) -> tuple[str, dict[str, str]]:
        """``GET /export``: ask the hub for an export; returns (exportPath, the params sent)."""
        params = ExportRequest.of(request, **options).params(project)
        body = self.get("export", params=params)
        try:
            url = body["data"]["exportPath"]
        except (KeyError, TypeError):
            raise ExportDownloadError("the export answer holds no data.exportPath") from None
        if not isinstance(url, str) or not url:
            raise ExportDownloadError("the export answer's data.exportPath is empty")
        check_url_scheme(url, self.allow_insecure_http)
        return url, params

    def export(
        self,
        project: str,
        request: ExportRequest | None = None,
        *,
        dest: str | None = None,
        storage_options: dict[str, Any] | None = None,
        max_download_bytes: int | _Unset | None = UNSET,
        download_deadline: float | _Unset | None = UNSET,
        **options: Any,
    ) -> ExportFile:
        """Request an export and download it, streaming, to ``dest`` (a temp file by default).

        Parameters
        ----------
        project : str
            The project id.
        request : ExportRequest, optional
            What to export; or give its options as keywords (``format="ndjson"``,
            ``stage=[...]``, ``updated_at=(start, None)``, ...; see :class:`ExportRequest`).
            Keywords given beside ``request`` replace its values.
        dest : str, optional
            Where to keep the zip (any fsspec URL). It is downloaded to a temporary sibling and
            renamed over ``dest`` only once it checks out: a failed download leaves an existing
            file at ``dest`` as it was. Without ``dest`` the zip goes to a temporary file that
            the returned ``ExportFile`` owns: use it in a ``with`` block or call ``close()``
            (it is also deleted when garbage-collected, or at interpreter exit).
        max_download_bytes, download_deadline : optional
            This call's size cap (bytes) and deadline (seconds for the whole download, a fresh
            link included); default: the client's. None lifts the limit.

        Exports of one project are serialised within the process: the hub keeps one export
        file per project, which a parallel export of it would overwrite before download.

        Returns
        -------
        ExportFile
            Where the zip is, its format and the parameters sent; every export reader accepts it.

        Raises
        ------
        ExportDownloadError
            The link failed twice (an expired link is re-requested once), the zip is unreadable,
            or the download passed ``max_download_bytes`` or ``download_deadline``.
        """
        req = ExportRequest.of(request, **options)
        cap = (
            self.max_download_bytes
            if isinstance(max_download_bytes, _Unset)
            else (_positive(max_download_bytes, "max_download_bytes"))
        )
        seconds = (
            self.download_deadline
            if isinstance(download_deadline, _Unset)
            else (_positive(download_deadline, "download_deadline"))
        )
        with _project_lock(self.base_url, project):
            deadline = None if seconds is None else time.monotonic() + seconds

            def fetch(url: str) -> tuple[str, int]:
                return download_to(
                    self._transport,
                    url,
                    dest,
                    storage_options,
                    max_bytes=cap,
                    deadline=deadline,
                    allow_insecure_http=self.allow_insecure_http,
                )

            url, params = self.export_url(project, req)
            try:
                path, size = fetch(url)
            except ExportDownloadError as first:
                if _final(first):
                    raise
                # Pre-signed links expire and downloads break; one fresh link, then give up.
                log.info("export download failed (%s); requesting a fresh link once", first)
                url, params = self.export_url(project, req)
                path, size = fetch(url)
        return ExportFile(
            path=path,
            format=req.format,
            project=project,
            params=params,
            downloaded_at=dt.datetime.now(dt.timezone.utc),
            size=size,
            storage_options=dict(storage_options or {}),
            temporary=dest is None,
        )

    def import_labels(self, project: str, data: Any, **options: Any) -> Any:
        """Validate, chunk and send pre-labels; see :func:`ango_frames.imports.send.import_labels`.

        ``data`` is a predictions DataFrame, an ``ExportTables``, a ready ``{project, labels}``
        body or a list of labels. Returns one result row per asset (or a ``DryRun``).
        """
        from ango_frames.imports.send import import_labels

        return import_labels(self, project, data, **options)

    def import_attachments(self, project: str, data: Any, **options: Any) -> Any:
        """Validate, chunk and send attachments (:func:`.imports.send.import_attachments`)."""
        from ango_frames.imports.send import import_attachments

        return import_attachments(self, project, data, **options)

    def annotate(
        self,
        task_or_data: Any,
        answer: Mapping[str, Any] | None = None,
        *,
        is_plugin: bool = False,
        **options: Any,
    ) -> Any:
        """Submit answers: ``annotate(task_id, answer)`` for one task (the parsed LabelResponse),
        or ``annotate(frame, ...)`` for a frame with a ``task_id`` column, one request per task
        (see :func:`ango_frames.imports.send.annotate`)."""
        if isinstance(task_or_data, str):
            if answer is None:
                raise ConfigError("annotate(task_id, answer): the answer is missing")
            return self.annotate_request(task_or_data, answer, is_plugin=is_plugin)
        from ango_frames.imports.send import annotate

        return annotate(self, task_or_data, is_plugin=is_plugin, **options)

    def import_labels_request(
        self, project: str, labels: list[dict[str, Any]], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """One ``POST /import/labels`` with the spec's body ``{project, labels}``; its reply."""
        return self.post(
            "import/labels", {"project": project, "labels": labels}, idempotency_key=idempotency_key
        )

    def import_attachments_request(
        self, project: str, attachments: list[dict[str, Any]], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """One ``POST /attachments`` with ``{project, attachments}``; the parsed reply."""
        return self.post(
            "attachments",
            {"project": project, "attachments": attachments},
            idempotency_key=idempotency_key,
        )

    def annotate_request(
        self,
        task_id: str,
        answer: Mapping[str, Any],
        *,
        is_plugin: bool = False,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """One ``POST /annotate/{taskId}?isPlugin=...`` with ``{answer}``; the parsed reply."""
        return self.post(
            f"annotate/{path_segment(task_id, 'task_id')}",
            {"answer": dict(answer)},
            params={"isPlugin": "true" if is_plugin else "false"},
            idempotency_key=idempotency_key,
        )


def _json(resp: requests.Response) -> dict[str, Any]:
    if 300 <= resp.status_code < 400:  # not followed (it would carry the api key): no answer
        raise ApiError(
            resp.status_code,
            "a redirect, not an answer (API calls do not follow redirects)",
            resp.request.method or "",
            urlsplit(resp.url).path,
        )
    try:
        body = orjson.loads(resp.content)
    except orjson.JSONDecodeError as exc:
        path = urlsplit(resp.url).path
        raise ApiError(
            resp.status_code, "the answer is not JSON", resp.request.method or "", path
        ) from exc
    return body if isinstance(body, dict) else {"data": body}
