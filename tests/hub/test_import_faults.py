"""Imports over a flaky network: every label applied exactly once, even when the process dies.

The local hub fails a seeded share of the requests (5xx, 429, connections dropped before and
after applying); the importer's idempotency keys, retries and journal must still end with each
asset labeled once. Then the importing process itself is SIGKILLed mid-way and resumed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import orjson
import pandas as pd
import pytest

from ango_frames.api.client import Client
from ango_frames.api.transport import RetryPolicy
from ango_frames.errors import ImportIncomplete
from ango_frames.imports.send import annotate, import_attachments, import_labels
from ango_frames.testing import LocalHub

N = 10_000
CHUNK = 200
ONTOLOGY = {"tools": [{"tool": "bounding-box", "title": "car", "schemaId": "car-1"}]}
RETRY = RetryPolicy(backoff_base=0.01, backoff_max=0.05)
REPO = Path(__file__).resolve().parents[2]
# about 20% of requests fail: 1 - (1 - 0.045) ** 5
MIX = ("500", "503", "429", "drop_before", "drop_after")


def _hub(n: int) -> tuple[LocalHub, str, list[str]]:
    hub = LocalHub(demo=False).start()
    pid = hub.add_project("flaky", ontology=ONTOLOGY)
    ids = [hub.add_asset(pid, f"img{i:05d}.jpg").id for i in range(n)]
    return hub, pid, ids


def _boxes(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "external_id": [f"img{i:05d}.jpg" for i in range(n)],
            "schema_id": "car-1",
            "x": [float(i % 500) for i in range(n)],
            "y": 2.0,
            "width": 30.0,
            "height": 40.0,
        }
    )


def _client(hub: LocalHub, **kw) -> Client:
    kw.setdefault("retry", RETRY)
    return Client(base_url=hub.url, api_key=hub.api_key, rate_limit=None, **kw)


def _until_complete(run, attempts: int = 5) -> list[pd.DataFrame]:
    """Run an import with its journal until nothing is left (what a user's retry loop does)."""
    results = []
    for _ in range(attempts):
        try:
            results.append(run())
            return results
        except ImportIncomplete as exc:
            results.append(exc.results)
    raise AssertionError(f"still incomplete after {attempts} runs")


def _applied(hub: LocalHub, ids: list[str]) -> pd.Series:
    with hub.state.lock:
        return pd.Series([hub.state.applications[a] for a in ids], index=ids)


def test_ten_thousand_labels_with_a_fifth_of_requests_failing(tmp_path):
    hub, pid, ids = _hub(N)
    try:
        rules = [hub.faults.fail_ratio("import_labels", 0.045, kind, seed=i) for i, kind in
                 enumerate(MIX)]  # fmt: skip
        journal = tmp_path / "labels.journal"
        with _client(hub) as client:
            runs = _until_complete(
                lambda: import_labels(client, pid, _boxes(N), chunk_rows=CHUNK, journal=journal)
            )
        applied = _applied(hub, ids)
        assert (applied == 1).all(), applied.value_counts().to_dict()
        last = runs[-1]
        assert len(last) == N and last["status"].isin(["sent", "skipped (journal)"]).all()
        assert last["key"].tolist() == [f"img{i:05d}.jpg" for i in range(N)]
        # the faults really happened, all kinds, and the drops after applying were deduped
        assert all(rule.fired > 0 for rule in rules), [(r.kind, r.fired) for r in rules]
        posts = [r for r in hub.requests if r.path == "/v2/import/labels"]
        assert len(posts) >= N // CHUNK + sum(r.fired for r in rules)
        assert hub.replays >= rules[MIX.index("drop_after")].fired
        assert not hub.errors
    finally:
        hub.stop()


@pytest.mark.slow
def test_attachments_and_annotations_under_faults_apply_once(tmp_path):
    hub, pid, ids = _hub(400)
    try:
        for i, kind in enumerate(MIX):
            hub.faults.fail_ratio("attachments", 0.045, kind, seed=10 + i)
            hub.faults.fail_ratio("annotate", 0.045, kind, seed=20 + i)
        frame = pd.DataFrame(
            {
                "external_id": [f"img{i:05d}.jpg" for i in range(400)],
                "url": [f"https://files.example.org/{i}.pdf" for i in range(400)],
            }
        )
        tasks = [hub.state.project(pid).assets[a].task.id for a in ids]
        boxes = _boxes(400).drop(columns="external_id").assign(task_id=tasks)
        with _client(hub) as client:
            _until_complete(
                lambda: import_attachments(
                    client, pid, frame, chunk_rows=50, journal=tmp_path / "att.journal"
                )
            )
            _until_complete(
                lambda: annotate(
                    client, boxes, project=pid, ontology=ONTOLOGY, journal=tmp_path / "ann.journal"
                )
            )
        assert [len(hub.attachments(a)) for a in ids] == [1] * 400
        assert (_applied(hub, ids) == 1).all()
    finally:
        hub.stop()


# ------------------------------------------------------------------------------ a killed process

CHILD = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from ango_frames.api.client import Client
    from ango_frames.imports.send import import_labels
    from ango_frames.api.transport import RetryPolicy

    url, project, frame, journal = sys.argv[1:5]
    client = Client(base_url=url, rate_limit=None, retry=RetryPolicy(backoff_base=0.01))
    import_labels(client, project, pd.read_parquet(frame), chunk_rows=200, journal=journal)
    print("finished")
    """
)


def _journal(path: Path) -> list[dict]:
    if not path.exists():
        return []
    entries = []
    for line in path.read_bytes().splitlines():
        with contextlib.suppress(orjson.JSONDecodeError):  # a line being written
            entries.append(orjson.loads(line))
    return entries


def test_killed_import_process_resumes_from_its_journal(tmp_path):
    hub, pid, ids = _hub(N)
    try:
        frame_path, journal = tmp_path / "boxes.parquet", tmp_path / "labels.journal"
        _boxes(N).to_parquet(frame_path)
        (tmp_path / "child.py").write_text(CHILD)
        # every request is applied at once and answered 50 ms later: a kill lands between the two
        hub.faults.fail_ratio("import_labels", 1.0, "stall", seconds=0.05)
        env = {**os.environ, "ANGO_API_KEY": hub.api_key, "PYTHONPATH": str(REPO)}
        child = subprocess.Popen(
            [sys.executable, str(tmp_path / "child.py"), hub.url, pid, str(frame_path),
             str(journal)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        try:
            while time.monotonic() < deadline:
                entries = _journal(journal)
                acked = sum(e.get("type") == "acked" for e in entries)
                if (
                    acked >= 10
                    and entries[-1].get("type") == "sending"
                    and _applied(hub, ids).sum() == (acked + 1) * CHUNK
                ):
                    child.send_signal(signal.SIGKILL)  # mid-request: applied, never acked
                    break
                assert child.poll() is None, child.communicate()
                time.sleep(0.002)
            else:
                pytest.fail("the child never acked 10 chunks")
        finally:
            child.kill()
            child.wait(10)
        assert child.returncode == -signal.SIGKILL
        entries = _journal(journal)
        acked = {e["chunk"] for e in entries if e.get("type") == "acked"}
        in_flight = {e["chunk"] for e in entries if e.get("type") == "sending"} - acked
        assert len(acked) >= 10 and len(in_flight) == 1
        applied = _applied(hub, ids)
        assert applied.sum() == (len(acked) + 1) * CHUNK  # the in-flight chunk was applied
        assert applied.max() == 1

        hub.faults.clear()
        with _client(hub) as client:
            results = import_labels(client, pid, _boxes(N), chunk_rows=CHUNK, journal=journal)
        skipped = results["status"] == "skipped (journal)"
        assert set(results.loc[skipped, "chunk"]) == acked
        assert (results.loc[~skipped, "status"] == "sent").all()
        assert (_applied(hub, ids) == 1).all()  # nothing lost, nothing twice
        assert hub.replays == 1  # the in-flight chunk was answered from its idempotency key
    finally:
        hub.stop()
