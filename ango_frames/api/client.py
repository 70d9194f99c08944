"""``Client``: the Ango Hub Import/Export API (and the project ontology) from Python values."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests

from ango_frames.api.download import download_to
from ango_frames.api.export_request import encode_export_params
from ango_frames.api.transport import (
    DEFAULT_TIMEOUT,
    RetryPolicy,
    Transport,
    check_url_scheme,
)
from ango_frames.errors import ApiError, ConfigError, ExportDownloadError
from ango_frames.export_file import ExportFile

__all__ = ["REGIONS", "Client"]

log = logging.getLogger("ango_frames")

#: The four servers of the API specification; each base already ends in /v2.
REGIONS: dict[str, str] = {
    "eu": "https://imeritapi.ango.ai/v2",
    "us": "https://us-api.ango.ai/v2",
    "in": "https://in-api.ango.ai/v2",
    "test": "https://testapi.ango.ai/v2",
}


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
        Client-side requests per minute (default 100, the documented standard plan); None disables.

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
        self._transport = Transport(
            api_key=key, timeout=timeout, retry=retry, rate_limit=rate_limit
        )

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, api_key='***')"

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
    ) -> dict[str, Any]:
        """POST a JSON body to an API path; returns the parsed JSON body.

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
            headers=headers,
            idempotent=idempotency_key is not None,
        )
        return _json(resp)

    # -- endpoints ----------------------------------------------------------------------------

    def get_project(self, project: str) -> dict[str, Any]:
        """``GET /project/{projectId}``: the project, with its ontology under ``categorySchema``."""
        body = self.get(f"project/{project}")
        return body.get("data", {}).get("project", body.get("data", body))

    def export_url(self, project: str, **options: Any) -> tuple[str, dict[str, str]]:
        """``GET /export``: ask the hub for an export; returns (exportPath, the params sent)."""
        params = encode_export_params(project, **options)
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
        *,
        format: str = "json",
        type: str = "task",
        stage: str | Sequence[str] | None = None,
        batches: str | Sequence[str] | None = None,
        send_email: bool = False,
        notify: bool = False,
        include_metadata: bool = False,
        include_history: bool = False,
        include_only_key_frames: bool = False,
        include_idle_blur_durations: bool = False,
        updated_at: Any = None,
        created_at: Any = None,
        filters: Mapping[str, Any] | None = None,
        dest: str | None = None,
        storage_options: dict[str, Any] | None = None,
    ) -> ExportFile:
        """Request an export and download it, streaming, to ``dest`` (a temp file by default).

        Parameters mirror ``GET /export``: ``stage`` / ``batches`` are lists (sent as JSON),
        ``updated_at`` / ``created_at`` a (start, end) pair of aware datetimes (either may be None),
        a raw ``{"$gt": ..., "$lt": ...}`` dict, or one datetime meaning "after"; ``filters`` a
        Mongo-style dict. Naive datetimes raise ``ConfigError``. ``dest`` may be any fsspec URL.

        Returns
        -------
        ExportFile
            Where the zip is, its format and the parameters sent; every export reader accepts it.

        Raises
        ------
        ExportDownloadError
            The link failed twice (an expired link is re-requested once), or the zip is unreadable.
        """
        options = {
            "format": format,
            "type": type,
            "stage": stage,
            "batches": batches,
            "send_email": send_email,
            "notify": notify,
            "include_metadata": include_metadata,
            "include_history": include_history,
            "include_only_key_frames": include_only_key_frames,
            "include_idle_blur_durations": include_idle_blur_durations,
            "updated_at": updated_at,
            "created_at": created_at,
            "filters": filters,
        }
        url, params = self.export_url(project, **options)
        try:
            path, size = download_to(self._transport, url, dest, storage_options)
        except ExportDownloadError as first:
            # Pre-signed links expire and downloads break; one fresh link, then give up.
            log.info("export download failed (%s); requesting a fresh link once", first)
            url, params = self.export_url(project, **options)
            path, size = download_to(self._transport, url, dest, storage_options)
        return ExportFile(
            path=path,
            format=format,
            project=project,
            params=params,
            downloaded_at=dt.datetime.now(dt.timezone.utc),
            size=size,
            storage_options=dict(storage_options or {}),
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
            f"annotate/{task_id}",
            {"answer": dict(answer)},
            params={"isPlugin": "true" if is_plugin else "false"},
            idempotency_key=idempotency_key,
        )


def _json(resp: requests.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(resp.content)
    except orjson.JSONDecodeError as exc:
        path = urlsplit(resp.url).path
        raise ApiError(
            resp.status_code, "the answer is not JSON", resp.request.method or "", path
        ) from exc
    return body if isinstance(body, dict) else {"data": body}
