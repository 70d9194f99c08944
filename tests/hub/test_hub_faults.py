"""Fault injection on the local hub: each kind, counts, ratios, and what is (not) applied."""

from __future__ import annotations

import contextlib
import io
import time
import zipfile

import pytest
import requests

from ango_frames.errors import ConfigError
from ango_frames.testing import LocalHub


@pytest.fixture()
def hub():
    with LocalHub(demo=False, api_key="k") as h:
        pid = h.add_project("p")
        h.add_asset(pid, "a.jpg")
        h.pid = pid
        yield h


def _import(hub, key=None, timeout=5.0):
    headers = {"apikey": "k"}
    if key:
        headers["Idempotency-Key"] = key
    body = {"project": hub.pid, "labels": [{"externalId": "a.jpg", "answer": {"objects": []}}]}
    return requests.post(f"{hub.url}/import/labels", json=body, headers=headers, timeout=timeout)


def _export_url(hub):
    r = requests.get(
        f"{hub.url}/export", params={"project": hub.pid}, headers={"apikey": "k"}, timeout=5
    )
    assert r.status_code == 200
    url = r.json()["data"]["exportPath"]
    return url, hub.exports[url.rsplit("/", 1)[1][:-4]]


@pytest.mark.parametrize("status", ["500", "502", "503"])
def test_server_errors_fire_count_times_and_apply_nothing(hub, status):
    hub.faults.add("import_labels", status, count=2)
    for _ in range(2):
        r = _import(hub)
        assert r.status_code == int(status) and r.json()["status"] == "error"
    assert hub.applications("a.jpg") == 0
    assert _import(hub).status_code == 200 and hub.applications("a.jpg") == 1
    assert hub.faults.pending == []


def test_429_with_and_without_retry_after(hub):
    hub.faults.add("export", "429", retry_after=2.5)
    hub.faults.add("export", "429")
    first = requests.get(
        f"{hub.url}/export", params={"project": hub.pid}, headers={"apikey": "k"}, timeout=5
    )
    second = requests.get(
        f"{hub.url}/export", params={"project": hub.pid}, headers={"apikey": "k"}, timeout=5
    )
    assert first.status_code == second.status_code == 429
    assert first.headers["Retry-After"] == "2.5" and "Retry-After" not in second.headers
    assert _export_url(hub)[0]


def test_faults_apply_before_auth_and_only_to_their_endpoint(hub):
    hub.faults.add("annotate", "500")
    assert _import(hub).status_code == 200  # another endpoint: untouched
    hub.faults.clear()
    hub.faults.add("*", "503")
    r = requests.get(f"{hub.url}/project/{hub.pid}", timeout=5)  # no key: the proxy answers first
    assert r.status_code == 503
    assert (
        requests.get(f"{hub.url}/project/{hub.pid}", headers={"apikey": "k"}, timeout=5).status_code
        == 200
    )


def test_latency_delays_the_answer(hub):
    hub.faults.add("project", "latency", seconds=0.3)
    t0 = time.monotonic()
    r = requests.get(f"{hub.url}/project/{hub.pid}", headers={"apikey": "k"}, timeout=5)
    assert r.status_code == 200 and time.monotonic() - t0 >= 0.3


def test_stall_trips_a_read_timeout_after_applying(hub):
    hub.faults.add("import_labels", "stall", seconds=1.0)
    with pytest.raises(requests.ReadTimeout):
        _import(hub, timeout=0.3)
    assert hub.applications("a.jpg") == 1  # applied; only the answer is late


def test_drop_before_applies_nothing(hub):
    hub.faults.add("import_labels", "drop_before")
    with pytest.raises(requests.ConnectionError):
        _import(hub)
    assert hub.applications("a.jpg") == 0


def test_drop_after_applies_and_a_keyed_retry_is_not_applied_again(hub):
    hub.faults.add("import_labels", "drop_after")
    with pytest.raises(requests.ConnectionError):
        _import(hub, key="chunk-0001")
    assert hub.applications("a.jpg") == 1
    retry = _import(hub, key="chunk-0001")
    assert (
        retry.status_code == 200 and retry.json()["data"]["project"] == "1 / 1 tasks are labeled."
    )
    assert hub.applications("a.jpg") == 1 and hub.replays == 1


def test_drop_after_on_export_still_builds_it(hub):
    hub.faults.add("export", "drop_after")
    with pytest.raises(requests.ConnectionError):
        requests.get(
            f"{hub.url}/export", params={"project": hub.pid}, headers={"apikey": "k"}, timeout=5
        )
    assert len(hub.exports) == 1


def test_truncated_download_with_full_content_length_is_an_incomplete_read(hub):
    url, data = _export_url(hub)
    hub.faults.add("download", "truncate")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(url, timeout=5)
    assert requests.get(url, timeout=5).content == data


def test_truncated_download_without_content_length_needs_the_zip_check(hub):
    url, data = _export_url(hub)
    hub.faults.add("download", "truncate", keep=0.6, content_length="missing")
    r = requests.get(url, timeout=5)
    assert r.status_code == 200 and "Content-Length" not in r.headers
    assert r.content == data[: int(len(data) * 0.6)]
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(r.content))


def test_corrupt_download_has_the_right_length_and_wrong_bytes(hub):
    url, data = _export_url(hub)
    hub.faults.add("download", "corrupt", nbytes=4, at=0.9)
    r = requests.get(url, timeout=5)
    assert len(r.content) == len(data) and r.content != data
    assert sum(a != b for a, b in zip(r.content, data, strict=True)) == 4


def test_expired_download_is_a_403(hub):
    url, _ = _export_url(hub)
    hub.faults.add("download", "expire")
    r = requests.get(url, timeout=5)
    assert r.status_code == 403 and b"expired" in r.content
    assert requests.get(url, timeout=5).status_code == 200


def test_slow_download_is_throttled(hub):
    url, data = _export_url(hub)
    rate = max(1, len(data) * 3)  # about a third of a second for the whole file
    hub.faults.add("download", "slow", bytes_per_second=rate)
    t0 = time.monotonic()
    r = requests.get(url, timeout=5)
    assert r.content == data and time.monotonic() - t0 >= 0.25


def test_fail_ratio_is_seeded_and_repeatable():
    def pattern(seed):
        with LocalHub(demo=False, api_key="k") as h:
            h.pid = h.add_project("p")
            h.add_asset(h.pid, "a.jpg")
            h.faults.fail_ratio("import_labels", 0.2, seed=seed)
            return [_import(h).status_code for _ in range(30)]

    first, again, other = pattern(7), pattern(7), pattern(8)
    assert first == again and first != other
    assert 0 < first.count(500) < 15 and set(first) == {200, 500}


def test_bad_fault_rules_are_refused(hub):
    for args, opts in (
        (("import", "500"), {}),
        (("export", "teapot"), {}),
        (("export", "truncate"), {}),
        (("download", "latency"), {"bogus": 1}),
        (("download", "500"), {"count": 0}),
        (("download", "truncate"), {"content_length": "half"}),
    ):
        with pytest.raises(ConfigError):
            hub.faults.add(*args, **opts)
    with pytest.raises(ConfigError):
        hub.faults.fail_ratio("export", 1.5)


def test_stop_does_not_wait_for_a_stalled_request():
    hub = LocalHub(demo=False, api_key="k").start()
    hub.pid = hub.add_project("p")
    hub.faults.add("project", "stall", seconds=30)
    with contextlib.suppress(requests.ReadTimeout):
        requests.get(f"{hub.url}/project/{hub.pid}", headers={"apikey": "k"}, timeout=0.2)
    t0 = time.monotonic()
    hub.stop()
    assert time.monotonic() - t0 < 3
