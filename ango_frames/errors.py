"""Errors raised by ango_frames, as one small tree.

::

    AngoError                      every error ango_frames raises on purpose
    ├── ConfigError                bad arguments before any request (no api key, unknown region,
    │   │                          plain http to a non-loopback host, naive datetimes, ...)
    │   └── MissingColumnsError    a frame lacks the columns a function needs (.missing)
    ├── ApiError                   the hub answered with an error: .status .message .method .path
    │   ├── BadRequest             400
    │   ├── AuthError              401, 403
    │   ├── NotFound               404
    │   ├── RateLimited            429 (.retry_after, seconds, when the hub sent it)
    │   └── ServerError            5xx
    ├── TransportError             no usable answer: connection refused or dropped, DNS, TLS
    │   └── RequestTimeout         connect or read timeout
    ├── ExportDownloadError        the export file could not be downloaded or is not a readable zip
    ├── ExportFormatError          an export file that is not a valid export (.source, .position)
    ├── PayloadError               rows that cannot become a valid import payload (.failure_cases)
    ├── ImageError                 an asset image or brush mask that cannot be fetched or decoded
    └── ImportIncomplete           some chunks of an import were not acknowledged (.results)

    AngoWarning                    base of the warnings ango_frames emits
    └── UnknownKeysWarning         export keys the reader does not know (kept in `extra` columns)

requests / urllib3 exceptions are translated in exactly one place (``ango_frames.api.transport``),
chained to a scrubbed copy (no request, no headers). No error message, repr or cause ever holds
the api key; URLs in them are shown through :func:`redact_url`.

Every error pickles through one base: ``AngoError`` remembers the arguments it was made with,
so errors cross process boundaries (Dask, multiprocessing) with all their attributes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AngoError",
    "AngoWarning",
    "ApiError",
    "AuthError",
    "BadRequest",
    "ConfigError",
    "ExportDownloadError",
    "ExportFormatError",
    "ImageError",
    "ImportIncomplete",
    "MissingColumnsError",
    "NotFound",
    "PayloadError",
    "RateLimited",
    "RepairedTextWarning",
    "RequestTimeout",
    "ServerError",
    "TransportError",
    "UnknownKeysWarning",
    "causes",
    "redact_url",
    "scrub_secret",
]


def _rebuild(cls: type[AngoError], args: tuple[Any, ...], kwargs: dict[str, Any]) -> AngoError:
    return cls(*args, **kwargs)


class AngoError(Exception):
    """Base class of every error ango_frames raises on purpose.

    It keeps the arguments it was made with, and pickles by calling the class with them again:
    one ``__reduce__`` for the whole tree, so no subclass writes its own.
    """

    _made_with: tuple[tuple[Any, ...], dict[str, Any]]

    def __new__(cls, *args: Any, **kwargs: Any) -> AngoError:
        self = super().__new__(cls, *args)
        self._made_with = (args, kwargs)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        args, kwargs = getattr(self, "_made_with", (self.args, {}))
        return (_rebuild, (type(self), args, kwargs))


class ConfigError(AngoError, ValueError):
    """Arguments that cannot work, found before any request is made."""


class MissingColumnsError(ConfigError):
    """A frame lacks columns a function needs; ``missing`` lists them, ``needed_for`` says why."""

    def __init__(self, missing: list[str], needed_for: str, have: list[str] | None = None) -> None:
        self.missing = list(missing)
        self.needed_for = needed_for
        self.have = None if have is None else list(have)
        have_txt = f"; the frame has {sorted(map(str, have))}" if have is not None else ""
        super().__init__(f"{needed_for} needs column(s) {self.missing}{have_txt}")


class ApiError(AngoError):
    """The hub answered with an error status.

    Attributes
    ----------
    status : int
        HTTP status code.
    message : str
        The ``message`` of the hub's ``{"status": "fail", "message": ...}`` body (or the start of
        the body when it is not that envelope).
    method, path : str
        The request's method and URL path (no query string: it can hold filters, never the key).
    """

    def __init__(self, status: int, message: str, method: str = "", path: str = "") -> None:
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        where = f" ({method} {path})" if method else ""
        super().__init__(f"HTTP {status}{where}: {message}")


class BadRequest(ApiError):
    """400: the hub refused the request's parameters or body."""


class AuthError(ApiError):
    """401 or 403: missing, wrong or insufficient api key."""


class NotFound(ApiError):
    """404: no such project, task or path."""


class RateLimited(ApiError):
    """429: too many requests; ``retry_after`` holds the hub's Retry-After in seconds, if any."""

    def __init__(
        self,
        status: int,
        message: str,
        method: str = "",
        path: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, message, method, path)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: the hub failed; retried by the client before this is raised."""


class TransportError(AngoError):
    """No usable HTTP answer: connection refused or dropped, DNS or TLS failure.

    ``never_sent`` is True when the request surely never reached the hub (no connection could
    be made), so repeating it cannot apply it twice.
    """

    def __init__(self, message: str, never_sent: bool = False) -> None:
        self.never_sent = never_sent
        super().__init__(message)


class RequestTimeout(TransportError):
    """The connect or read timeout ran out."""


class ExportDownloadError(AngoError):
    """The export file could not be downloaded, or what arrived is not a readable zip."""


class ExportFormatError(AngoError, ValueError):
    """A file that is not a valid Ango export.

    Attributes
    ----------
    source : str
        The file (and zip member) being read.
    position : str
        Where in it: a line, a byte offset, or a record index.
    """

    def __init__(self, message: str, source: str = "", position: str = "") -> None:
        self.source = source
        self.position = position
        self.reason = message
        parts = [p for p in (source, position) if p]
        prefix = f"{': '.join(parts)}: " if parts else ""
        super().__init__(f"{prefix}{message}")


class PayloadError(AngoError, ValueError):
    """Rows that cannot become a valid import payload. Nothing has been sent.

    Attributes
    ----------
    failure_cases : pandas.DataFrame
        One row per problem, with columns ``row`` (the input frame's index label), ``column``,
        ``reason`` (a short code such as ``missing_asset_key``) and ``value``.
    """

    def __init__(self, failure_cases: pd.DataFrame, message: str | None = None) -> None:
        self.failure_cases = failure_cases
        if message is None:
            n = len(failure_cases)
            rows = failure_cases["row"].nunique() if n else 0
            head = failure_cases.head(10).to_string(index=False) if n else ""
            more = f"\n... and {n - 10} more (see .failure_cases)" if n > 10 else ""
            message = f"{n} problem(s) in {rows} row(s); nothing was sent:\n{head}{more}"
        super().__init__(message)


class ImageError(AngoError):
    """An asset image or brush mask could not be fetched or decoded.

    ``source`` is the URL or path without its query string and credentials (signed URLs carry
    their signature in the query), so the message is safe to log.
    """

    def __init__(self, message: str, source: str = "") -> None:
        super().__init__(message)
        self.source = source


class ImportIncomplete(AngoError):
    """Some chunks of an import were not acknowledged by the hub.

    ``results`` is the per-asset result frame: which rows went (``sent``), which did not, and the
    error each failed chunk got. Re-running with the same journal sends only what did not go.
    """

    def __init__(self, message: str, results: pd.DataFrame) -> None:
        self.results = results
        super().__init__(message)


class AngoWarning(UserWarning):
    """Base class of the warnings ango_frames emits."""


class UnknownKeysWarning(AngoWarning):
    """The export holds keys the reader does not know; they are kept in ``extra`` columns."""


class RepairedTextWarning(AngoWarning):
    """A string of the export was not valid Unicode (a lone surrogate, as JavaScript writes a cut
    emoji); the character was replaced by U+FFFD and the record read."""


def redact_url(url: str) -> str:
    """``url`` as it may appear in reprs, errors, warnings and logs.

    The password of ``user:password@`` becomes ``***`` and so does every query value (pre-signed
    links carry their signature and credentials there); the names stay, so the shape is clear.
    Text that is not a URL is returned as it is.
    """
    if not isinstance(url, str) or "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = "&".join(
        f"{pair.split('=', 1)[0]}=***" if pair else pair for pair in parts.query.split("&")
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def scrub_secret(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` (as sent, and URL-encoded both ways) replaced by ``***``."""
    if not secret or not text:
        return text
    for form in {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}:
        text = text.replace(form, "***")
    return text


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions under it, each once: ``__cause__``, ``__context__``, urllib3's
    ``.reason`` and exceptions held in ``args`` (how requests wraps what the socket raised)."""
    todo: list[Any] = [exc]
    seen: set[int] = set()
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
