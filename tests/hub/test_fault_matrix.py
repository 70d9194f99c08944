"""The fault matrix: every endpoint against every way a network or a rate-limited service fails.

Each case runs one client operation against the local hub with a fault injected and asserts one
of two outcomes: the operation recovers (and a POST was applied exactly once), or it ends in the
documented typed error. ``tests/test_client_hub.py`` covers the single cases it already has
(expired links, truncation and corruption on both attempts); this file covers the rest.
"""

from __future__ import annotations

import email.utils
import glob
import os
import socket
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any

import fsspec
import pytest
import requests

from ango_frames import errors
from ango_frames.api.client import Client
from ango_frames.api.transport import RetryPolicy
from ango_frames.export.records import iter_records
from ango_frames.testing import LocalHub

ATTEMPTS = 3
READ_TIMEOUT = 0.15
RETRY = RetryPolicy(max_attempts=ATTEMPTS, backoff_base=0.005, backoff_max=0.02)
ENDPOINTS = ["export", "download", "import_labels", "attachments", "annotate", "project"]
POSTS = {"import_labels", "attachments", "annotate"}
# what a fault that never stops becomes, per endpoint (a download's failure is always this one)
_DOWNLOAD = errors.ExportDownloadError


@pytest.fixture(scope="module")
def hub():
    with LocalHub(demo=False) as h:
        h.pid = h.add_project("fault matrix")
        yield h


@pytest.fixture
def client(hub):
    hub.faults.clear()
    with Client(
        base_url=hub.url, api_key=hub.api_key, timeout=(2, READ_TIMEOUT), retry=RETRY,
        rate_limit=None,
    ) as c:  # fmt: skip
        yield c
    hub.faults.clear()


@dataclass
class Outcome:
    """What one operation did: its value, and how often the hub applied it (POSTs)."""

    value: Any
    applied: int | None = None


class Op:
    """One client operation on a fresh asset of the shared hub."""

    def __init__(self, hub: LocalHub, client: Client, endpoint: str, tmp: str) -> None:
        self.hub, self.client, self.endpoint, self.tmp = hub, client, endpoint, tmp
        self.asset = hub.add_asset(hub.pid, f"{endpoint}-{uuid.uuid4().hex[:8]}.jpg")
        self.key = uuid.uuid4().hex

    def run(self, *, keyed: bool = True) -> Outcome:
        hub, client, asset = self.hub, self.client, self.asset
        key = self.key if keyed else None
        if self.endpoint == "project":
            return Outcome(client.get_project(hub.pid)["_id"])
        if self.endpoint == "export":
            url, _ = client.export_url(hub.pid, format="ndjson")
            return Outcome(url)
        if self.endpoint == "download":
            export = client.export(hub.pid, format="ndjson", dest=f"{self.tmp}/e.zip")
            return Outcome(export)
        if self.endpoint == "import_labels":
            label = {"assetId": asset.id, "answer": {"objects": [], "classifications": []}}
            reply = client.import_labels_request(hub.pid, [label], idempotency_key=key)
            return Outcome(reply["data"]["project"], hub.applications(asset.id))
        if self.endpoint == "attachments":
            item = {"assetId": asset.id, "attachmentUrl": "https://files.example.org/a.pdf"}
            reply = client.import_attachments_request(hub.pid, [item], idempotency_key=key)
            return Outcome(reply["data"]["project"], len(hub.attachments(asset.id)))
        reply = client.annotate_request(
            asset.task.id, {"objects": [], "classifications": []}, idempotency_key=key
        )
        return Outcome(reply["data"]["label"]["_id"], hub.applications(asset.id))

    def check(self, out: Outcome) -> None:
        """The recovered value is the right one, and a POST was applied exactly once."""
        hub = self.hub
        if self.endpoint == "project":
            assert out.value == hub.pid
        elif self.endpoint == "export":
            assert out.value.rsplit("/", 1)[1][:-4] in hub.exports
        elif self.endpoint == "download":
            token = hub.downloads[-1].token
            with fsspec.open(out.value.path, "rb") as f:
                assert f.read() == hub.exports[token]
            ids = {r["externalId"] for r in iter_records(out.value)}
            assert self.asset.external_id in ids
        elif self.endpoint == "import_labels":
            assert out.value == "1 / 1 tasks are labeled." and out.applied == 1
        elif self.endpoint == "attachments":
            assert out.value == {"attachmentsImported": 1, "assetsUpdated": 1}
            assert out.applied == 1
        else:
            assert out.value == self.asset.task.id and out.applied == 1


@pytest.fixture
def op(hub, client, tmp_path, request):
    return Op(hub, client, request.param, str(tmp_path))


# ------------------------------------------------------------------------------ transient faults
# fewer failures in a row than the retry policy has attempts: every operation recovers

TRANSIENT = {
    "429 with Retry-After": ("429", {"retry_after": 0.05}, 2),
    "429 without Retry-After": ("429", {}, 2),
    "429 with an unreadable Retry-After": ("429", {"retry_after": "soon-ish"}, 1),
    "500 burst": ("500", {}, ATTEMPTS - 1),
    "502 burst": ("502", {}, ATTEMPTS - 1),
    "503 burst": ("503", {}, ATTEMPTS - 1),
    "drop before applying": ("drop_before", {}, 2),
    "drop after applying": ("drop_after", {}, 2),
    "read timeout (stall)": ("stall", {"seconds": 0.5}, 1),
    "latency": ("latency", {"seconds": 0.1}, 1),
}


@pytest.mark.parametrize("op", ENDPOINTS, indirect=True)
@pytest.mark.parametrize("name", list(TRANSIENT))
def test_transient_faults_recover(hub, op, name, request):
    kind, opts, count = TRANSIENT[name]
    if kind == "429" and "retry_after" in opts:
        request.getfixturevalue("real_retry_waits")  # the wait itself is under test
    hub.faults.add(op.endpoint, kind, count=count, **opts)
    started = time.monotonic()
    out = op.run()
    op.check(out)
    assert hub.faults.pending == []  # every fault fired: the recovery was real
    if kind == "429" and "retry_after" in opts and opts["retry_after"] != "soon-ish":
        assert time.monotonic() - started >= 0.05  # the Retry-After was honoured
    assert not hub.errors


# ------------------------------------------------------------------------------ lasting faults
# the fault outlasts the retry policy: the documented typed error, nothing applied twice

LASTING = {
    "429 forever": ("429", {}, errors.RateLimited),
    "500 forever": ("500", {}, errors.ServerError),
    "503 forever": ("503", {}, errors.ServerError),
    "drop before forever": ("drop_before", {}, errors.TransportError),
    "drop after forever": ("drop_after", {}, errors.TransportError),
    "read timeout forever": ("stall", {"seconds": 0.5}, errors.RequestTimeout),
}


@pytest.mark.parametrize("op", ENDPOINTS, indirect=True)
@pytest.mark.parametrize("name", list(LASTING))
def test_lasting_faults_end_in_the_typed_error(hub, op, name):
    kind, opts, expected = LASTING[name]
    hub.faults.add(op.endpoint, kind, count=None, **opts)
    seen, downloads = len(hub.requests), len(hub.downloads)
    with pytest.raises(errors.AngoError) as info:
        op.run()
    err = info.value
    if op.endpoint == "download":
        assert type(err) is _DOWNLOAD
        assert isinstance(err.__cause__, expected)  # the transport's error, kept as the cause
        assert len(hub.downloads) - downloads == 2 * ATTEMPTS  # all attempts, two fresh links
    else:
        assert type(err) is expected
        fired = [r for r in hub.requests[seen:] if r.path.endswith(_path_tail(op))]
        assert len(fired) == ATTEMPTS
    if isinstance(err, errors.ApiError):
        assert err.status == int(kind) and err.path.startswith("/v2/")
    if op.endpoint in POSTS:
        hub.faults.clear()
        after = op.run()  # the same idempotency key: applied at most once in total
        assert after.applied == 1


def _path_tail(op: Op) -> str:
    return {
        "project": f"/project/{op.hub.pid}",
        "export": "/export",
        "import_labels": "/import/labels",
        "attachments": "/attachments",
        "annotate": f"/annotate/{op.asset.task.id}",
    }[op.endpoint]


def test_retry_after_as_an_http_date_is_honoured(hub, client, real_retry_waits):
    # whole seconds: 1.5 s ahead is at least 0.5 s of waiting
    hub.faults.add(
        "project", "429", retry_after=email.utils.formatdate(time.time() + 1.5, usegmt=True)
    )
    started = time.monotonic()
    assert client.get_project(hub.pid)["_id"] == hub.pid
    assert 0.4 <= time.monotonic() - started < 2


def test_retry_after_longer_than_the_budget_is_not_waited_for(hub, client):
    client.transport.retry = RetryPolicy(max_attempts=5, max_total_seconds=2)
    hub.faults.add("project", "429", retry_after=3600)
    started = time.monotonic()
    with pytest.raises(errors.RateLimited) as info:
        client.get_project(hub.pid)
    assert info.value.retry_after == 3600 and time.monotonic() - started < 1


# ------------------------------------------------------------------------------ unkeyed POSTs


@pytest.mark.parametrize("op", sorted(POSTS), indirect=True)
@pytest.mark.parametrize("kind", ["drop_after", "stall"])
def test_unkeyed_post_that_may_have_been_applied_is_not_repeated(hub, op, kind):
    # Without an Idempotency-Key the hub cannot tell a retry from a new request: after a dropped
    # connection or a read timeout the request may have been applied, so it is not sent again.
    hub.faults.add(op.endpoint, kind, count=1, **({"seconds": 0.5} if kind == "stall" else {}))
    with pytest.raises(errors.TransportError):
        op.run(keyed=False)
    time.sleep(0.05 if kind != "stall" else 0)
    applied = op.hub.applications(op.asset.id)
    if op.endpoint == "attachments":
        applied = len(op.hub.attachments(op.asset.id))
    assert applied == 1  # applied once by the hub, never twice


@pytest.mark.parametrize("op", sorted(POSTS), indirect=True)
def test_unkeyed_post_is_retried_on_status_errors(hub, op):
    # a 5xx / 429 answer says the hub did not apply the request: safe to repeat even unkeyed
    hub.faults.add(op.endpoint, "503")
    hub.faults.add(op.endpoint, "429")
    out = op.run(keyed=False)
    assert out.applied == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_connection_refused_is_retried_then_a_transport_error(method):
    # nothing listens: the request never left, so even an unkeyed POST is retried
    port = _closed_port()
    client = Client(base_url=f"http://127.0.0.1:{port}/v2", api_key="k", retry=RETRY,
                    rate_limit=None)  # fmt: skip
    started = time.monotonic()
    with pytest.raises(errors.TransportError) as info:
        if method == "GET":
            client.get_project("p")
        else:
            client.post("attachments", {"project": "p", "attachments": []})
    assert not isinstance(info.value, errors.RequestTimeout)
    assert info.value.never_sent is True
    assert isinstance(info.value.__cause__, requests.exceptions.ConnectionError)
    assert time.monotonic() - started < 2


# ------------------------------------------------------------------------------ downloads


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """A temp dir of this test only: other processes' exports do not show up in it."""
    path = tmp_path / "tmp"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


def _temp_exports() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "ango-export-*")))


@pytest.mark.parametrize(
    ("kind", "opts"),
    [
        ("truncate", {}),
        ("truncate", {"content_length": "missing", "keep": 0.9}),
        ("corrupt", {"nbytes": 64, "at": 0.3}),
        ("expire", {}),
        ("drop_before", {}),
    ],
)
def test_one_bad_download_recovers_with_a_fresh_link_and_leaves_no_file(
    hub, client, kind, opts, private_tmp
):
    before = _temp_exports()
    hub.faults.add("download", kind, **opts)
    export = client.export(hub.pid, format="ndjson")
    with fsspec.open(export.path, "rb") as f:
        assert f.read() == hub.exports[hub.downloads[-1].token]
    assert _temp_exports() - before == {export.path}  # the broken attempt's file is gone
    os.remove(export.path)


@pytest.mark.parametrize("kind", ["truncate", "corrupt", "expire"])
def test_failed_download_leaves_no_partial_file(hub, client, kind, tmp_path, private_tmp):
    before = _temp_exports()
    hub.faults.add("download", kind, count=2)
    with pytest.raises(errors.ExportDownloadError):
        client.export(hub.pid)
    assert _temp_exports() == before
    hub.faults.add("download", kind, count=2)
    dest = tmp_path / "export.zip"
    with pytest.raises(errors.ExportDownloadError):
        client.export(hub.pid, dest=str(dest))
    assert not dest.exists()  # nothing that looks like an export but is not one


def test_slow_download_completes_intact(hub, client, private_tmp):
    for i in range(40):  # a bigger export, so the throttle matters
        hub.add_asset(hub.pid, f"slow-{i:03d}.jpg", metadata={"pad": "x" * 500})
    url, _ = client.export_url(hub.pid)
    size = len(hub.exports[url.rsplit("/", 1)[1][:-4]])
    rate = max(1, size * 3)  # about a third of a second in all, chunks every 50 ms
    hub.faults.add("download", "slow", bytes_per_second=rate)
    started = time.monotonic()
    export = client.export(hub.pid)
    assert time.monotonic() - started >= 0.25
    with zipfile.ZipFile(export.path) as zf:
        assert zf.testzip() is None
    assert export.size == len(hub.exports[hub.downloads[-1].token])
    os.remove(export.path)


def test_slow_download_slower_than_the_read_timeout_is_a_typed_error(hub, client, private_tmp):
    before = _temp_exports()
    hub.faults.add("download", "stall", seconds=1.0, count=None)
    with pytest.raises(errors.ExportDownloadError) as info:
        client.export(hub.pid)
    assert isinstance(info.value.__cause__, errors.RequestTimeout)
    assert _temp_exports() == before


def test_export_that_changes_between_calls_gives_one_consistent_snapshot(hub, client, tmp_path):
    """The first link expires; while it is re-requested the project changes. The file holds the
    second snapshot, whole: not a mix, not the stale one."""
    asset = hub.add_asset(hub.pid, "changing.jpg")
    box = {
        "schemaId": "s-1",
        "title": "car",
        "bounding-box": {"x": 1, "y": 2, "width": 3, "height": 4},
    }

    downloads = len(hub.downloads)
    replies: list[requests.Response] = []

    def change_once_the_first_download_failed() -> None:
        deadline = time.monotonic() + 5
        while len(hub.downloads) == downloads and time.monotonic() < deadline:
            time.sleep(0.005)
        replies.append(
            requests.post(
                f"{hub.url}/import/labels",
                json={
                    "project": hub.pid,
                    "labels": [{"assetId": asset.id, "answer": {"objects": [box]}}],
                },
                headers={"apikey": hub.api_key},
                timeout=5,
            )
        )

    client.transport.timeout = (2, 5)  # the latency below is no read timeout
    hub.faults.add("download", "expire")
    hub.faults.add("export", "latency", seconds=0.3, count=2)  # the change lands before the 2nd
    changer = threading.Thread(target=change_once_the_first_download_failed)
    changer.start()
    export = client.export(hub.pid, format="ndjson", dest=str(tmp_path / "e.zip"))
    changer.join()
    assert [r.status_code for r in replies] == [200]
    first, second = list(hub.exports.values())[-2:]
    assert first != second
    with fsspec.open(export.path, "rb") as f:
        assert f.read() == second and export.size == len(second)
    records = {r["externalId"]: r for r in iter_records(export)}
    assert len(records["changing.jpg"]["task"]["tools"]) == 1
    assert hub.applications(asset.id) == 1
