"""The local Ango Hub over real loopback HTTP: auth, envelopes, endpoints, exports, idempotency."""

from __future__ import annotations

import io
import itertools
import json
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from ango_frames.errors import ConfigError
from ango_frames.testing import LocalHub, serve, spec
from ango_frames.testing.demo import build_demo
from ango_frames.testing.store import Store, parse_iso


@pytest.fixture(scope="module")
def hub():
    with LocalHub() as h:
        yield h


@pytest.fixture()
def http():
    with requests.Session() as s:
        yield s


@pytest.fixture()
def small():
    """An empty hub with one project: two assets share an externalId, one is alone."""
    with LocalHub(demo=False, api_key="k-small") as h:
        onto = {
            "tools": [
                {"tool": "bounding-box", "title": "car", "schemaId": "s-car", "classifications": []}
            ],
            "classifications": [{"tool": "radio", "title": "weather", "schemaId": "s-weather"}],
        }
        pid = h.add_project("p", ontology=onto, batches=["b1"])
        a = h.add_asset(pid, "dup.jpg", batches=["b1"])
        b = h.add_asset(pid, "dup.jpg")
        c = h.add_asset(pid, "solo.jpg")
        h.ids = {"project": pid, "a": a.id, "b": b.id, "c": c.id, "task_c": c.task.id}
        yield h


def get(http: requests.Session, hub: LocalHub, path: str, **params: Any) -> requests.Response:
    return http.get(f"{hub.url}{path}", params=params, headers={"apikey": hub.api_key}, timeout=10)


def post(http, hub, path, body, headers=None, **kw) -> requests.Response:
    h = {"apikey": hub.api_key, **(headers or {})}
    return http.post(f"{hub.url}{path}", json=body, headers=h, timeout=kw.pop("timeout", 10), **kw)


def export(http, hub, **params) -> dict[str, bytes]:
    """Export with ``params`` and return the zip's members (name -> bytes)."""
    params.setdefault("project", hub.project_id)
    r = get(http, hub, "/export", **params)
    assert r.status_code == 200, r.text
    data = http.get(r.json()["data"]["exportPath"], timeout=10).content
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def records(http, hub, **params) -> list[dict[str, Any]]:
    members = export(http, hub, **params)
    assert len(members) == 1
    return json.loads(next(iter(members.values())))


def by_external(recs: list[dict[str, Any]], external_id: str) -> dict[str, Any]:
    return next(r for r in recs if r["externalId"] == external_id)


# ----------------------------------------------------------------------------------- auth & errors


def test_missing_or_wrong_key_is_401_with_the_hub_envelope(hub, http):
    for headers in ({}, {"apikey": "wrong"}):
        r = http.get(f"{hub.url}/project/{hub.project_id}", headers=headers, timeout=5)
        assert r.status_code == 401
        assert r.json() == {"status": "fail", "message": "Invalid API KEY"}
    assert hub.requests[-1].had_api_key is True
    assert hub.requests[-2].had_api_key is False
    assert hub.api_key not in repr(hub.requests) + repr(hub)


def test_fixed_api_key_and_unknown_routes(http):
    with LocalHub(api_key="fixed-key", demo=False) as h:
        assert h.api_key == "fixed-key"
        assert h.url.startswith("http://127.0.0.1:") and h.url.endswith("/v2")
        for method, path in (
            ("GET", "/v2/nope"),
            ("DELETE", "/v2/export"),
            ("GET", "/v2/import/labels"),
        ):
            r = http.request(
                method, f"{h.base_url}{path}", headers={"apikey": "fixed-key"}, timeout=5
            )
            assert r.status_code == 404 and r.json()["status"] == "fail"


def test_get_project_lists_ontology_stages_and_batches(hub, http):
    r = get(http, hub, f"/project/{hub.project_id}")
    assert r.status_code == 200 and r.json()["status"] == "success"
    project = r.json()["data"]["project"]
    schema = project["categorySchema"]
    assert {t["tool"] for t in schema["tools"]} >= {
        "bounding-box",
        "rotated-bounding-box",
        "polygon",
        "polyline",
        "point",
        "segmentation",
        "ner",
    }
    assert {c["tool"] for c in schema["classifications"]} == {
        "radio",
        "checkbox",
        "text",
        "single-dropdown",
        "multi-dropdown",
        "tree-dropdown",
        "boolean",
        "rank",
    }
    assert {r["tool"] for r in schema["relations"]} == {"one-to-one", "group"}
    car = next(t for t in schema["tools"] if t["title"] == "car")
    occluded = car["classifications"][0]
    yes = next(o for o in occluded["options"] if o["value"] == "yes")
    assert occluded["classifications"][0]["parentOptionId"] == yes["schemaId"]
    stages = {s["name"]: s["id"] for s in project["stages"]}
    assert [stages[n] for n in ("Start", "Label", "Complete")] == ["Start", "Label", "Complete"]
    assert stages["Review"] != "Review" and len(stages["Review"]) == 36
    assert sorted(b["name"] for b in project["batches"]) == ["batch-a", "batch-b"]
    r = get(http, hub, "/project/000000000000000000000000")
    assert r.status_code == 404 and r.json()["status"] == "fail"


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"format": "xml"}, "format"),
        ({"type": "tasks"}, "type"),
        ({"includeHistory": "yes"}, "includeHistory"),
        ({"includeOnlyKeyFrames": "True"}, "includeOnlyKeyFrames"),
        ({"stage": '"Complete"'}, "stage"),
        ({"stage": "[1]"}, "stage"),
        ({"batches": "batch-a"}, "batches"),
        ({"updatedAt": '["2024-01-01"]'}, "updatedAt"),
        ({"updatedAt": '{"$eq": "2024-11-01T00:00:00Z"}'}, "updatedAt"),
        ({"createdAt": '{"$gt": "last tuesday"}'}, "createdAt"),
        ({"filters": "[]"}, "filters"),
        ({"filters": "{not json"}, "filters"),
        ({"filters": '{"externalId": {"$where": "1"}}'}, "filters"),
        ({"filters": '{"color": "red"}'}, "filters"),
        ({"filters": '{"externalId": {"$regex": "("}}'}, "filters"),
        ({"filters": '{"_id": {"$in": "abc"}}'}, "filters"),
        ({"taskTypes": '["default", "review"]'}, "taskTypes"),
        ({"taskTypes": '"default"'}, "taskTypes"),
        ({"taskType": '["default"]'}, "taskType"),
    ],
)
def test_bad_export_parameters_are_400_naming_the_parameter(hub, http, params, named):
    r = get(http, hub, "/export", project=hub.project_id, **params)
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == "fail" and named in body["message"]


def test_export_needs_a_known_project(hub, http):
    r = get(http, hub, "/export")
    assert r.status_code == 400 and "project" in r.json()["message"]
    r = get(http, hub, "/export", project="6167dfee2a810d000e9d313")
    assert r.json() == {"status": "fail", "message": "Invalid project: 6167dfee2a810d000e9d313."}
    r = http.get(
        f"{hub.url}/export?project={hub.project_id}&project=x", headers={"apikey": hub.api_key}
    )
    assert r.status_code == 400 and "project" in r.json()["message"]


# ----------------------------------------------------------------------------------- exports


def test_export_formats_hold_the_same_assets(hub, http):
    json_members = export(http, hub)
    assert list(json_members) == [f"{hub.project_id}.json"]
    assets = json.loads(json_members[f"{hub.project_id}.json"])
    assert len(assets) == hub.counts()["tasks"] == 303
    nd = export(http, hub, format="ndjson")
    assert list(nd) == [f"{hub.project_id}.ndjson"]
    lines = nd[f"{hub.project_id}.ndjson"].decode().splitlines()
    assert [json.loads(line) for line in lines] == assets
    split = export(http, hub, format="split")
    assert len(split) >= 3 and all(n.startswith("export-part-") for n in split)
    joined = [a for name in sorted(split) for a in json.loads(split[name])]
    assert joined == assets


def test_export_record_shape(hub, http):
    recs = records(http, hub)
    first = recs[0]
    assert list(first)[:2] == ["asset", "externalId"] and "task" in first
    assert {
        "taskId",
        "stage",
        "stageId",
        "updatedAt",
        "totalDuration",
        "tools",
        "classifications",
        "relations",
    } <= set(first["task"])
    assert all("stageHistory" not in r["task"] for r in recs)
    multi = by_external(recs, "scan-01")
    assert multi["assetId"] and len(multi["dataset"]) == 3 and multi["asset"] == multi["dataset"][0]
    assert {t["page"] for t in multi["task"]["tools"]} == {0, 1, 2}
    assert all("assetId" not in r for r in recs if r["externalId"] != "scan-01")
    assert any("contextData" in r for r in recs) and not all("contextData" in r for r in recs)
    assert {b for r in recs for b in r["batches"]} == {"batch-a", "batch-b"}
    text = by_external(recs, "doc-01.txt")
    for span in text["task"]["tools"]:
        assert span["ner"]["end"] > span["ner"]["start"] and span["ner"]["selection"]
    answers = {c["tool"]: c["answer"] for r in recs for c in r["task"]["classifications"]}
    assert isinstance(answers["boolean"], bool)
    assert isinstance(answers["rank"], list) and len(answers["rank"]) == 3
    assert all(" / " in path for path in answers["tree-dropdown"])


def test_download_is_presigned_and_byte_for_byte(hub, http):
    r = get(http, hub, "/export", project=hub.project_id, format="split")
    url = r.json()["data"]["exportPath"]
    assert url.startswith(f"{hub.base_url}/downloads/") and url.endswith(".zip")
    token = url.rsplit("/", 1)[1][:-4]
    body = http.get(url, timeout=10)
    assert body.status_code == 200 and body.content == hub.exports[token]
    assert hub.downloads[-1] == (token, False)
    http.get(url, headers={"apikey": hub.api_key}, timeout=10)
    assert hub.downloads[-1] == (token, True)
    assert http.get(f"{hub.base_url}/downloads/{'0' * 32}.zip", timeout=5).status_code == 404


def test_same_state_and_parameters_give_the_same_zip(hub, http):
    urls = [
        get(http, hub, "/export", project=hub.project_id, includeHistory="true").json()["data"][
            "exportPath"
        ]
        for _ in range(2)
    ]
    assert urls[0] != urls[1]
    blobs = [http.get(u, timeout=10).content for u in urls]
    assert blobs[0] == blobs[1]
    with zipfile.ZipFile(io.BytesIO(blobs[0])) as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_include_history_shows_reviewer_changes(hub, http):
    recs = records(http, hub, includeHistory="true")
    review_id = next(s["id"] for s in hub.project().stages if s["name"] == "Review")
    done = [r for r in recs if r["task"]["stage"] == "Complete"]
    assert done
    changed = 0
    for r in done:
        history = r["task"]["stageHistory"]
        assert [h["stageId"] for h in history] == ["Start", "Label", review_id]
        assert "completedBy" not in history[0] and all(h["completedBy"] for h in history[1:])
        assert r["task"]["totalDuration"] == sum(h["duration"] for h in history)
        label, final = history[1], r["task"]
        changed += (label["tools"], label["classifications"]) != (
            final["tools"],
            final["classifications"],
        )
    assert 0 < changed < len(done)
    start = [r for r in recs if r["task"]["stage"] == "Start"]
    assert start and all(r["task"]["stageHistory"] == [] for r in start)


def test_include_metadata_adds_annotation_metadata(hub, http):
    def entries(recs):
        for r in recs:
            for t in r["task"]["tools"]:
                yield t
                yield from t["classifications"]
            yield from r["task"]["classifications"]

    plain = records(http, hub)
    assert not any("metadata" in e for e in entries(plain))
    rich = records(http, hub, includeMetadata="true")
    with_meta = [e for e in entries(rich) if "segmentation" not in e]
    assert with_meta and all(
        {"createdAt", "createdBy", "createdIn"} <= set(e["metadata"]) for e in with_meta
    )
    assert all("metadata" not in e for e in entries(rich) if "segmentation" in e)
    assert any("updatedBy" in e["metadata"] for e in with_meta)


def test_video_full_export_interpolates_between_key_frames(hub, http):
    flt = json.dumps({"externalId": "clip-01.mp4"})
    full = records(http, hub, filters=flt)[0]["task"]["tools"]
    keys = records(http, hub, filters=flt, includeOnlyKeyFrames="true")[0]["task"]["tools"]
    assert len(keys) < len(full)
    key_pages = {(t["objectId"], t["page"]) for t in keys}
    assert key_pages <= {(t["objectId"], t["page"]) for t in full}
    for track in {t["objectId"] for t in full}:
        frames = [t for t in full if t["objectId"] == track]
        pages = [t["page"] for t in frames]
        assert pages == sorted(pages) and frames[-1].get("interpolationStopped") is True
        kf = sorted((t for t in keys if t["objectId"] == track), key=lambda t: t["page"])
        for a, b in itertools.pairwise(kf):
            if a.get("interpolationStopped"):  # the object left: no frames until it returns
                assert not any(a["page"] < p < b["page"] for p in pages)
                continue
            assert pages.count(a["page"]) == 1 and all(
                p in pages for p in range(a["page"], b["page"] + 1)
            )
            mid = next(t for t in frames if a["page"] < t["page"] < b["page"])
            lo, hi = sorted((a["bounding-box"]["x"], b["bounding-box"]["x"]))
            assert lo <= mid["bounding-box"]["x"] <= hi
    assert not any(k in t for t in full for k in ("keyFrame", "isKeyFrame", "key_frame"))


def test_counts_match_the_full_export(hub, http):
    recs = records(http, hub)

    def values(items):
        n = 0
        for c in items:
            a = c.get("answer")
            n += len(a) if isinstance(a, list) else (a is not None)
            n += values(c.get("classifications") or [])
        return n

    counts = hub.counts()
    assert counts["tasks"] == len(recs)
    assert counts["objects"] == sum(len(r["task"]["tools"]) for r in recs)
    assert counts["relations"] == sum(len(r["task"]["relations"]) for r in recs)
    assert counts["answers"] == sum(
        values(r["task"]["classifications"])
        + sum(values(t["classifications"]) for t in r["task"]["tools"])
        for r in recs
    )
    kinds = {("group" in rel) for r in recs for rel in r["task"]["relations"]}
    assert kinds == {True, False}


def test_issue_export(hub, http):
    members = export(http, hub, type="issue")
    issues = json.loads(next(iter(members.values())))
    assert len(issues) >= 3
    tasks = {r["task"]["taskId"] for r in records(http, hub)}
    for issue in issues:
        assert {"_id", "labelTask", "status", "content", "createdBy", "createdAt", "asset"} <= set(
            issue
        )
        assert issue["labelTask"] in tasks and "externalId" in issue["asset"]
        json.loads(issue["position"])
    assert any("page" in i for i in issues) and any("resolvedAt" in i for i in issues)


# ----------------------------------------------------------------------------------- filtering


def test_stage_filter_takes_ids_or_names(hub, http):
    review_id = next(s["id"] for s in hub.project().stages if s["name"] == "Review")
    by_name = records(http, hub, stage='["Review"]')
    by_id = records(http, hub, stage=json.dumps([review_id]))
    assert by_name == by_id and by_name and {r["task"]["stageId"] for r in by_name} == {review_id}
    both = records(http, hub, stage='["Start", "Complete"]')
    assert {r["task"]["stage"] for r in both} == {"Start", "Complete"}
    assert records(http, hub, stage='["No such stage"]') == []


def test_batch_filter_takes_names_or_ids(hub, http):
    batch_a = next(b["_id"] for b in hub.project().batches if b["name"] == "batch-a")
    by_name = records(http, hub, batches='["batch-a"]')
    assert by_name and all("batch-a" in r["batches"] for r in by_name)
    assert records(http, hub, batches=json.dumps([batch_a])) == by_name
    assert len(records(http, hub, batches='["batch-a", "batch-b"]')) > len(by_name)


def test_date_range_filters(hub, http):
    recs = records(http, hub)
    stamps = sorted(r["task"]["updatedAt"] for r in recs)
    mid = stamps[len(stamps) // 2]
    newer = records(http, hub, updatedAt=json.dumps({"$gt": mid}))
    assert newer and all(r["task"]["updatedAt"] > mid for r in newer)
    older = records(http, hub, updatedAt=json.dumps({"$lte": mid}))
    assert len(newer) + len(older) == len(recs)
    created = sorted(a.created_at for a in hub.project().assets.values())
    window = records(http, hub, createdAt=json.dumps({"$gte": created[10], "$lt": created[20]}))
    assert len(window) == 10


def test_mongo_style_filters(hub, http):
    recs = records(http, hub)
    some = [r["task"]["taskId"] for r in recs[:5]]
    got = records(http, hub, filters=json.dumps({"_id": {"$in": some}}))
    assert [r["task"]["taskId"] for r in got] == some
    got = records(
        http, hub, filters=json.dumps({"externalId": {"$regex": "^IMG-000", "$options": "i"}})
    )
    assert sorted(r["externalId"] for r in got) == [f"img-000{i}.jpg" for i in range(10)]
    assignee = next(a.task.assignee for a in hub.project().assets.values() if a.task.assignee)
    mine = records(http, hub, filters=json.dumps({"assignee": assignee}))
    assert mine and len(mine) < len(recs)
    rest = records(http, hub, filters=json.dumps({"assignee": {"$ne": assignee}}))
    assert len(mine) + len(rest) == len(recs)
    either = records(
        http, hub, filters=json.dumps({"$or": [{"stage": "Start"}, {"batches": "batch-b"}]})
    )
    assert all(r["task"]["stage"] == "Start" or "batch-b" in r["batches"] for r in either)
    nin = records(http, hub, filters=json.dumps({"stageId": {"$nin": ["Start", "Complete"]}}))
    assert nin and {r["task"]["stage"] for r in nin} == {"Label", "Review"}


# ----------------------------------------------------------------------------------- imports


def test_import_by_external_id_labels_every_matching_asset(small, http):
    ids = small.ids
    body = {
        "project": ids["project"],
        "labels": [
            {
                "externalId": "dup.jpg",
                "answer": {
                    "objects": [
                        {
                            "schemaId": "s-car",
                            "bounding-box": {"x": 1, "y": 2, "width": 3, "height": 4},
                        }
                    ],
                    "classifications": [{"title": "weather", "answer": "rain"}],
                },
            },
            {"externalId": "missing.jpg", "answer": {"objects": []}},
        ],
    }
    r = post(http, small, "/import/labels", body)
    assert r.status_code == 200
    assert r.json() == {"status": "success", "data": {"project": "2 / 2 tasks are labeled."}}
    assert small.applications("dup.jpg") == 2 and small.applications(ids["a"]) == 1
    assert small.applications("solo.jpg") == 0
    recs = records(http, small, project=ids["project"])
    dup = [r for r in recs if r["externalId"] == "dup.jpg"]
    for rec in dup:
        (car,) = rec["task"]["tools"]
        assert car["title"] == "car" and car["objectId"] and car["bounding-box"]["width"] == 3
        (weather,) = rec["task"]["classifications"]
        assert weather["schemaId"] == "s-weather" and weather["tool"] == "radio"
    assert by_external(recs, "solo.jpg")["task"]["tools"] == []
    r = post(
        http,
        small,
        "/import/labels",
        {
            "project": ids["project"],
            "labels": [
                {
                    "assetId": ids["c"],
                    "answer": {"objects": []},
                    "status": "Completed",
                    "assignee": "x@example.org",
                }
            ],
        },
    )
    assert r.json()["data"]["project"] == "1 / 1 tasks are labeled."
    assert small.applications(ids["c"]) == 1
    assert small.counts(ids["project"]) == {"tasks": 3, "objects": 2, "answers": 2, "relations": 0}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"labels": []}, "project"),
        ({"project": "P"}, "labels"),
        ({"project": "P", "labels": {}}, "labels"),
        ({"project": "P", "labels": [{"externalId": "dup.jpg"}]}, "labels[0].answer"),
        ({"project": "P", "labels": [{"answer": {}}]}, "labels[0]"),
        ({"project": "P", "labels": [{"externalId": 7, "answer": {}}]}, "labels[0].externalId"),
        (
            {"project": "P", "labels": [{"externalId": "dup.jpg", "answer": {"objects": {}}}]},
            "objects",
        ),
        ({"project": "nope", "labels": []}, "Invalid project"),
    ],
)
def test_bad_import_bodies_are_400_and_apply_nothing(small, http, body, named):
    body = {k: (small.ids["project"] if v == "P" else v) for k, v in body.items()}
    r = post(http, small, "/import/labels", body)
    assert r.status_code == 400 and r.json()["status"] == "fail"
    assert named in r.json()["message"]
    assert small.applications("dup.jpg") == 0


def test_malformed_json_body_is_400(small, http):
    r = http.post(
        f"{small.url}/import/labels",
        data=b"{nope",
        timeout=5,
        headers={"apikey": small.api_key, "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and "JSON" in r.json()["message"]


def test_idempotency_key_applies_once(small, http):
    body = {
        "project": small.ids["project"],
        "labels": [{"externalId": "solo.jpg", "answer": {"objects": []}}],
    }
    first = post(http, small, "/import/labels", body, {"Idempotency-Key": "chunk-1"})
    again = post(http, small, "/import/labels", body, {"Idempotency-Key": "chunk-1"})
    assert first.status_code == again.status_code == 200 and first.content == again.content
    assert small.applications("solo.jpg") == 1 and small.replays == 1
    post(http, small, "/import/labels", body, {"Idempotency-Key": "chunk-2"})
    post(http, small, "/import/labels", body)
    assert small.applications("solo.jpg") == 3
    other = post(
        http,
        small,
        "/attachments",
        {"project": small.ids["project"], "attachments": []},
        {"Idempotency-Key": "chunk-1"},
    )
    assert other.status_code == 422


def test_attachments(small, http):
    body = {
        "project": small.ids["project"],
        "attachments": [
            {
                "externalId": "dup.jpg",
                "attachmentUrl": "https://files.example.org/a.pdf",
                "attachmentType": "pdf",
            },
            {"assetId": small.ids["c"], "attachmentUrl": "https://files.example.org/b.doc"},
            {"externalId": "missing.jpg", "attachmentUrl": "https://files.example.org/c.pdf"},
        ],
    }
    r = post(http, small, "/attachments", body)
    assert r.json() == {
        "status": "success",
        "data": {"project": {"attachmentsImported": 2, "assetsUpdated": 3}},
    }
    assert [a["attachmentUrl"] for a in small.attachments(small.ids["a"])] == [
        "https://files.example.org/a.pdf"
    ]
    assert len(small.attachments("dup.jpg")) == 2
    bad = post(
        http,
        small,
        "/attachments",
        {"project": small.ids["project"], "attachments": [{"externalId": "x"}]},
    )
    assert bad.status_code == 400 and "attachmentUrl" in bad.json()["message"]


def test_annotate(small, http):
    task = small.ids["task_c"]
    answer = {
        "objects": [
            {
                "schemaId": "s-car",
                "objectId": "o1",
                "bounding-box": {"x": 5, "y": 5, "width": 10, "height": 10},
            }
        ]
    }
    r = http.post(
        f"{small.url}/annotate/{task}",
        params={"isPlugin": "false"},
        json={"answer": answer},
        headers={"apikey": small.api_key},
        timeout=5,
    )
    assert r.status_code == 200
    assert spec.validate(r.json(), "LabelResponse") == []
    label = r.json()["data"]["label"]
    assert label["_id"] == task and label["answer"]["tools"][0]["objectId"] == "o1"
    (rec,) = [
        x for x in records(http, small, project=small.ids["project"]) if x["task"]["taskId"] == task
    ]
    assert rec["task"]["tools"][0]["title"] == "car"
    assert small.applications(small.ids["c"]) == 1
    assert post(http, small, "/annotate/nope", {"answer": {}}).status_code == 404
    bad = http.post(
        f"{small.url}/annotate/{task}?isPlugin=maybe",
        json={"answer": {}},
        headers={"apikey": small.api_key},
        timeout=5,
    )
    assert bad.status_code == 400 and "isPlugin" in bad.json()["message"]
    assert post(http, small, f"/annotate/{task}", {"answer": []}).status_code == 400


def test_request_body_limit_is_413(http):
    with LocalHub(demo=False, max_body_bytes=100) as h:
        r = post(http, h, "/import/labels", {"project": "p", "labels": [{"answer": {}}] * 20})
        assert r.status_code == 413 and r.json()["status"] == "fail"


def test_spec_validator_reports_paths():
    assert spec.validate({"project": "p", "labels": [{"answer": {}}]}, "ImportLabelsRequest") == []
    problems = spec.validate({"project": 1, "labels": [{"answer": 2}, {}]}, "ImportLabelsRequest")
    assert problems == [
        "project: expected string, got integer",
        "labels[0].answer: expected object, got integer",
        "labels[1].answer: is required",
    ]
    assert spec.validate(True, {"type": "integer"}) == ["(root): expected integer, got boolean"]
    assert "isPlugin" in spec.query_parameters("annotateTask")


# ----------------------------------------------------------------------------------- lifecycle


def test_demo_is_deterministic_per_seed(hub, http):
    def zipped(h):
        r = http.get(
            f"{h.url}/export",
            params={"project": h.project_id, "includeHistory": "true"},
            headers={"apikey": h.api_key},
            timeout=10,
        )
        data = http.get(r.json()["data"]["exportPath"], timeout=10).content
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            # picture URLs are on the hub itself: the same but for its address
            return [
                (i.filename, zf.read(i).replace(h.base_url.encode(), b"HUB")) for i in zf.infolist()
            ]

    # ``hub`` is unpickled from the demo built once per process: ``same`` builds it anew
    same = LocalHub(demo=False)
    same.project_id = build_demo(same.state, 0)
    with same, LocalHub(seed=1) as other:
        assert same.project_id == hub.project_id and same.api_key != hub.api_key
        assert zipped(same) == zipped(hub)
        assert other.project_id != hub.project_id and zipped(other) != zipped(hub)


def test_each_demo_hub_has_a_store_of_its_own():
    first, second = LocalHub(), LocalHub()
    asset = next(a for a in first.project().assets.values() if a.task.answer["tools"])
    asset.task.answer["tools"].append({"schemaId": "changed"})
    first.project().assets.popitem()
    first.state.new_id()
    fresh = Store(0)
    build_demo(fresh, 0)
    # the second hub and a third one hold the demo as built, not the first hub's changed state
    for other in (second, LocalHub()):
        assert other.state.projects == fresh.projects and other.state.tasks == fresh.tasks
        assert other.state.projects != first.state.projects
    # ... and their id generators stand where a fresh build leaves them
    assert second.state.new_id() == fresh.new_id()


def test_keyed_requests_racing_apply_once(small):
    body = {"project": small.ids["project"], "labels": [{"externalId": "solo.jpg", "answer": {}}]}

    def send(_):
        return requests.post(
            f"{small.url}/import/labels",
            json=body,
            timeout=10,
            headers={"apikey": small.api_key, "Idempotency-Key": "same"},
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(send, range(16))) == {200}
    assert small.applications("solo.jpg") == 1 and small.replays == 15


def test_chunked_request_bodies_are_read(small):
    payload = json.dumps(
        {"project": small.ids["project"], "labels": [{"assetId": small.ids["c"], "answer": {}}]}
    )
    parts = (payload[i : i + 7].encode() for i in range(0, len(payload), 7))
    r = requests.post(
        f"{small.url}/import/labels",
        data=parts,
        timeout=10,
        headers={"apikey": small.api_key, "Content-Type": "application/json"},
    )
    assert r.status_code == 200 and small.applications(small.ids["c"]) == 1


def test_serve_runs_until_the_hub_stops():
    seen = {}

    def ready(h):
        seen["hub"] = h
        seen["status"] = requests.get(
            f"{h.url}/project/{h.project_id}", headers={"apikey": "s"}, timeout=5
        ).status_code
        threading.Timer(0.1, h.stop).start()

    thread = threading.Thread(
        target=serve, kwargs={"api_key": "s", "demo": True, "on_ready": ready}
    )
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive() and seen["status"] == 200
    with pytest.raises(ConfigError):
        seen["hub"].url  # noqa: B018


def test_requests_log_never_holds_the_key(small, http):
    post(http, small, "/import/labels", {"project": small.ids["project"], "labels": []})
    assert small.requests[-1] == ("POST", "/v2/import/labels", {}, True)
    assert "k-small" not in repr(small.requests) and "k-small" not in repr(small)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-11-01T08:00:00.000Z", datetime(2024, 11, 1, 8, tzinfo=timezone.utc)),
        ("2020-08-19T07:37:15.000000Z", datetime(2020, 8, 19, 7, 37, 15, tzinfo=timezone.utc)),
        (
            "2024-11-01T08:00:00.1234567+02:00",
            datetime(2024, 11, 1, 6, 0, 0, 123456, tzinfo=timezone.utc),
        ),
        ("2024-11-01", datetime(2024, 11, 1, tzinfo=timezone.utc)),
    ],
)
def test_parse_iso_accepts_the_forms_clients_send(text, expected):
    assert parse_iso(text) == expected
