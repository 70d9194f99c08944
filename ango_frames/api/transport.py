"""HTTP transport: one pooled session, timeouts, bounded retries, rate limiting, error translation.

This is the only module that touches ``requests``' exceptions: they become
``ango_frames.errors`` types here, with ``raise ... from exc``. The api key is sent in the
``apikey`` header of API calls only (never to download links) and never logged.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
import logging
import math
import os
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
import urllib3
from requests.adapters import HTTPAdapter

from ango_frames import errors
from ango_frames.api.ratelimit import TokenBucket
from ango_frames.errors import redact_url, scrub_secret

__all__ = [
    "DEFAULT_TIMEOUT",
    "NO_RETRY_WAIT_ENV",
    "RateLimiter",
    "RetryPolicy",
    "Transport",
    "check_url_scheme",
    "is_loopback",
    "retry_waits_enabled",
    "safe_url",
    "set_retry_waits",
]

log = logging.getLogger("ango_frames")

#: (connect, read) seconds, applied to every request unless the caller passes its own.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 120.0)

#: Set to 1 to retry without sleeping between attempts (the test suite does; stamina's habit).
NO_RETRY_WAIT_ENV = "ANGO_FRAMES_NO_RETRY_WAIT"
_retry_waits: bool | None = None  # None: follow the environment variable


def set_retry_waits(enabled: bool | None) -> None:
    """Turn the sleeps between retries off (False) or on (True); None follows the environment.

    Retries, their count, their order and the time budget stay exactly as they are: only the
    ``time.sleep`` of the back-off is skipped. For test suites, so that none sleeps in back-off.
    """
    global _retry_waits
    _retry_waits = enabled


def retry_waits_enabled() -> bool:
    """Whether the transport sleeps between retries (see :func:`set_retry_waits`)."""
    if _retry_waits is not None:
        return _retry_waits
    return os.environ.get(NO_RETRY_WAIT_ENV, "").strip().lower() not in ("1", "true", "yes")


_STATUS_ERRORS: dict[int, type[errors.ApiError]] = {
    400: errors.BadRequest,
    401: errors.AuthError,
    403: errors.AuthError,
    404: errors.NotFound,
    429: errors.RateLimited,
}


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry: only 429, 5xx and connection errors, never another 4xx.

    A POST without an idempotency key is repeated after a read timeout or a dropped connection
    only if it surely never reached the hub (the connection could not be made): else it might be
    applied twice, so the error is raised instead.

    Attempts are bounded by ``max_attempts`` and by ``max_total_seconds`` (a wait that would
    cross that budget is not started). The wait before attempt ``n`` is ``Retry-After`` when the
    hub sent one, else ``backoff_base * 2**n`` capped at ``backoff_max``, with full jitter.
    ``RetryPolicy(max_attempts=1)`` turns retries off; ``backoff_base=0`` keeps retries without
    waiting (for tests).
    """

    max_attempts: int = 6
    max_total_seconds: float = 300.0
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    jitter: bool = True

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None:
            return max(0.0, retry_after)
        delay = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return random.uniform(0, delay) if self.jitter else delay


class RateLimiter(TokenBucket):
    """The client-side limit: a thread-safe token bucket whose ``acquire()`` sleeps for a token.

    ``per_minute`` must be a positive, finite number (``rate_limit=None`` turns the limit off).
    """

    def __init__(
        self, per_minute: float, burst: int = 10, clock: Callable[[], float] = time.monotonic
    ):
        super().__init__(per_minute, burst, clock=clock, name="rate_limit")


def is_loopback(host: str | None) -> bool:
    """True for localhost and the loopback ranges (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url_scheme(url: str, allow_insecure_http: bool) -> None:
    """Refuse plain http to a non-loopback host (the api key would cross the network in clear)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise errors.ConfigError(f"unsupported URL scheme {parts.scheme!r} in {safe_url(url)}")
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(parts.hostname):
        raise errors.ConfigError(
            f"refusing plain http to {parts.hostname}: use https, or pass "
            "allow_insecure_http=True if you really mean it"
        )


def safe_url(url: str) -> str:
    """The URL as it may be shown: no password, every query value (signatures) as ``***``."""
    return redact_url(url)


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None  # an unreadable header: back off as if none was sent
        if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses as naive
            when = when.replace(tzinfo=dt.timezone.utc)
        return max(0.0, when.timestamp() - time.time())
    return max(0.0, seconds) if math.isfinite(seconds) else None


def api_error(
    resp: requests.Response, method: str, path: str, secret: str | None
) -> errors.ApiError:
    """The typed error for a non-2xx answer, with the hub's ``message`` (key scrubbed)."""
    message = ""
    try:
        body = orjson.loads(resp.content)
        if isinstance(body, dict):
            message = str(body.get("message") or body.get("error") or "")
    except orjson.JSONDecodeError:
        pass
    if not message:
        message = (resp.text or resp.reason or "").strip()
    # scrub first, then cut: a key near the cut must not leak in part
    message = scrub_secret(message, secret)[:500] or f"HTTP {resp.status_code}"
    status = resp.status_code
    if status == 429:
        return errors.RateLimited(status, message, method, path, retry_after=_retry_after(resp))
    cls = _STATUS_ERRORS.get(status, errors.ServerError if status >= 500 else errors.ApiError)
    return cls(status, message, method, path)


def _retryable(exc: BaseException, method: str, idempotent: bool) -> bool:
    if isinstance(exc, (errors.RateLimited, errors.ServerError)):
        return True
    if isinstance(exc, errors.TransportError):
        # Nothing was sent when the connection could not be made: always safe to repeat. A read
        # timeout or a connection dropped after sending may mean the hub applied the request:
        # repeat only what is safe to repeat (a GET, or a POST with an idempotency key).
        return exc.never_sent or method == "GET" or idempotent
    return False


class Transport:
    """Sends requests with the session, timeouts, retries and rate limit of one client."""

    def __init__(
        self,
        *,
        api_key: str,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        rate_limit: float | None = 100,
        session: requests.Session | None = None,
        user_agent: str = "ango-frames",
    ) -> None:
        self._api_key = api_key
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.limiter = RateLimiter(rate_limit) if rate_limit is not None else None
        self.session = session or requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers["User-Agent"] = user_agent
        self.session.trust_env = True

    def __repr__(self) -> str:
        return f"Transport(timeout={self.timeout!r}, retry={self.retry!r})"

    def close(self) -> None:
        self.session.close()

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        raw_body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        stream: bool = False,
        idempotent: bool = False,
        timeout: tuple[float, float] | None = None,
        follow_redirects: bool | None = None,
    ) -> requests.Response:
        """One logical request, retried per the policy; returns a 2xx response or raises.

        ``auth=False`` sends no api key (pre-signed download links). Bodies are serialised once
        with orjson so every retry sends the same bytes; ``raw_body`` is JSON serialised
        already and sent as it is. Redirects are followed only without the key, unless
        ``follow_redirects`` says otherwise (downloads check each hop themselves, and then get
        the 3xx back).
        """
        hdrs = dict(headers or {})
        if auth:
            hdrs["apikey"] = self._api_key
        if json_body is not None and raw_body is not None:
            raise errors.ConfigError("give a request either json_body or raw_body, not both")
        data = raw_body
        if json_body is not None:
            data = orjson.dumps(json_body)
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        path = urlsplit(url).path
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            if self.limiter is not None:
                self.limiter.acquire()
            try:
                follow = (not auth) if follow_redirects is None else follow_redirects and not auth
                resp = self._once(method, url, params, data, hdrs, stream, timeout, follow)
                if resp.status_code < 400:
                    log.debug("%s %s -> %s (attempt %d)", method, path, resp.status_code, attempt)
                    return resp
                error: errors.AngoError = api_error(resp, method, path, self._api_key)
                resp.close()
            except errors.TransportError as exc:
                error = exc
            retry_after = getattr(error, "retry_after", None)
            wait = self.retry.backoff(attempt, retry_after)
            elapsed = time.monotonic() - started
            if (
                not _retryable(error, method, idempotent)
                or attempt >= self.retry.max_attempts
                or elapsed + wait > self.retry.max_total_seconds
            ):
                note = _retry_note(url, error, attempt, None, elapsed, self.retry.max_attempts)
                log.debug(
                    "%s %s failed for good after %d attempt(s): %s",
                    method, path, attempt, error, extra={"ango_retry": note},
                )  # fmt: skip
                raise error
            note = _retry_note(url, error, attempt, wait, elapsed, self.retry.max_attempts)
            log.info(
                "%s %s: %s; retry %d in %.1fs",
                method, path, error, attempt, wait, extra={"ango_retry": note},
            )  # fmt: skip
            if retry_waits_enabled():  # off in test suites: same retries, no sleeping
                time.sleep(wait)

    def _once(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        data: bytes | None,
        headers: dict[str, str],
        stream: bool,
        timeout: tuple[float, float] | None,
        follow_redirects: bool,
    ) -> requests.Response:
        """One HTTP exchange; requests' exceptions become ours here and only here.

        The error is raised outside the ``except`` block, chained to a scrubbed copy of requests'
        exception: the original holds the prepared request, whose headers hold the api key.
        """
        where = safe_url(url)
        try:
            return self.session.request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                stream=stream,
                timeout=timeout or self.timeout,
                # a redirect would carry the apikey header to another host: API calls never follow
                allow_redirects=follow_redirects,
            )
        except requests.exceptions.ConnectTimeout as exc:
            error: errors.TransportError = errors.RequestTimeout(
                f"connect timeout to {where}", never_sent=True
            )
            cause = self._scrubbed(exc)
        except requests.exceptions.Timeout as exc:
            error = errors.RequestTimeout(f"read timeout from {where}")
            cause = self._scrubbed(exc)
        except requests.exceptions.RequestException as exc:
            error = errors.TransportError(
                f"{type(exc).__name__} talking to {where}", never_sent=_never_sent(exc)
            )
            cause = self._scrubbed(exc)
        raise error from cause

    def _scrubbed(self, exc: requests.exceptions.RequestException) -> BaseException:
        """A copy of ``exc`` with its text redacted and no request, response or chain."""
        text = scrub_secret(str(exc), self._api_key)
        text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
        try:
            copy = type(exc)(text)
        except Exception:  # an exception type with another signature
            copy = requests.exceptions.RequestException(text)
        copy.__cause__, copy.__context__ = _os_reason(exc), None
        return copy


def _os_reason(exc: BaseException) -> OSError | None:
    """A fresh copy of the operating system's error under ``exc`` (refused, reset, DNS), if any:
    it says what went wrong on the wire and holds neither the request nor the key."""
    todo: list[Any] = [exc]
    seen: set[int] = set()
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if type(item).__module__ == "builtins" and isinstance(item, OSError):
            try:
                return type(item)(item.errno, item.strerror)
            except Exception:
                return OSError(item.errno, item.strerror)
        todo += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
    return None


_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\")]+")


def _retry_note(
    url: str, error: Exception, attempt: int, wait: float | None, elapsed: float, most: int
) -> dict[str, Any]:
    """What a retry log record carries for front ends (the CLI prints it): no credentials."""
    parts = urlsplit(url)
    host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    return {
        "host": host,
        "error": error,
        "attempt": attempt,
        "wait": wait,  # None: no more attempts
        "elapsed": elapsed,
        "max_attempts": most,
    }


def _never_sent(exc: requests.exceptions.RequestException) -> bool:
    """Whether the request surely never reached the server (no connection could be made)."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)
