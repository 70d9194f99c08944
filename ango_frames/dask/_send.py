"""The sending side of ``ango_frames.dask.import_labels``: clients, the global bucket, one chunk.

Workers build their own ``Client`` from a :class:`ClientSpec` (plain keyword arguments or a
picklable factory; no live session crosses the network) and hook the cluster's one
:class:`TokenBucket` (a Dask actor) into its transport, so every HTTP attempt, retries included,
takes a token from it. The api key travels inside the task's arguments wrapped so that its repr
is ``***``; :func:`send_chunk` never raises, so no failed task and its arguments are logged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from ango_frames.api.ratelimit import TokenBucket as SharedBucket
from ango_frames.errors import AngoError, AuthError, ConfigError
from ango_frames.imports.delivery import post_chunk

__all__ = ["ClientSpec", "TokenBucket", "chunk_items", "close_clients", "send_chunk"]


class ClientSpec:
    """How a worker makes its client: ``Client(**kwargs)`` or ``factory()``. Repr hides secrets."""

    def __init__(self, spec: Mapping[str, Any] | Callable[[], Any]) -> None:
        if callable(spec):
            self.kwargs: dict[str, Any] | None = None
            self.factory: Callable[[], Any] | None = spec
        elif isinstance(spec, Mapping):
            self.kwargs, self.factory = dict(spec), None
        else:
            raise ConfigError(
                "pass the client as plain keyword arguments (dict(base_url=..., api_key=...)) "
                f"or a picklable factory, not a {type(spec).__name__}: a live session cannot "
                "be shipped to the workers"
            )
        if hasattr(spec, "post") and hasattr(spec, "transport"):
            raise ConfigError("pass Client keyword arguments or a factory, not a live Client")

    def __repr__(self) -> str:
        if self.kwargs is None:
            return "ClientSpec(factory=...)"
        shown = {k: ("***" if "key" in k.lower() else v) for k, v in self.kwargs.items()}
        return f"ClientSpec({shown!r})"

    def make(self, limiter: Any) -> Any:
        """A new client whose every HTTP attempt first takes a token from ``limiter``."""
        if self.factory is not None:
            client = self.factory()
        else:
            from ango_frames.api.client import Client

            client = Client(**{**(self.kwargs or {}), "rate_limit": None})
        transport = getattr(client, "transport", None)
        if limiter is not None and transport is not None and hasattr(transport, "limiter"):
            transport.limiter = limiter
            client._ango_limited = True
        return client


class TokenBucket(SharedBucket):
    """The cluster's one rate limit: lives in one worker as a Dask actor, hands out reservations.

    The same bucket the client's transport uses; the actor only reserves (never sleeps), the
    caller naps for the wait it is given.
    """

    def __init__(self, per_minute: float, burst: int) -> None:
        super().__init__(per_minute, burst, name="requests_per_minute")

    def count(self) -> int:
        """Tokens handed out so far (one per HTTP attempt)."""
        return self.granted


class _ClusterLimiter:
    """What the transport calls before each attempt: a reservation from the actor, then a nap."""

    def __init__(self, bucket: Any) -> None:
        self.bucket = bucket

    def acquire(self) -> float:
        wait = float(self.bucket.reserve().result())
        if wait > 0:
            time.sleep(wait)
        return wait


_CLIENTS: dict[tuple[str, int], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def _client_for(run: str, spec: ClientSpec, bucket: Any) -> Any:
    """One client per worker thread per import run (a requests session is not shared)."""
    slot = (run, threading.get_ident())
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(slot)
    if client is None:
        client = spec.make(_ClusterLimiter(bucket))
        with _CLIENTS_LOCK:
            _CLIENTS[slot] = client
    return client


def close_clients(run: str) -> int:
    with _CLIENTS_LOCK:
        slots = [s for s in _CLIENTS if s[0] == run]
        clients = [_CLIENTS.pop(s) for s in slots]
    for client in clients:
        close = getattr(client, "close", None)
        if close is not None:
            close()
    return len(clients)


def send_chunk(
    plan: Any, index: int, run: str, spec: ClientSpec, bucket: Any, key: str | None = None
) -> tuple:
    """Send chunk ``index`` of a partition's plan: (parsed reply or None, error text or None,
    was it an AuthError). The reply is read on the client machine, like a local import's.

    Never raises, so no task (and its arguments) ends up in a worker log.
    """
    chunk = plan.chunks[index]
    try:
        client = _client_for(run, spec, bucket)
        if not getattr(client, "_ango_limited", False):
            _ClusterLimiter(bucket).acquire()  # a factory's client we cannot hook: one token
        answer = post_chunk(client, chunk, key or chunk.key)
    except AngoError as exc:
        return None, f"{type(exc).__name__}: {exc}", isinstance(exc, AuthError)
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}", False
    return answer, None, False


def chunk_items(plan: Any, index: int) -> Any:
    """The items of one chunk of a partition's plan (for verification on the client machine)."""
    return plan.chunks[index].items
