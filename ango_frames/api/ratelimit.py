"""The one token bucket: the client's rate limit and the Dask cluster's shared limit use it."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from ango_frames.errors import ConfigError

__all__ = ["TokenBucket", "check_rate"]


def check_rate(value: object, name: str) -> float:
    """``value`` as a positive, finite rate (requests a minute), or a ConfigError naming the fix."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        value_ok = False
    else:
        value_ok = math.isfinite(value) and value > 0
    if not value_ok:
        raise ConfigError(
            f"{name} must be a positive, finite number of requests per minute, got {value!r}; "
            f"pass e.g. {name}=100, or {name}=None to turn the client-side limit off"
        )
    return float(value)  # type: ignore[arg-type]


class TokenBucket:
    """A thread-safe token bucket: ``per_minute`` tokens a minute, bursts of ``burst``.

    :meth:`reserve` takes one token at once and says how long the caller must wait before using
    it (so a remote bucket, a Dask actor, never sleeps itself); :meth:`acquire` also sleeps.
    """

    def __init__(
        self,
        per_minute: float,
        burst: int = 10,
        *,
        clock: Callable[[], float] = time.monotonic,
        name: str = "rate_limit",
    ) -> None:
        per_minute = check_rate(per_minute, name)
        self.rate = per_minute / 60.0
        self.capacity = float(max(1, min(burst, int(per_minute))))
        self.tokens = self.capacity
        self.granted = 0
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token now; the seconds the caller must wait before using it."""
        with self._lock:
            now = self._clock()
            self.tokens = min(self.capacity, self.tokens + (now - self._last) * self.rate)
            self._last = now
            self.tokens -= 1.0
            self.granted += 1
            return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def acquire(self) -> float:
        """Take one token, sleeping until it is free; returns the seconds slept."""
        wait = self.reserve()
        if wait:
            time.sleep(wait)
        return wait
