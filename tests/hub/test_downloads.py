"""Files we write: export downloads against the local hub (caps, deadlines, temp files, races)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import orjson
import pytest

from ango_frames import errors, read_export
from ango_frames.api.download import TEMP_PREFIX
from tests.conftest import export_leftovers, make_client


def _temp_exports() -> list[str]:
    return export_leftovers(Path(tempfile.gettempdir()))


def _records(path: str) -> list[dict]:
    with zipfile.ZipFile(path) as zf:
        return orjson.loads(zf.read(zf.namelist()[0]))


def test_failed_download_keeps_the_previous_good_file(hub, client, tmp_path):
    dest = tmp_path / "export.zip"
    good = client.export(hub.project_id, dest=str(dest))
    before = dest.read_bytes()
    assert good.path == str(dest) and not good.temporary
    for kind in ("truncate", "corrupt"):
        hub.faults.add("download", kind, count=2)  # the first link and the fresh one both fail
        with pytest.raises(errors.ExportDownloadError):
            client.export(hub.project_id, dest=str(dest))
        assert dest.read_bytes() == before  # untouched, not deleted, not half-written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.zip"]  # no part file left
    hub.faults.clear()
    changed = client.export(hub.project_id, dest=str(dest), stage=["Complete"])
    assert dest.stat().st_size == changed.size and dest.read_bytes() != before


def test_temporary_export_is_a_context_manager_and_is_removed(hub, client):
    with client.export(hub.project_id) as export:
        assert export.temporary and os.path.exists(export.path)
        assert Path(export.path).name.startswith(TEMP_PREFIX)
        tables = read_export(export)
        assert len(tables.tasks) == hub.counts()["tasks"]
    assert not os.path.exists(export.path) and export.closed
    export.close()  # twice is fine
    other = client.export(hub.project_id)
    path = other.path
    del other
    gc.collect()
    assert not os.path.exists(path)  # garbage collection removes it too


def test_temporary_export_is_removed_at_interpreter_exit(hub, tmp_path):
    code = (
        "import sys, tempfile\n"
        "tempfile.tempdir = sys.argv[3]\n"
        "from ango_frames.api.client import Client\n"
        "c = Client(base_url=sys.argv[1], api_key=sys.argv[2], rate_limit=None)\n"
        "keep = c.export(sys.argv[4])\n"  # held by a module global until exit
        "print(keep.path)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, hub.url, hub.api_key, str(tmp_path), hub.project_id],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    path = out.stdout.strip()
    assert path.startswith(str(tmp_path)) and not os.path.exists(path)
    assert list(tmp_path.iterdir()) == []


def test_size_cap_ends_an_endless_download(hub, tmp_path):
    client = make_client(hub, max_download_bytes=300_000)
    hub.faults.add("download", "endless", count=None, bytes_per_second=4 << 20)
    started = time.monotonic()
    with pytest.raises(errors.ExportDownloadError, match="max_download_bytes"):
        client.export(hub.project_id, dest=str(tmp_path / "e.zip"))
    assert time.monotonic() - started < 20
    assert list(tmp_path.iterdir()) == [] and _temp_exports() == []
    assert len(hub.downloads) == 1  # a cap is not retried with a fresh link
    hub.faults.clear()
    small = client.export(hub.project_id, max_download_bytes=None)  # per call: lifted
    assert small.size > 0
    with pytest.raises(errors.ExportDownloadError, match="over the cap"):
        client.export(hub.project_id, max_download_bytes=small.size - 1)  # by Content-Length
    with pytest.raises(errors.ConfigError, match="max_download_bytes"):
        make_client(hub, max_download_bytes=0)


def test_deadline_ends_a_trickling_download(hub):
    client = make_client(hub)
    hub.faults.add("download", "slow", count=None, bytes_per_second=2000)
    started = time.monotonic()
    with pytest.raises(errors.ExportDownloadError, match="download_deadline"):
        client.export(hub.project_id, download_deadline=1.0)
    assert time.monotonic() - started < 6  # the read timeout alone would never fire
    assert _temp_exports() == []
    with pytest.raises(errors.ConfigError, match="download_deadline"):
        client.export(hub.project_id, download_deadline=float("nan"))


def test_redirect_to_plain_http_on_another_host_is_refused(hub, client):
    hub.faults.add("download", "redirect", location="http://downloads.example.com/x.zip")
    with pytest.raises(errors.ConfigError, match=r"refusing plain http to downloads\.example\.com"):
        client.export(hub.project_id)
    assert _temp_exports() == []
    # a redirect to plain http on loopback (the hub itself) is followed
    url, _ = client.export_url(hub.project_id)
    hub.faults.add("download", "redirect", location=url)
    with client.export(hub.project_id) as export:
        assert len(read_export(export).tasks) == hub.counts()["tasks"]


def test_zip_served_with_content_encoding_gzip(hub, client):
    hub.faults.add("download", "gzip")
    with client.export(hub.project_id, format="ndjson") as export:
        assert len(read_export(export).tasks) == hub.counts()["tasks"]
        assert export.size == len(hub.exports[list(hub.exports)[-1]])  # the zip, decoded


def test_hub_shared_file_fault_mixes_parallel_exports(hub, client):
    """The race the official client warns about, as the hub simulates it."""
    hub.faults.add("export", "shared_file", count=None)
    first, _ = client.export_url(hub.project_id, stage=["Start"])
    second, _ = client.export_url(hub.project_id, stage=["Complete"])
    assert first == second  # one file per project ...
    path = client.transport.send("GET", first, auth=False).content
    stages = {r["task"]["stage"] for r in orjson.loads(_member(path))}
    assert stages == {"Complete"}  # ... so the first caller gets the second export


def _member(data: bytes) -> bytes:
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(zf.namelist()[0])


def test_exports_of_one_project_are_serialised(hub):
    hub.faults.add("export", "shared_file", count=None)
    hub.faults.add("download", "latency", count=None, seconds=0.3)  # room for a race
    results: dict[str, set[str]] = {}
    failures: list[BaseException] = []

    def run(stage: str) -> None:
        try:
            with make_client(hub) as c, c.export(hub.project_id, stage=[stage]) as export:
                results[stage] = {r["task"]["stage"] for r in _records(export.path)}
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in ("Start", "Label", "Complete")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures
    assert results == {"Start": {"Start"}, "Label": {"Label"}, "Complete": {"Complete"}}
