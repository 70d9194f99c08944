"""What every ``ango-frames`` subcommand shares: the parser, global flags, value types, messages.

Help texts follow one pattern (``tests/unit/test_cli_flags.py`` checks it for every flag): what the
flag does, then the format of its value when it takes one, then ``(default: ...)``; a switch that
is off unless given ends with ``(default: off)``. Example::

    p.add_argument("--chunk-rows", type=positive_int, default=500, metavar="N",
                   help="labels per request (default: %(default)s)")

Flags are spelled for the shell, not for Python: errors the library raises with a Python argument
name (``ontology=``) are printed with the flag that sets it (``--project``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import json
import logging
import math
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from ango_frames.api.client import REGIONS
from ango_frames.errors import AngoError, ConfigError, RequestTimeout, TransportError, causes

__all__ = [
    "Parser",
    "RetryReporter",
    "add_global_flags",
    "describe_error",
    "json_object",
    "non_negative_int",
    "positive_int",
    "rate_limit",
    "reporting",
    "timeout",
    "when",
]

#: Spelling of a time flag's value, for help texts.
TIME_FORMAT = (
    "ISO 8601 with a zone, e.g. 2024-05-01T12:00:00Z; a bare date 2024-05-01 = midnight UTC"
)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``PROG: error: ... (see PROG --help)``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# -- value types -------------------------------------------------------------------------------


def when(text: str) -> dt.datetime:
    """An ISO 8601 time with a zone (``Z`` accepted); a bare date means midnight UTC."""
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        if len(text) == 10:  # a date
            return value.replace(tzinfo=dt.timezone.utc)
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; add Z or +HH:MM")
    return value


def json_object(text: str) -> dict[str, Any]:
    """A JSON object given on the command line."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _whole(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """A whole number >= 0."""
    return _whole(text, 0)


def positive_int(text: str) -> int:
    """A whole number >= 1."""
    return _whole(text, 1)


def timeout(text: str) -> tuple[float, float]:
    """``SECONDS`` (connect and read) or ``CONNECT,READ``; each > 0."""
    parts = text.split(",")
    if len(parts) > 2:
        raise argparse.ArgumentTypeError(f"expected SECONDS or CONNECT,READ, got {text!r}")
    values = [_number(p) for p in parts]
    if min(values) <= 0:
        raise argparse.ArgumentTypeError(f"timeouts must be > 0, got {text!r}")
    return (values[0], values[-1])


def rate_limit(text: str) -> float | None:
    """Requests a minute; 0 turns the client-side limit off (None)."""
    return _number(text) or None


# -- global flags ------------------------------------------------------------------------------

_DEBUG: list[tuple[str, dict[str, Any]]] = [
    ("--debug", dict(action="store_true", help="show tracebacks and debug logs (default: off)")),
]

_CONNECTION: list[tuple[str, dict[str, Any]]] = [
    (
        "--api-key",
        dict(metavar="KEY", help="api key (default: the ANGO_API_KEY environment variable)"),
    ),
    (
        "--region",
        dict(
            choices=sorted(REGIONS),
            default="eu",
            help="which Ango Hub server to use: " + ", ".join(sorted(REGIONS)) + " (default: eu)",
        ),
    ),
    (
        "--base-url",
        dict(
            metavar="URL",
            help="API base URL ending in /v2, e.g. a proxy or a local hub; overrides --region "
            "(default: the region's server)",
        ),
    ),
    (
        "--retries",
        dict(
            type=non_negative_int,
            default=5,
            metavar="N",
            help="retries of a request after a 429, a 5xx or a connection error, with backoff; "
            "0 = no retries (default: 5)",
        ),
    ),
    (
        "--timeout",
        dict(
            type=timeout,
            default=(10.0, 120.0),
            metavar="SECONDS",
            help="how long to wait for the hub: SECONDS for both, or CONNECT,READ "
            "(default: 10,120)",
        ),
    ),
    (
        "--rate-limit",
        dict(
            type=rate_limit,
            default=100.0,
            metavar="PER_MINUTE",
            help="client-side limit of requests per minute; 0 = no limit "
            "(default: 100, the standard plan)",
        ),
    ),
    (
        "--allow-insecure-http",
        dict(
            action="store_true",
            help="allow plain http to a host that is not loopback; the api key then crosses the "
            "network in clear (default: off)",
        ),
    ),
]


def add_global_flags(
    parser: argparse.ArgumentParser, *, connection: bool, top: bool = False
) -> None:
    """Add the global flags to the top parser (``top=True``, with defaults) or to a subcommand.

    A subcommand's copies default to ``argparse.SUPPRESS``, so a flag given before the
    subcommand is not overwritten by the subcommand's default: ``ango-frames --debug export ...``
    and ``ango-frames export ... --debug`` mean the same.
    """
    groups = [("options", _DEBUG)] + ([("connection", _CONNECTION)] if connection else [])
    for title, flags in groups:
        group = parser.add_argument_group(title) if title == "connection" else parser
        for flag, spec in flags:
            kwargs = dict(spec)
            if not top:
                kwargs["default"] = argparse.SUPPRESS
            group.add_argument(flag, **kwargs)


# -- messages ----------------------------------------------------------------------------------

#: Python argument spellings in library messages -> the flag that sets them.
_FLAG_FOR = [
    ("pass ontology= (the project, or its categorySchema)", "pass --project"),
    ("need ontology=", "need --project"),
    ("allow_insecure_http=True", "--allow-insecure-http"),
    ("rate_limit", "--rate-limit"),
]


def _reason(exc: BaseException) -> str:
    """What went wrong on the wire, in a few words (``connection refused``), or ``str(exc)``."""
    for item in causes(exc):
        if (
            isinstance(item, ConnectionRefusedError)
            or getattr(item, "errno", 0) == errno.ECONNREFUSED
        ):
            return "connection refused"
        if isinstance(item, socket.gaierror):
            return "host name not found"
        if isinstance(item, ConnectionResetError):
            return "connection reset by the server"
    if isinstance(exc, RequestTimeout):
        return str(exc).split(" ", 1)[0] + " timeout"
    return str(exc)


def _attempts(exc: BaseException, reporter: RetryReporter | None) -> dict[str, Any] | None:
    """The transport's give-up note for ``exc`` (None when ``exc`` did not come from there)."""
    note = reporter.last if reporter is not None else None
    return note if note is not None and note.get("error") is exc else None


def describe_error(exc: BaseException, reporter: RetryReporter | None = None) -> str:
    """The one line ``ango-frames`` prints for an error (without the ``ango-frames:`` prefix)."""
    note = _attempts(exc, reporter)
    tries = ""
    if note is not None:
        n = note["attempt"]
        tries = f" ({n} attempt{'s' if n != 1 else ''} in {note['elapsed']:.0f} s)"
    if isinstance(exc, TransportError):
        host = note["host"] if note is not None else "the hub"
        if isinstance(exc, RequestTimeout) and not exc.never_sent:
            verb = "no answer from"
        elif exc.never_sent:
            verb = "could not connect to"
        else:
            verb = "lost the connection to"
        return f"{verb} {host}: {_reason(exc)}{tries}"
    text = str(exc)
    if isinstance(exc, ConfigError):
        for python, flag in _FLAG_FOR:
            text = text.replace(python, flag)
    return text + tries


class RetryReporter(logging.Handler):
    """Prints the transport's retry notices on stderr and keeps the last one for the error line."""

    def __init__(self, write: Callable[[str], Any]) -> None:
        super().__init__(logging.DEBUG)  # the give-up note is a debug record
        self.write = write
        self.last: dict[str, Any] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        note = getattr(record, "ango_retry", None)
        if note is None:
            if record.levelno >= logging.WARNING:
                self.write(f"ango-frames: warning: {record.getMessage()}")
            return
        self.last = note
        if note.get("wait") is not None:
            self.write(
                f"ango-frames: {note['host']}: {_reason(note['error'])}; retrying in "
                f"{note['wait']:.1f} s (attempt {note['attempt'] + 1} of {note['max_attempts']})"
            )


def _write_stderr(line: str) -> None:
    try:
        from tqdm import tqdm

        tqdm.write(line, file=sys.stderr)
    except ImportError:  # pragma: no cover - tqdm is a core dependency
        print(line, file=sys.stderr)


@contextmanager
def reporting(debug: bool) -> Iterator[RetryReporter]:
    """Route the library's log for one command: retries and warnings as short stderr lines."""
    logger = logging.getLogger("ango_frames")
    reporter = RetryReporter(_write_stderr)
    saved = (logger.level, logger.propagate)
    if debug:
        logging.basicConfig(level=logging.DEBUG)
        logger.setLevel(logging.DEBUG)
    else:  # only this handler: retry notes (debug and info records) and warnings
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
    logger.addHandler(reporter)
    try:
        yield reporter
    finally:
        logger.removeHandler(reporter)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def fail(exc: AngoError | OSError, reporter: RetryReporter | None = None) -> str:
    """``ango-frames: error: ...`` for an error (used by ``main``)."""
    return f"ango-frames: error: {describe_error(exc, reporter)}"
