"""Streamed label imports: each chunk made when it is sent, with the eager plan's bytes and keys.

``tests/data/stream_plans.json`` holds the plans (items, bytes, sha256, key, first, last per
chunk) the eager importer gave for the frames of :mod:`tests.unit.stream_cases`. The requests
are caught at the transport seam (a requests adapter), so what is compared is what went out.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import orjson
import pytest
import requests
from requests.adapters import BaseAdapter

from ango_frames.api.client import Client
from ango_frames.api.transport import RetryPolicy
from ango_frames.errors import ConfigError, ImportIncomplete, PayloadError
from ango_frames.imports.chunks import Chunk, ChunkPlan, request_key
from ango_frames.imports.delivery import send_chunks
from ango_frames.imports.label_stream import BLOCK
from ango_frames.imports.labels import build_labels, labels_payload
from ango_frames.imports.send import import_labels
from tests.unit.stream_cases import GOLDEN, ONTOLOGY, boxes, cases, plan_of

CASES = cases()
PLANS = json.loads(GOLDEN.read_text(encoding="utf-8"))


class Wire(BaseAdapter):
    """Records every request's bytes and headers; answers ``K / K tasks are labeled.``, or the
    status in ``fail`` for the n-th request (0-based)."""

    def __init__(self, fail: dict[int, int] | None = None) -> None:
        super().__init__()
        self.fail = dict(fail or {})
        self.sent: list[tuple[bytes, dict[str, str]]] = []

    def send(self, request, **kwargs):
        body = request.body if isinstance(request.body, bytes) else request.body.encode()
        n = len(self.sent)
        self.sent.append((body, dict(request.headers)))
        resp = requests.Response()
        status = self.fail.get(n, 200)
        resp.status_code = status
        items = len(next(v for k, v in orjson.loads(body).items() if k != "project"))
        answer = {"status": "success", "data": {"project": f"{items} / {items} tasks are labeled."}}
        resp._content = orjson.dumps(answer if status == 200 else {"message": "nope"})
        resp.url, resp.request = request.url, request
        return resp

    def close(self) -> None:
        pass

    @property
    def bodies(self) -> list[bytes]:
        return [b for b, _ in self.sent]

    @property
    def keys(self) -> list[str]:
        return [h["Idempotency-Key"] for _, h in self.sent]


def client(wire: Wire) -> Client:
    c = Client(
        api_key="sk-test-stream-0123456789",
        base_url="https://hub.example.org/v2",
        retry=RetryPolicy(max_attempts=1, backoff_base=0.0, jitter=False),
        rate_limit=None,
    )
    c.transport.session.mount("https://", wire)
    return c


def run(name: str, wire: Wire, **more):
    kw = {**CASES[name], **more}
    data = kw.pop("data")
    return import_labels(client(wire), "proj-1", data, ontology=ONTOLOGY, **kw)


@pytest.mark.parametrize("name", sorted(CASES))
def test_dry_run_plan_is_the_eager_plan(name):
    kw = dict(CASES[name])
    dry = import_labels(None, "proj-1", kw.pop("data"), ontology=ONTOLOGY, dry_run=True, **kw)
    assert plan_of(dry) == PLANS[name]


@pytest.mark.parametrize("journal", [False, True])
@pytest.mark.parametrize("name", sorted(CASES))
def test_streamed_requests_carry_the_eager_bytes_and_keys(name, journal, tmp_path):
    wire = Wire()
    more = {"journal": tmp_path / "j.jsonl"} if journal else {}
    results = run(name, wire, **more)
    plan = PLANS[name]
    assert [hashlib.sha256(b).hexdigest() for b in wire.bodies] == [row[2] for row in plan]
    assert [len(b) for b in wire.bodies] == [row[1] for row in plan]
    run_id = results.attrs["run"]
    assert wire.keys == [request_key(run_id, row[3]) for row in plan]
    assert (results["status"] == "sent").all()
    assert results.groupby("chunk").size().tolist() == [row[0] for row in plan]
    # the dry run's bodies (built whole, as the user asked to see them) serialise to the same
    kw = dict(CASES[name])
    dry = import_labels(None, "proj-1", kw.pop("data"), ontology=ONTOLOGY, dry_run=True, **kw)
    assert [orjson.dumps(body) for body in dry.chunks] == wire.bodies


def test_the_stream_sliced_anywhere_gives_the_full_payload():
    df = boxes(2 * BLOCK + 300, per_asset=1, seed=11)
    df.loc[df.index[::7], "occ"] = "yes"
    whole = labels_payload(df, "p", ONTOLOGY, nested={"occluded": "occ"})["labels"]
    batch = build_labels(df, "p", ONTOLOGY, nested={"occluded": "occ"})
    for start, stop in [(0, None), (BLOCK - 3, BLOCK + 5), (2 * BLOCK - 1, 2 * BLOCK + 300)]:
        assert list(batch.items(start, stop)) == whole[start:stop]
    assert len(batch) == len(whole) == 2 * BLOCK + 300


def test_a_bad_row_late_in_the_frame_sends_nothing(tmp_path):
    df = boxes(3000, seed=12)
    df.loc[2999, "width"] = -1.0  # in the last chunk
    wire = Wire()
    with pytest.raises(PayloadError) as err:
        import_labels(client(wire), "proj-1", df, chunk_rows=10, journal=tmp_path / "j.jsonl")
    assert wire.sent == []
    assert err.value.failure_cases["row"].tolist() == [2999]


def test_a_resumed_journal_sends_only_the_failed_chunk_with_its_first_key(tmp_path):
    journal = tmp_path / "j.jsonl"
    first = Wire(fail={3: 500})
    with pytest.raises(ImportIncomplete) as err:
        run("nested", first, journal=journal)
    results = err.value.results
    assert results.loc[results["chunk"] == 3, "status"].eq("failed").all()
    assert results.loc[results["chunk"] != 3, "status"].eq("sent").all()
    again = Wire()
    resumed = run("nested", again, journal=journal)
    assert again.bodies == [first.bodies[3]]
    assert again.keys == [first.keys[3]]  # same run id: the hub may answer from its store
    assert resumed.loc[resumed["chunk"] == 3, "status"].eq("sent").all()
    assert resumed.loc[resumed["chunk"] != 3, "status"].eq("skipped (journal)").all()
    assert resumed.attrs["run"] == results.attrs["run"]
    done = Wire()
    run("nested", done, journal=journal)
    assert done.sent == []
    # a journal of the eager importer's plan is this plan: its header fingerprint matches
    header = json.loads(journal.read_text().splitlines()[0])
    chunk_shas = [row[2] for row in PLANS["nested"]]
    want = hashlib.sha256(b"labels\0proj-1" + "".join(chunk_shas).encode()).hexdigest()
    assert header["fingerprint"] == want


def test_an_auth_failure_stops_the_stream_and_numbers_every_chunk():
    wire = Wire(fail={1: 401})
    with pytest.raises(ImportIncomplete) as err:
        run("boxes", wire)
    results = err.value.results
    assert len(wire.sent) == 2
    assert results["chunk"].max() + 1 == len(PLANS["boxes"])
    later = results[results["chunk"] >= 2]
    assert later["status"].eq("not sent").all()
    assert later["error"].str.startswith("not sent after AuthError").all()


def _plan_remade_differently() -> ChunkPlan:
    def chunk(i: int, text: str) -> Chunk:
        raw = orjson.dumps({"project": "p", "labels": [{"externalId": text, "answer": {}}]})
        sha = hashlib.sha256(raw).hexdigest()
        return Chunk(i, "import/labels", i, i + 1, orjson.loads(raw), raw, sha, sha)

    planned = [chunk(0, "a"), chunk(1, "b")]
    return ChunkPlan(
        "labels",
        "p",
        [("externalId", "a"), ("externalId", "b")],
        lambda: iter(planned),
        lambda outline: chunk(outline.index, "changed" if outline.index == 1 else "a"),
    )


def test_a_chunk_that_no_longer_matches_its_planned_hash_is_not_sent(tmp_path):
    wire = Wire()
    rows = send_chunks(client(wire), _plan_remade_differently(), tmp_path / "j.jsonl", False)
    assert len(wire.sent) == 1 and b'"a"' in wire.bodies[0]
    assert rows.status == ["sent", "not sent"]
    assert rows.error[1] is not None and "planned content" in rows.error[1]


def test_progress_bar_counts_the_planned_requests(capsys):
    run("boxes", Wire(), progress=True)
    err = capsys.readouterr().err
    assert f"{len(PLANS['boxes'])}/{len(PLANS['boxes'])}" in err


def test_client_post_sends_raw_bytes_as_given():
    wire = Wire()
    raw = b'{"project":"p","labels":[{"externalId":"a","answer":{"x":1.0000000000000002}}]}'
    client(wire).post("import/labels", None, raw=raw, idempotency_key="k1")
    body, headers = wire.sent[0]
    assert body == raw
    assert headers["Content-Type"] == "application/json"
    with pytest.raises(ConfigError, match="not both"):
        client(wire).post("import/labels", {"a": 1}, raw=raw)


def test_a_client_without_raw_gets_the_same_body_parsed():
    class Plain:
        def __init__(self) -> None:
            self.bodies: list[bytes] = []

        def post(self, path, body, *, params=None, idempotency_key=None):
            self.bodies.append(orjson.dumps(body))
            n = len(body["labels"])
            return {"status": "success", "data": {"project": f"{n} / {n} tasks are labeled."}}

    plain = Plain()
    kw = dict(CASES["mixed"])
    results = import_labels(plain, "proj-1", kw.pop("data"), ontology=ONTOLOGY, **kw)
    shas = [hashlib.sha256(b).hexdigest() for b in plain.bodies]
    assert shas == [row[2] for row in PLANS["mixed"]]
    assert (results["status"] == "sent").all()


def test_labels_payload_still_returns_the_whole_body():
    df = boxes(30, seed=13)
    body = labels_payload(df, "p")
    assert body["project"] == "p"
    assert len(body["labels"]) == 10
    assert sum(len(label["answer"]["objects"]) for label in body["labels"]) == 30
    assert np.isclose(body["labels"][0]["answer"]["objects"][0]["bounding-box"]["x"], df["x"][0])


def _spool_plan(texts_seen: list[int]) -> ChunkPlan:
    kw = dict(CASES["boxes"])
    batch = build_labels(kw.pop("data"), "proj-1", ONTOLOGY)

    def texts(start, stop):
        texts_seen.append(start)
        return batch.texts(start, stop)

    return ChunkPlan.stream("labels", "proj-1", batch.keys, "labels", "import/labels",
                            batch.items, chunk_rows=kw["chunk_rows"], texts=texts,
                            spill=True)  # fmt: skip


def test_a_journaled_send_makes_each_chunk_once_and_reads_its_bytes_back(tmp_path, monkeypatch):
    import tempfile

    made: list = []
    real = tempfile.TemporaryFile

    def spy(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "TemporaryFile", spy)
    seen: list[int] = []
    wire = Wire()
    rows = send_chunks(client(wire), _spool_plan(seen), tmp_path / "j.jsonl", False)
    plan = PLANS["boxes"]
    assert seen == [0]  # one pass over the texts: the send pass read the spool
    assert [hashlib.sha256(b).hexdigest() for b in wire.bodies] == [row[2] for row in plan]
    assert set(rows.status) == {"sent"}
    assert len(made) == 1 and made[0].closed  # the spool is gone once the send is over
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j.jsonl"]
    # the journal holds hashes and ids, not the payload the spool held
    assert b"img_" not in (tmp_path / "j.jsonl").read_bytes()


def test_spooled_bytes_that_read_back_changed_are_made_again(tmp_path):
    from ango_frames.imports.spool import planned

    seen: list[int] = []
    with planned(_spool_plan(seen)) as made:
        assert made.spool is not None and len(made.spool) == len(PLANS["boxes"])
        fh = made.spool._fh
        fh.seek(5)
        fh.write(b"#")  # a byte of chunk 0 flipped on disk
        first, second = made.chunk(made.outlines[0]), made.chunk(made.outlines[1])
        assert first.sha256 == made.outlines[0].sha256 == PLANS["boxes"][0][2]
        assert hashlib.sha256(first.raw).hexdigest() == PLANS["boxes"][0][2]
        assert hashlib.sha256(second.raw).hexdigest() == PLANS["boxes"][1][2]
        # chunk 0 was made again from the stream; chunk 1 came from the spool
        assert seen == [0, 0]
        assert second.items == orjson.loads(second.raw)["labels"]


def test_a_spool_that_cannot_be_written_closes_and_keeps_nothing(tmp_path):
    from ango_frames.imports.spool import Spool

    spool = Spool(str(tmp_path))
    assert spool.put(0, b"abc") and spool.get(0) == b"abc"
    assert list(tmp_path.iterdir()) == []  # the spool has no name on disk
    spool._fh.close()
    (tmp_path / "ro").write_bytes(b"")
    spool._fh = open(tmp_path / "ro", "rb")  # noqa: SIM115 - read only: a write is an OSError
    spool.put(1, b"def")  # written on the spool's thread: the failure shows on the next call
    assert spool.put(2, b"ghi") is False
    assert spool._fh is None and spool.get(0) is None and len(spool) == 0
