"""Importer against a real HTTP server on 127.0.0.1: chunking, keys, failures, journal, dry run."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

from ango_frames.api.client import Client
from ango_frames.api.transport import RetryPolicy
from ango_frames.errors import ConfigError, ImportIncomplete, PayloadError
from ango_frames.imports.send import DryRun, annotate, import_attachments, import_labels

KEY = "sk-secret-key-0123456789"


class FakeHub(ThreadingHTTPServer):
    """Answers the three import endpoints; refuses bodies naming an asset in ``refuse``."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[dict] = []
        self.refuse: set[str] = set()
        self.applied: dict[str, dict] = {}  # idempotency key -> stored reply
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v2"


class Handler(BaseHTTPRequestHandler):
    server: FakeHub

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _reply(self, status: int, body: dict) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        if self.path.startswith("/v2/project/"):
            schema = {"tools": [{"tool": "bounding-box", "title": "car", "schemaId": "t-car"}]}
            self._reply(200, {"status": "success", "data": {"project": {"categorySchema": schema}}})
        else:
            self._reply(404, {"status": "fail", "message": "no such path"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = self.headers.get("Idempotency-Key")
        hub = self.server
        with hub.lock:
            hub.requests.append(
                {"path": self.path, "body": body, "key": key, "apikey": self.headers.get("apikey")}
            )
            items = body.get("labels") or body.get("attachments") or []
            names = {i.get("externalId") or i.get("assetId") for i in items}
            if names & hub.refuse or any(t in self.path for t in hub.refuse):
                self._reply(400, {"status": "fail", "message": "refused by test"})
                return
            if key in hub.applied:
                self._reply(200, hub.applied[key])
                return
            if self.path.startswith("/v2/import/labels"):
                reply = {
                    "status": "success",
                    "data": {"project": f"{len(items)} / {len(items)} tasks are labeled."},
                }
            elif self.path.startswith("/v2/attachments"):
                reply = {
                    "status": "success",
                    "data": {
                        "project": {"attachmentsImported": len(items), "assetsUpdated": len(names)}
                    },
                }
            else:
                reply = {
                    "status": "success",
                    "data": {"label": {"_id": self.path.rsplit("/", 1)[-1].split("?")[0]}},
                }
            hub.applied[key] = reply
        self._reply(200, reply)


@pytest.fixture
def hub():
    server = FakeHub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def client(hub):
    with Client(KEY, base_url=hub.url, retry=RetryPolicy(max_attempts=1), rate_limit=None) as c:
        yield c


def boxes(n_assets: int, per: int = 2) -> pd.DataFrame:
    n = n_assets * per
    return pd.DataFrame(
        {
            "external_id": [f"img{i // per}.jpg" for i in range(n)],
            "schema_id": "t-car",
            "x": [float(i) for i in range(n)],
            "y": 1.0,
            "width": 2.0,
            "height": 3.0,
            "score": [0.5 + (i % 2) * 0.25 for i in range(n)],
        }
    )


def test_chunks_by_count_with_idempotency_keys(hub, client):
    results = import_labels(client, "proj", boxes(5), chunk_rows=2)
    assert [r["path"] for r in hub.requests] == ["/v2/import/labels"] * 3
    assert [len(r["body"]["labels"]) for r in hub.requests] == [2, 2, 1]
    sent = [lb["externalId"] for r in hub.requests for lb in r["body"]["labels"]]
    assert sent == [f"img{i}.jpg" for i in range(5)]
    for r in hub.requests:
        assert r["body"]["project"] == "proj"
        assert len(r["key"]) == 64 and r["apikey"] == KEY
    assert len({r["key"] for r in hub.requests}) == 3
    assert list(results["status"]) == ["sent"] * 5
    assert list(results["chunk"]) == [0, 0, 1, 1, 2]
    assert list(results["n_objects"]) == [2] * 5
    assert list(results["score_mean"]) == [0.625] * 5
    assert "tasks are labeled" in results.loc[0, "reply"]


def test_key_is_the_content_key_bound_to_the_run(client, hub):
    dry = import_labels(client, "proj", boxes(3), chunk_rows=10, dry_run=True)
    assert isinstance(dry, DryRun) and hub.requests == []
    import orjson

    raw = orjson.dumps(dry.chunks[0])
    assert dry.plan.loc[0, "key"] == hashlib.sha256(b"proj" + raw).hexdigest()
    assert dry.plan.loc[0, "sha256"] == hashlib.sha256(raw).hexdigest()
    res = import_labels(client, "proj", boxes(3), chunk_rows=10)
    run = res.attrs["run"]
    wire = hashlib.sha256(b"run\0" + run.encode() + b"\0" + dry.plan.loc[0, "key"].encode())
    assert hub.requests[0]["key"] == wire.hexdigest()
    assert hub.requests[0]["body"] == dry.chunks[0]
    # a second run of the same rows is a new run: new keys, applied again
    again = import_labels(client, "proj", boxes(3), chunk_rows=10)
    assert again.attrs["run"] != run and hub.requests[1]["key"] != hub.requests[0]["key"]


def test_chunks_by_bytes():
    from ango_frames.imports.chunks import plan_chunks

    items = [
        {"externalId": f"a{i}", "answer": {"objects": [], "pad": "x" * 100}} for i in range(10)
    ]
    one = len(json.dumps(items[0], separators=(",", ":")))
    chunks = plan_chunks(
        "p", "labels", items, "import/labels", chunk_rows=100, chunk_bytes=3 * one + 40
    )
    assert all(len(c.raw) <= 3 * one + 40 for c in chunks)
    assert [c.stop - c.start for c in chunks] == [3, 3, 3, 1]
    assert [json.loads(c.raw) for c in chunks] == [c.body for c in chunks]
    huge = plan_chunks("p", "labels", items, "x", chunk_bytes=10)  # an item bigger than the limit
    assert [c.stop - c.start for c in huge] == [1] * 10


def test_a_failing_chunk_does_not_sink_the_others(hub, client):
    hub.refuse = {"img2.jpg"}
    with pytest.raises(ImportIncomplete) as err:
        import_labels(client, "proj", boxes(5), chunk_rows=2)
    res = err.value.results
    assert list(res["status"]) == ["sent", "sent", "failed", "failed", "sent"]
    assert list(res["sent"]) == [True, True, False, False, True]
    assert res.loc[2, "error"].startswith("BadRequest") and "refused by test" in res.loc[2, "error"]
    assert len(hub.requests) == 3
    assert "2 of 5" in str(err.value) and "1 of 3" in str(err.value)


def test_journal_resumes_with_the_same_keys_and_skips_acked(hub, client, tmp_path):
    journal = tmp_path / "import.jsonl"
    hub.refuse = {"img2.jpg"}
    with pytest.raises(ImportIncomplete):
        import_labels(client, "proj", boxes(5), chunk_rows=2, journal=journal)
    failed_key = hub.requests[1]["key"]
    hub.refuse = set()
    hub.requests.clear()
    results = import_labels(client, "proj", boxes(5), chunk_rows=2, journal=journal)
    assert [r["key"] for r in hub.requests] == [failed_key]
    assert list(results["status"]) == ["skipped (journal)"] * 2 + ["sent"] * 2 + [
        "skipped (journal)"
    ]
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert lines[0]["type"] == "header" and lines[0]["project"] == "proj"
    assert [e["type"] for e in lines[1:]].count("acked") == 3
    assert KEY not in journal.read_text()
    # a third run sends nothing at all
    hub.requests.clear()
    again = import_labels(client, "proj", boxes(5), chunk_rows=2, journal=journal)
    assert hub.requests == [] and set(again["status"]) == {"skipped (journal)"}


def test_journal_of_another_plan_is_refused(client, tmp_path, hub):
    journal = tmp_path / "j.jsonl"
    import_labels(client, "proj", boxes(2), journal=journal)
    with pytest.raises(ConfigError, match="another import plan"):
        import_labels(client, "proj", boxes(3), journal=journal)
    with pytest.raises(ConfigError):
        import_labels(client, "proj", boxes(2), chunk_rows=1, journal=journal)


def test_invalid_rows_send_nothing(hub, client):
    df = boxes(2)
    df.loc[1, "width"] = -1.0
    with pytest.raises(PayloadError):
        import_labels(client, "proj", df)
    assert hub.requests == []
    res = import_labels(client, "proj", df, on_error="skip")
    assert list(res.attrs["failures"]["reason"]) == ["non_positive_size"]
    assert list(res["n_objects"]) == [1, 2]


def test_titles_fetch_the_ontology(hub, client):
    df = boxes(1).drop(columns="schema_id").assign(title="car")
    import_labels(client, "proj", df)
    (req,) = hub.requests
    assert {o["schemaId"] for o in req["body"]["labels"][0]["answer"]["objects"]} == {"t-car"}


def test_attachments(hub, client):
    df = pd.DataFrame(
        {"asset_id": ["A1", "A2", "A3"], "url": ["https://x/1", "https://x/2", "https://x/3"]}
    )
    res = import_attachments(client, "proj", df, chunk_rows=2)
    assert [len(r["body"]["attachments"]) for r in hub.requests] == [2, 1]
    assert hub.requests[0]["body"]["attachments"][0] == {
        "assetId": "A1",
        "attachmentUrl": "https://x/1",
    }
    assert list(res["key"]) == ["A1", "A2", "A3"] and set(res["status"]) == {"sent"}


def test_annotate_one_request_per_task(hub, client, tmp_path):
    df = boxes(2).assign(task_id=lambda d: d["external_id"].str.replace(".jpg", "", regex=False))
    hub.refuse = {"img1"}
    with pytest.raises(ImportIncomplete) as err:
        annotate(client, df.drop(columns="external_id"), journal=tmp_path / "a.jsonl")
    assert [r["path"] for r in hub.requests] == [
        "/v2/annotate/img0?isPlugin=false",
        "/v2/annotate/img1?isPlugin=false",
    ]
    assert set(hub.requests[0]["body"]) == {"answer"}
    assert len(hub.requests[0]["body"]["answer"]["objects"]) == 2
    assert list(err.value.results["status"]) == ["sent", "failed"]
    hub.refuse = set()
    hub.requests.clear()
    res = annotate(client, df.drop(columns="external_id"), journal=tmp_path / "a.jsonl")
    assert [r["path"] for r in hub.requests] == ["/v2/annotate/img1?isPlugin=false"]
    assert list(res["status"]) == ["skipped (journal)", "sent"]


def test_local_hub_export_import_round_trip():
    """read_export -> import_labels -> export again gives the same tidy answers (lossless)."""
    import warnings

    from ango_frames.export.tables import read_export
    from ango_frames.testing import LocalHub

    def tidy(tables):
        cols = {
            "objects": [
                "task_id",
                "object_id",
                "schema_id",
                "tool",
                "page",
                "x",
                "y",
                "width",
                "height",
            ],
            "classifications": [
                "task_id",
                "object_id",
                "schema_id",
                "answer",
                "answer_index",
                "page",
            ],
            "relations": [
                "task_id",
                "schema_id",
                "kind",
                "from_object_id",
                "to_object_id",
                "direction",
            ],
        }
        return {
            name: getattr(tables, name)[c].astype(str).sort_values(c).reset_index(drop=True)
            for name, c in cols.items()
        }

    with LocalHub() as local, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = Client(
            local.api_key, base_url=local.url, retry=RetryPolicy(backoff_base=0), rate_limit=None
        )
        before = read_export(c.export(local.project_id, format="ndjson"))
        ontology = c.get_project(local.project_id)
        results = import_labels(c, local.project_id, before, ontology=ontology, chunk_rows=100)
        assert set(results["status"]) == {"sent"} and len(results) == len(before.tasks)
        # every asset's answer was replaced by the imported one exactly once...
        assert {local.applications(k) for k in results["key"]} == {1}
        after = read_export(c.export(local.project_id, format="ndjson"))
    # ...and the re-export holds the same answers: nothing lost or changed on the way
    for name, frame in tidy(before).items():
        pd.testing.assert_frame_equal(frame, tidy(after)[name], obj=name)
