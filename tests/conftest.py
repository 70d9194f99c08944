"""Shared fixtures: a local hub on 127.0.0.1 and clients that talk to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ango_frames.api.client import Client
from ango_frames.api.transport import RetryPolicy
from ango_frames.testing import LocalHub

#: The published samples, kept in the repository as the project's own fixtures.
SAMPLES = Path(__file__).resolve().parent / "data" / "samples"

FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_max=0.05)


@pytest.fixture(scope="module")
def shared_hub():
    """One demo hub per test module, for tests that only read."""
    with LocalHub() as hub:
        yield hub


@pytest.fixture
def hub():
    """A fresh demo hub for tests that change state or inject faults."""
    with LocalHub() as hub:
        yield hub


def make_client(hub: LocalHub, **kw) -> Client:
    kw.setdefault("retry", FAST_RETRY)
    kw.setdefault("rate_limit", None)
    return Client(base_url=hub.url, api_key=hub.api_key, **kw)


@pytest.fixture
def client(hub):
    with make_client(hub) as c:
        yield c


@pytest.fixture
def samples() -> Path:
    assert SAMPLES.is_dir(), SAMPLES
    return SAMPLES
