"""Fault injection for the local hub: make the next requests fail the ways real networks do.

::

    hub.faults.add("import_labels", "503", count=2)      # the next two imports get a 503
    hub.faults.add("export", "429", retry_after=1.5)      # one 429 with Retry-After: 1.5
    hub.faults.add("download", "truncate")                 # one cut download
    hub.faults.fail_ratio("import_labels", 0.2, seed=7)   # 20% of imports fail, repeatably
    hub.faults.clear()

Endpoints: ``export``, ``import_labels``, ``attachments``, ``annotate``, ``project``, ``task``,
``download`` and ``*`` (any of them). Kinds:

``429`` (opt ``retry_after``: seconds for the Retry-After header, a string sent verbatim (an
HTTP date, or garbage), or None for no header),
``500`` / ``502`` / ``503`` (a fail envelope with that status; nothing applied),
``latency`` (opt ``seconds``: delay, then answer normally),
``stall`` (opt ``seconds``: sleep before handling, then handle and answer normally: a client with
a shorter read timeout gives up while the request is still pending),
``drop_before`` (close the connection without answering; nothing applied),
``drop_after`` (apply the request, then close without answering: the case idempotency keys are for),
and, for ``download`` only:
``truncate`` (opts ``keep``: fraction of the bytes sent, default 0.5; ``content_length``:
``"full"`` (default) announces the whole size and closes early, so HTTP clients see an incomplete
read, ``"missing"`` sends no Content-Length and closes, so only the zip check can tell),
``corrupt`` (the full length with ``nbytes`` bytes (default 16) flipped at ``at`` (fraction,
default 0.5) of the file), ``expire`` (403 with the XML body of an expired pre-signed link),
``slow`` (opt ``bytes_per_second``, default 65536), ``endless`` (no Content-Length, the zip's
bytes repeated without end at ``bytes_per_second``, default 1 MiB/s: only a size cap or a
deadline ends it), ``gzip`` (the zip served with ``Content-Encoding: gzip``), ``redirect``
(a 302 to opt ``location``, default a plain-http link on a non-loopback host),
and, for ``export`` only:
``shared_file`` (every export of a project is written to one file behind one link, as the real
hub does: a second export overwrites the first before it is downloaded; use ``count=None``).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from ango_frames.errors import ConfigError

__all__ = ["ENDPOINTS", "KINDS", "Fault", "FaultPlan"]

ENDPOINTS = (
    "export",
    "import_labels",
    "attachments",
    "annotate",
    "project",
    "task",
    "download",
    "*",
)
DOWNLOAD_KINDS = ("truncate", "corrupt", "expire", "slow", "endless", "gzip", "redirect")
EXPORT_KINDS = ("shared_file",)
KINDS = (
    "429",
    "500",
    "502",
    "503",
    "latency",
    "stall",
    "drop_before",
    "drop_after",
    *DOWNLOAD_KINDS,
    *EXPORT_KINDS,
)
_DEFAULTS: dict[str, dict[str, Any]] = {
    "429": {"retry_after": None},
    "latency": {"seconds": 0.2},
    "stall": {"seconds": 5.0},
    "truncate": {"keep": 0.5, "content_length": "full"},
    "corrupt": {"nbytes": 16, "at": 0.5},
    "slow": {"bytes_per_second": 65536},
    "endless": {"bytes_per_second": 1 << 20},
    "redirect": {"location": "http://downloads.example.com/export.zip"},
}
_ALLOWED_OPTS: dict[str, set[str]] = {kind: set(opts) for kind, opts in _DEFAULTS.items()}


@dataclass
class Fault:
    """One rule: fire ``kind`` on the next ``remaining`` requests to ``endpoint`` (None: forever).

    With ``ratio`` the rule fires on each matching request with that probability, drawn from a
    generator seeded with ``seed``: the same sequence of requests fails the same way every run.
    """

    endpoint: str
    kind: str
    remaining: int | None = 1
    ratio: float | None = None
    seed: int = 0
    opts: dict[str, Any] = field(default_factory=dict)
    fired: int = 0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def option(self, name: str) -> Any:
        return self.opts.get(name, _DEFAULTS.get(self.kind, {}).get(name))


class FaultPlan:
    """The faults a hub will inject; thread-safe. ``hub.faults`` is one of these."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []

    def add(
        self,
        endpoint: str,
        kind: str,
        count: int | None = 1,
        *,
        ratio: float | None = None,
        seed: int = 0,
        **opts: Any,
    ) -> Fault:
        """Inject ``kind`` into the next ``count`` requests to ``endpoint`` (see module doc).

        Raises
        ------
        ConfigError
            Unknown endpoint, kind or option; a download-only kind on another endpoint;
            ``count`` < 1; ``ratio`` outside (0, 1].
        """
        if endpoint not in ENDPOINTS:
            raise ConfigError(f"unknown fault endpoint {endpoint!r}; use one of {ENDPOINTS}")
        kind = str(kind)
        if kind not in KINDS:
            raise ConfigError(f"unknown fault kind {kind!r}; use one of {KINDS}")
        if kind in DOWNLOAD_KINDS and endpoint != "download":
            raise ConfigError(f"fault kind {kind!r} applies to the 'download' endpoint only")
        if kind in EXPORT_KINDS and endpoint != "export":
            raise ConfigError(f"fault kind {kind!r} applies to the 'export' endpoint only")
        unknown = set(opts) - _ALLOWED_OPTS.get(kind, set())
        if unknown:
            raise ConfigError(f"fault {kind!r} takes no option(s) {sorted(unknown)}")
        if count is not None and count < 1:
            raise ConfigError("count must be at least 1, or None for no limit")
        if ratio is not None and not 0 < ratio <= 1:
            raise ConfigError("ratio must be in (0, 1]")
        if kind == "truncate" and opts.get("content_length", "full") not in ("full", "missing"):
            raise ConfigError("truncate: content_length is 'full' or 'missing'")
        rule = Fault(endpoint, kind, count, ratio, seed, dict(opts))
        with self._lock:
            self._rules.append(rule)
        return rule

    def fail_ratio(
        self, endpoint: str, ratio: float, kind: str = "500", *, seed: int = 0, **opts: Any
    ) -> Fault:
        """Fail a seeded, repeatable ``ratio`` of the requests to ``endpoint``, until cleared."""
        return self.add(endpoint, kind, None, ratio=ratio, seed=seed, **opts)

    def clear(self) -> None:
        """Remove every rule: the hub behaves normally again."""
        with self._lock:
            self._rules.clear()

    @property
    def pending(self) -> list[Fault]:
        """The rules that can still fire."""
        with self._lock:
            return list(self._rules)

    def take(self, endpoint: str) -> Fault | None:
        """The fault to inject into this request to ``endpoint``, if any (consumes one use)."""
        with self._lock:
            for rule in self._rules:
                if rule.endpoint not in ("*", endpoint):
                    continue
                if rule.kind in DOWNLOAD_KINDS and endpoint != "download":
                    continue
                if rule.kind in EXPORT_KINDS and endpoint != "export":
                    continue
                if rule.ratio is not None and rule._rng.random() >= rule.ratio:
                    continue
                rule.fired += 1
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                return rule
        return None
