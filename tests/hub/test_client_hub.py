"""The client against the local hub on loopback: the acceptance points of the foundation."""

from __future__ import annotations

import datetime as dt
import time
import zipfile

import fsspec
import pytest

from ango_frames import errors
from ango_frames.api.transport import RetryPolicy
from tests.conftest import make_client

UTC = dt.timezone.utc


def _bytes(path: str) -> bytes:
    with fsspec.open(path, "rb") as f:
        return f.read()


@pytest.mark.parametrize("fmt", ["json", "ndjson", "split"])
def test_export_downloads_exactly_what_the_hub_built(hub, client, fmt, tmp_path):
    export = client.export(hub.project_id, format=fmt, dest=str(tmp_path / f"e.{fmt}.zip"))
    token = hub.downloads[-1].token
    assert _bytes(export.path) == hub.exports[token]
    assert export.size == len(hub.exports[token])
    assert export.format == fmt and export.project == hub.project_id
    assert export.params["format"] == fmt
    with zipfile.ZipFile(export.path) as zf:
        assert len(zf.namelist()) == (1 if fmt != "split" else 4)


def test_download_link_receives_no_api_key(hub, client):
    client.export(hub.project_id)
    assert hub.downloads and not any(d.had_api_key for d in hub.downloads)
    api_calls = [r for r in hub.requests if r.path.startswith("/v2/")]
    assert api_calls and all(r.had_api_key for r in api_calls)


def test_export_to_an_fsspec_destination(hub, client):
    export = client.export(hub.project_id, format="ndjson", dest="memory://exports/demo.zip")
    assert export.path == "memory://exports/demo.zip"
    assert _bytes(export.path) == hub.exports[hub.downloads[-1].token]


def test_export_to_a_temporary_file_by_default(hub, client):
    export = client.export(hub.project_id)
    assert _bytes(export.path)[:4] == b"PK\x03\x04"


def test_every_export_option_is_accepted_by_the_spec_validating_hub(hub, client):
    export = client.export(
        hub.project_id,
        format="ndjson",
        stage=["Complete"],
        batches=["batch-a"],
        include_metadata=True,
        include_history=True,
        include_only_key_frames=True,
        include_idle_blur_durations=True,
        send_email=False,
        notify=True,
        updated_at=(dt.datetime(2020, 1, 1, tzinfo=UTC), dt.datetime(2100, 1, 1, tzinfo=UTC)),
        created_at={"$gt": dt.datetime(2020, 1, 1, tzinfo=UTC)},
        filters={"externalId": {"$regex": "^img"}},
    )
    sent = hub.requests[-2].query  # the export call, before the download
    assert sent["includeHistory"] == "true" and sent["doNotNotify"] == "false"
    assert export.params == sent


def test_hub_refuses_a_request_off_the_spec_and_the_client_raises_typed(hub, client):
    with pytest.raises(errors.BadRequest) as info:
        client.post("import/labels", {"project": hub.project_id})  # no labels
    assert info.value.status == 400 and "labels" in info.value.message
    n = len([r for r in hub.requests if r.path == "/v2/import/labels"])
    assert n == 1  # a 400 is not retried


def test_wrong_key_is_an_auth_error(hub):
    from ango_frames.api.client import Client

    bad = Client(base_url=hub.url, api_key="wrong-key", rate_limit=None)
    with pytest.raises(errors.AuthError) as info:
        bad.get_project(hub.project_id)
    assert info.value.status == 401 and info.value.message == "Invalid API KEY"


def test_unknown_project_is_typed(hub, client):
    with pytest.raises(errors.NotFound):
        client.get_project("no-such-project")
    with pytest.raises(errors.BadRequest, match="Invalid project"):
        client.export("no-such-project")


def test_429_with_retry_after_is_retried_after_waiting(hub, real_retry_waits):
    client = make_client(hub, retry=RetryPolicy(max_attempts=3, backoff_base=0.01))
    hub.faults.add("project", "429", retry_after=2)
    started = time.monotonic()
    project = client.get_project(hub.project_id)
    took = time.monotonic() - started
    seen = [(r.method, r.path) for r in hub.requests]
    assert took >= 2.0, (took, seen)
    assert project["categorySchema"]["tools"]
    # (this test failed twice in loaded full runs, cause unknown: the message says what was seen)
    assert len([r for r in hub.requests if r.path.startswith("/v2/project/")]) == 2, (took, seen)


def test_5xx_bursts_are_retried(hub, client):
    hub.faults.add("project", "500")
    hub.faults.add("project", "502")
    hub.faults.add("project", "503")
    assert client.get_project(hub.project_id)["_id"] == hub.project_id


def test_stalled_server_ends_in_the_timeout_error(hub):
    client = make_client(hub, timeout=(2, 0.3), retry=RetryPolicy(max_attempts=2, backoff_base=0))
    hub.faults.add("project", "stall", seconds=3, count=5)
    started = time.monotonic()
    with pytest.raises(errors.RequestTimeout):
        client.get_project(hub.project_id)
    assert time.monotonic() - started < 2.5


def test_dropped_connection_is_retried(hub, client):
    hub.faults.add("project", "drop_before")
    assert client.get_project(hub.project_id)["_id"] == hub.project_id


def test_truncated_download_raises_export_download_error(hub, client):
    hub.faults.add("download", "truncate", count=2)  # the first link and the fresh one
    with pytest.raises(errors.ExportDownloadError, match=r"truncated|broke off"):
        client.export(hub.project_id)


def test_truncation_without_content_length_is_caught_by_the_zip_check(hub, client):
    hub.faults.add("download", "truncate", content_length="missing", count=2)
    with pytest.raises(errors.ExportDownloadError, match="zip"):
        client.export(hub.project_id)


def test_corrupt_download_is_caught_by_the_crc_check(hub, client):
    hub.faults.add("download", "corrupt", count=2)
    with pytest.raises(errors.ExportDownloadError):
        client.export(hub.project_id)


def test_one_bad_download_recovers_with_a_fresh_link(hub, client):
    hub.faults.add("download", "expire")
    export = client.export(hub.project_id, format="ndjson")
    assert _bytes(export.path) == hub.exports[hub.downloads[-1].token]
    assert len(hub.downloads) == 2


def test_expired_link_twice_names_the_cause(hub, client):
    hub.faults.add("download", "expire", count=2)
    with pytest.raises(errors.ExportDownloadError, match="403"):
        client.export(hub.project_id)


def test_get_project_returns_the_ontology(shared_hub):
    client = make_client(shared_hub)
    project = client.get_project(shared_hub.project_id)
    tools = {t["tool"] for t in project["categorySchema"]["tools"]}
    assert {"bounding-box", "polygon", "point", "segmentation"} <= tools


def test_raw_import_attachments_and_annotate_requests(hub, client):
    asset = next(iter(hub.project().assets.values()))
    reply = client.import_labels_request(
        hub.project_id,
        [{"externalId": asset.external_id, "answer": {"objects": [], "classifications": []}}],
    )
    assert reply["data"]["project"].endswith("tasks are labeled.")
    reply = client.import_attachments_request(
        hub.project_id,
        [{"externalId": asset.external_id, "attachmentUrl": "https://files.example.org/a.pdf"}],
    )
    assert reply["data"]["project"]["attachmentsImported"] == 1
    reply = client.annotate_request(asset.task.id, {"objects": [], "classifications": []})
    assert reply["data"]["label"]["_id"] == asset.task.id
    assert hub.requests[-1].query == {"isPlugin": "false"}
