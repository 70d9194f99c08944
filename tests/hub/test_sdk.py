"""The official SDK (``imerit-ango``) against the local hub: one test per call it serves, each
checked by a re-export (with our own client), not only by the status code."""

from __future__ import annotations

import datetime as dt
import json
import logging
import zipfile

import pytest

from ango_frames import read_export

sdk_mod = pytest.importorskip("imerit_ango.sdk")
from imerit_ango.models.annotate import AnnotationPayload, Answer  # noqa: E402
from imerit_ango.models.enums import ExportFormats, ExportTypes, TaskTypes  # noqa: E402
from imerit_ango.models.export_options import ExportOptions, TimeFilter  # noqa: E402

from tests.conftest import make_client  # noqa: E402


@pytest.fixture(autouse=True)
def _quiet_sdk_logger():
    logging.getLogger("SDK").setLevel(logging.CRITICAL)  # it logs failures it re-raises


@pytest.fixture
def sdk(hub):
    return sdk_mod.SDK(hub.api_key, host=hub.base_url)


def _ours(hub, **options):
    """Our own export of the hub's current state, as records keyed by externalId."""
    with (
        make_client(hub) as c,
        c.export(hub.project_id, format="json", **options) as export,
        zipfile.ZipFile(export.path) as zf,
    ):
        records = json.loads(zf.read(zf.namelist()[0]))
    return {r["externalId"]: r for r in records}


def _task(hub, n=0):
    return list(hub.project().assets.values())[n]


def test_export_json_defaults_stage_complete_with_metadata_and_history(hub, sdk):
    got = sdk.exportV3(hub.project_id)  # ExportOptions(): taskTypes=["default"], stage=["Complete"]
    ours = _ours(hub, stage=["Complete"], include_metadata=True, include_history=True)
    assert isinstance(got, list) and {r["externalId"] for r in got} == set(ours)
    assert got == list(ours.values())
    assert all("stageHistory" in r["task"] for r in got)
    query = next(r.query for r in hub.requests if r.path == "/v2/export")  # the SDK's
    assert query["taskTypes"] == '["default"]'


def test_export_ndjson_is_an_iterator_and_a_count(hub, sdk):
    options = ExportOptions(stage=["Start", "Label"], export_format=ExportFormats.NDJSON)
    records, count = sdk.exportV3(hub.project_id, options)
    records = list(records)
    ours = _ours(hub, stage=["Start", "Label"], include_metadata=True, include_history=True)
    assert count == len(records) == len(ours) > 0
    assert {r["externalId"] for r in records} == set(ours)


def test_export_without_metadata_history_and_by_batch(hub, sdk):
    options = ExportOptions(
        stage=["Complete"], batches=["batch-a"], include_metadata=False, include_history=False
    )
    got = sdk.exportV3(hub.project_id, options)
    ours = _ours(hub, stage=["Complete"], batches=["batch-a"])
    assert got == list(ours.values()) and 0 < len(got) < hub.counts()["tasks"]
    assert not any("stageHistory" in r["task"] for r in got)


def test_export_by_dates(hub, sdk):
    later = dt.datetime(2100, 1, 1)
    got = sdk.exportV3(hub.project_id, ExportOptions(updated_at=TimeFilter(to_date=later)))
    assert len(got) == len(_ours(hub, stage=["Complete"]))
    none = sdk.exportV3(hub.project_id, ExportOptions(created_at=TimeFilter(from_date=later)))
    assert none == []


def test_export_of_other_task_types_is_empty(hub, sdk):
    for kind in (TaskTypes.BENCHMARK, TaskTypes.CONSENSUS):
        assert sdk.exportV3(hub.project_id, ExportOptions(task_type=kind, stage=["Complete"])) == []


def test_export_issues(hub, sdk):
    got = sdk.exportV3(hub.project_id, ExportOptions(export_type=ExportTypes.ISSUE))
    with make_client(hub) as c, c.export(hub.project_id, type="issue") as export:
        assert len(read_export(export).issues) == len(got) > 0


def test_export_to_zip_file_path_reads_like_our_own(hub, sdk, tmp_path):
    path = tmp_path / "sdk.zip"
    sdk.exportV3(hub.project_id, ExportOptions(stage=["Complete"]), zip_file_path=str(path))
    mine = read_export(str(path))
    options = {"stage": ["Complete"], "include_history": True, "include_metadata": True}
    with make_client(hub) as c, c.export(hub.project_id, **options) as export:
        ours = read_export(export)
    assert len(mine.tasks) == len(ours.tasks) and len(mine.objects) == len(ours.objects)


def test_import_labels_with_import_file_items(hub, sdk):
    a, b = _task(hub, 0), _task(hub, 1)
    items = [
        {
            "externalId": a.external_id,
            "objects": [{"schemaId": "car-box", "title": "car", "bounding-box":
                         {"x": 1, "y": 2, "width": 30, "height": 40}}],
            "classifications": [],
        },
        {"externalId": b.external_id, "brushDataUrl": "https://masks.example.org/b.png"},
        {"externalId": "no-such-asset.jpg", "objects": []},
    ]  # fmt: skip
    reply = sdk.import_labels(hub.project_id, items)
    assert reply["data"]["project"] == "2 / 3 tasks are labeled."
    ours = _ours(hub)
    boxes = [t["bounding-box"] for t in ours[a.external_id]["task"]["tools"]]
    assert boxes == [{"x": 1, "y": 2, "width": 30, "height": 40}]
    assert ours[b.external_id]["task"]["tools"] == []
    assert ours[b.external_id]["task"]["brushDataUrl"] == "https://masks.example.org/b.png"


def test_import_labels_refuses_unknown_item_keys_and_both_bodies(hub, sdk, client):
    with pytest.raises(Exception, match="unknown key"):
        sdk.import_labels(hub.project_id, [{"externalId": "x", "answer": {}}])
    with pytest.raises(Exception, match="not both"):
        client.post("import/labels", {"project": hub.project_id, "labels": [], "jsonContent": []})


def test_create_attachment(hub, sdk):
    a = _task(hub, 2)
    item = {"externalId": a.external_id, "attachmentType": "TEXT", "attachmentUrl": "a note"}
    reply = sdk.create_attachment(hub.project_id, [item])
    assert reply["data"]["project"] == {"attachmentsImported": 1, "assetsUpdated": 1}
    assert hub.attachments(a.external_id)[-1] == {
        "attachmentUrl": "a note",
        "attachmentType": "TEXT",
    }


def test_annotate_task_overwrite_and_next_stage(hub, sdk):
    asset = next(a for a in hub.project().assets.values() if a.task.stage_id == "Start")
    box = {"schemaId": "car-box", "title": "car", "bounding-box":
           {"x": 5, "y": 5, "width": 10, "height": 10}}  # fmt: skip
    assert sdk.annotate_task(asset.task.id, AnnotationPayload(Answer(objects=[box])),
                             overwrite=True, send_to_next_stage=True)  # fmt: skip
    ours = _ours(hub, include_history=True)[asset.external_id]["task"]
    assert [t["bounding-box"] for t in ours["tools"]] == [box["bounding-box"]]
    assert ours["stage"] == "Label"  # moved on from Start
    assert ours["stageHistory"][-1]["stage"] == "Start"


def test_annotate_task_merges_with_what_get_task_serves(hub, sdk):
    asset = next(a for a in hub.project().assets.values() if a.task.answer["tools"])
    before = _ours(hub)[asset.external_id]["task"]
    served = sdk.get_task(asset.task.id)["data"]["task"]
    assert served["_id"] == asset.task.id and len(served["answer"]["tools"]) == len(before["tools"])
    box = {"schemaId": "car-box", "title": "car", "bounding-box":
           {"x": 7, "y": 7, "width": 3, "height": 3}}  # fmt: skip
    assert sdk.annotate_task(asset.task.id, AnnotationPayload(Answer(objects=[box])))
    after = _ours(hub)[asset.external_id]["task"]
    assert len(after["tools"]) == len(before["tools"]) + 1  # merged, nothing replaced
    assert {"x": 7, "y": 7, "width": 3, "height": 3} in [
        t.get("bounding-box") for t in after["tools"]
    ]
    assert after["stage"] == before["stage"]  # send_to_next_stage=False


def test_get_project(hub, sdk):
    project = sdk.get_project(hub.project_id)["data"]["project"]
    with make_client(hub) as c:
        assert project == c.get_project(hub.project_id)
    assert [b["name"] for b in sdk.get_batches(hub.project_id)] == ["batch-a", "batch-b"]


def test_unknown_query_parameters_are_still_refused(hub, client):
    import requests

    base = f"{hub.url}/export?project={hub.project_id}"
    for extra in ("taskType=default", "includeAnswer=true", "stages=[]"):
        r = requests.get(f"{base}&{extra}", headers={"apikey": hub.api_key}, timeout=30)
        assert r.status_code == 400 and extra.split("=")[0] in r.json()["message"]
    task = _task(hub).task.id
    r = requests.get(f"{hub.url}/task/{task}?answer=1", headers={"apikey": hub.api_key}, timeout=30)
    assert r.status_code == 400 and "answer" in r.json()["message"]
