"""Shared fixtures: a local hub on 127.0.0.1 and clients that talk to it.

Two session-wide rules: retries do not sleep in back-off (``ANGO_FRAMES_NO_RETRY_WAIT=1``, also
inherited by the CLI and notebook subprocesses), and the suite runs with its own ``$TMPDIR``,
which must hold no export temporary file when the session ends.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from ango_frames.api.download import TEMP_PREFIX
from ango_frames.api.transport import NO_RETRY_WAIT_ENV

os.environ[NO_RETRY_WAIT_ENV] = "1"
SESSION_TMP = Path(tempfile.mkdtemp(prefix="ango-frames-tests-"))
os.environ["TMPDIR"] = str(SESSION_TMP)
tempfile.tempdir = str(SESSION_TMP)

from ango_frames.api.client import Client  # noqa: E402
from ango_frames.api.transport import RetryPolicy, set_retry_waits  # noqa: E402
from ango_frames.testing import LocalHub  # noqa: E402

#: The published samples, kept in the repository as the project's own fixtures.
SAMPLES = Path(__file__).resolve().parent / "data" / "samples"

FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_max=0.05)


def export_leftovers(root: Path) -> list[str]:
    """Export temporary files (and download parts) anywhere under ``root``."""
    return sorted(str(p.relative_to(root)) for p in root.rglob(f"*{TEMP_PREFIX}*"))


@pytest.fixture(scope="session", autouse=True)
def no_export_files_left_behind():
    """The suite as a whole leaves no export temp file in its $TMPDIR (CLI, demo, notebooks)."""
    yield
    gc.collect()  # exports nobody holds any more delete their files now
    left = export_leftovers(SESSION_TMP)
    shutil.rmtree(SESSION_TMP, ignore_errors=True)
    assert not left, f"the test session left export temporary files behind: {left}"


@pytest.fixture
def real_retry_waits():
    """For the tests that check a back-off or Retry-After is really waited for."""
    set_retry_waits(True)
    yield
    set_retry_waits(None)


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
