"""ango_frames.dask on a real LocalCluster with two worker processes: results as on one machine."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

import dask.dataframe as dd
import orjson
import pandas as pd
import pyarrow.parquet as pq
import pytest

pytest.importorskip("dask.distributed")

from dask.distributed import Client, LocalCluster, get_task_stream
from dask.utils import key_split

import ango_frames
import ango_frames.dask as afd
from ango_frames.api.client import Client as AngoClient
from ango_frames.api.transport import RetryPolicy
from ango_frames.dask._send import ClientSpec
from ango_frames.errors import (
    ConfigError,
    ExportFormatError,
    ImportIncomplete,
    PayloadError,
    UnknownKeysWarning,
)
from ango_frames.export.parquet import METADATA_KEY
from ango_frames.export.records import plan_parts
from ango_frames.schemas import SCHEMA_VERSION, TABLE_NAMES
from ango_frames.testing import LocalHub

ROOT = Path(__file__).resolve().parents[2]
KEYS = (
    "task_id",
    "task_index",
    "history_order",
    "object_id",
    "classification_id",
    "answer_index",
    "relation_id",
    "issue_id",
)


def _make_records(n: int) -> list[dict]:
    """The benchmark generator's first ``n`` records (rich: video, history, relations)."""
    spec = importlib.util.spec_from_file_location(
        "_make_export", ROOT / "benchmarks/make_export.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.make_records(n, seed=7))


def _varied(records: list[dict]) -> list[dict]:
    """Dynamic columns that differ between parts: int then float, a key only late, text late."""
    out = []
    n = len(records)
    for i, rec in enumerate(records):
        rec = dict(rec)
        meta = dict(rec.get("metadata") or {})
        meta["width"] = 640 if i < n // 2 else 640.5
        if i >= 2 * n // 3:
            meta["site"] = "north"
            meta["camera"] = 3 if i % 2 else "front"
        rec["metadata"] = meta
        out.append(rec)
    out[n // 2]["surprise"] = {"new": "key"}  # an unknown key: one warning on both paths
    return out


@pytest.fixture(scope="module")
def cluster_client():
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            worker_dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return _varied(_make_records(120))


@pytest.fixture(scope="module")
def ndjson(tmp_path_factory, records) -> Path:
    path = tmp_path_factory.mktemp("ndjson") / "export.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in records) + b"\n")
    return path


def _read_both(src, **kw):
    with pytest.warns(UnknownKeysWarning, match="surprise"):
        whole = ango_frames.read_export(src)
    with pytest.warns(UnknownKeysWarning, match="surprise"):
        spread = afd.read_export(src, **kw)
    return whole, spread


def _assert_same(whole: ango_frames.ExportTables, got: ango_frames.ExportTables, sort=False):
    for name in TABLE_NAMES:
        left, right = whole[name], got[name]
        if sort:
            keys = [k for k in KEYS if k in left.columns]
            left = left.sort_values(keys).reset_index(drop=True)
            right = right.sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(right, left, obj=name)


@pytest.mark.slow
def test_ndjson_byte_ranges_equal_single_machine(cluster_client, ndjson):
    target = ndjson.stat().st_size // 5 + 1
    whole, spread = _read_both(str(ndjson), target_bytes=target)
    assert len(spread.parts) == 5 and spread.tasks.npartitions == 5
    assert spread.records == 120 and spread.rows["tasks"] == len(whole.tasks) == 120
    # meta known up front: every dynamic column of every part, typed as on one machine
    assert spread.tasks.dtypes.equals(whole.tasks.dtypes)
    assert str(spread.tasks.dtypes["metadata_width"]) == "double[pyarrow]"
    assert str(spread.tasks.dtypes["metadata_camera"]) == "string[pyarrow]"
    for name in TABLE_NAMES:
        assert list(spread[name].columns) == list(whole[name].columns), name
    _assert_same(whole, spread.compute())  # same rows, same order, same index
    assert spread.provenance == whole.provenance


@pytest.mark.slow
def test_each_part_is_flattened_once(cluster_client, ndjson, tmp_path):
    with get_task_stream() as stream, pytest.warns(UnknownKeysWarning):
        spread = afd.read_export(str(ndjson), target_bytes=ndjson.stat().st_size // 3 + 1)
        spread.objects.compute()
        spread.compute()
        afd.to_parquet(spread, tmp_path / "out")
    flattened = [t["key"] for t in stream.data if key_split(t["key"]) == "ango-flatten"]
    assert len(flattened) == len(spread.parts) == 3
    assert len(set(flattened)) == 3
    workers = {t["worker"] for t in stream.data}
    assert len(workers) == 2  # the work really was spread over both processes


@pytest.mark.slow
def test_split_zip_members_equal_single_machine(cluster_client, records, tmp_path):
    path = tmp_path / "split.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(3):
            zf.writestr(f"export-{i}.json", orjson.dumps(records[i * 40 : (i + 1) * 40]))
    whole, spread = _read_both(str(path))
    assert [p.member for p in spread.parts] == [f"export-{i}.json" for i in range(3)]
    _assert_same(whole, spread.compute())
    assert spread.provenance["format"] == "split"


@pytest.mark.slow
def test_json_array_equal_single_machine(cluster_client, records, tmp_path):
    path = tmp_path / "export.json"
    path.write_bytes(orjson.dumps(records, option=orjson.OPT_INDENT_2))
    whole, spread = _read_both(str(path))
    assert len(spread.parts) == 1
    _assert_same(whole, spread.compute())


@pytest.mark.slow
def test_many_sources_and_some_tables(cluster_client, records, tmp_path):
    a, b = tmp_path / "a.ndjson", tmp_path / "b.json"
    a.write_bytes(b"\n".join(orjson.dumps(r) for r in records[:60]))
    b.write_bytes(orjson.dumps(records[60:]))
    with pytest.warns(UnknownKeysWarning):
        spread = afd.read_export([str(a), a.with_name("b.json")], tables=["tasks", "objects"])
    assert spread.tables == ("tasks", "objects")
    assert [s["source"] for s in spread.provenance["sources"]] == [str(a), str(b)]
    with pytest.warns(UnknownKeysWarning):
        whole = ango_frames.read_export(records, tables=["tasks", "objects"])
    got = spread.compute()
    pd.testing.assert_frame_equal(got.tasks, whole.tasks)
    pd.testing.assert_frame_equal(got.objects, whole.objects)
    assert len(got.relations) == 0 and list(got.relations.columns) == list(whole.relations.columns)


def test_bad_line_in_a_later_part_names_file_and_line(cluster_client, records, tmp_path):
    lines = [orjson.dumps(r) for r in records[:40]]
    lines[33] = b'{"asset": "x", "task": {'  # truncated record
    path = tmp_path / "bad.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert len(plan_parts(str(path), target_bytes=path.stat().st_size // 4)) > 2
    with pytest.raises(ExportFormatError, match="line 34") as info:
        afd.read_export(str(path), target_bytes=path.stat().st_size // 4)
    assert info.value.source.endswith("bad.ndjson")


def test_bad_arguments(cluster_client, ndjson):
    with pytest.raises(ConfigError, match="unknown table"):
        afd.read_export(str(ndjson), tables=["object"])
    with open(ndjson, "rb") as fh, pytest.raises(ConfigError, match="file object"):
        afd.read_export(fh)
    with pytest.raises(ConfigError, match="no export sources"):
        afd.read_export([])
    with pytest.raises(ConfigError, match="target_bytes"):
        afd.read_export(str(ndjson), target_bytes=0)


@pytest.mark.slow
@pytest.mark.parametrize("partition_by", [None, "stage"])
def test_parquet_reads_back_equal(cluster_client, ndjson, tmp_path, partition_by):
    target = ndjson.stat().st_size // 4 + 1
    whole, spread = _read_both(str(ndjson), target_bytes=target)
    dest = tmp_path / "tidy"
    paths = afd.to_parquet(spread, dest, partition_by=partition_by, row_group_rows=50)
    assert set(paths) == set(TABLE_NAMES)
    back = ango_frames.ExportTables.from_parquet(dest)
    _assert_same(whole, back, sort=partition_by is not None)
    assert back.provenance == whole.provenance
    files = sorted(dest.rglob("*.parquet"))
    assert {f.relative_to(dest).parts[0] for f in files} == set(TABLE_NAMES)  # empty ones too
    for f in files:
        meta = orjson.loads(pq.read_schema(f).metadata[METADATA_KEY])
        assert meta["schema_version"] == SCHEMA_VERSION
        assert meta["table"] == f.relative_to(dest).parts[0]
        assert meta["provenance"]["source"] == str(ndjson)
    tasks = sorted((dest / "tasks").rglob("*.parquet"))
    schemas = [pq.read_schema(f).remove_metadata() for f in tasks]
    assert all(s.equals(schemas[0]) for s in schemas)  # one schema, no rewrite needed
    if partition_by is None:
        assert len(tasks) == 4
    else:
        stages = {f.parent.name for f in tasks}
        assert stages == {f"stage={s}" for s in whole.tasks["stage"].dropna().unique()}
        # a task's objects sit under its own stage
        for f in sorted((dest / "objects").rglob("*.parquet")):
            stage = f.parent.name.removeprefix("stage=")
            ids = set(pq.read_table(f).column("task_id").to_pylist())
            assert set(whole.tasks.loc[whole.tasks.task_id.isin(ids), "stage"]) == {stage}


def test_parquet_refuses_a_used_destination(cluster_client, ndjson, tmp_path):
    with pytest.warns(UnknownKeysWarning):
        spread = afd.read_export(str(ndjson), tables=["tasks"])
    afd.to_parquet(spread, tmp_path / "d")
    with pytest.raises(ConfigError, match="already holds a dataset"):
        afd.to_parquet(spread, tmp_path / "d")
    before = sorted((tmp_path / "d").rglob("*.parquet"))
    afd.to_parquet(spread, tmp_path / "d", overwrite=True)
    assert sorted((tmp_path / "d").rglob("*.parquet")) == before
    with pytest.raises(ConfigError, match="partition_by"):
        afd.to_parquet(spread, tmp_path / "e", partition_by="site")
    with pytest.raises(ConfigError, match="needs the tasks table"):
        afd.to_parquet({"objects": spread.objects}, tmp_path / "f", partition_by="stage")


@pytest.mark.slow
def test_import_error_names_the_extra():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'dask' or name.startswith('dask.'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import ango_frames\n"
        "try:\n"
        "    import ango_frames.dask\n"
        "except ImportError as exc:\n"
        "    print('ERR', exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "pip install 'ango-frames[dask]'" in out.stdout


# ------------------------------------------------------------------------------------- imports
FAST = RetryPolicy(max_attempts=1)


@pytest.fixture
def hub():
    with LocalHub() as local:
        yield local


def _predictions(n_assets: int, npartitions: int) -> dd.DataFrame:
    per = 2
    frame = pd.DataFrame(
        {
            "external_id": [f"img-{i // per:04d}.jpg" for i in range(n_assets * per)],
            "title": "car",
            "x": [float(i) for i in range(n_assets * per)],
            "y": 2.0,
            "width": 30.0,
            "height": 40.0,
            "score": 0.75,
        }
    )
    return dd.from_pandas(frame, npartitions=npartitions, sort=False)


def _label_posts(hub) -> int:
    return sum(1 for r in hub.requests if r.path.endswith("/import/labels"))


def test_import_applies_every_label_once_under_one_global_rate(cluster_client, hub):
    ddf = _predictions(40, 4)  # 10 assets per partition, 4 chunks each: 16 requests
    kwargs = {"base_url": hub.url, "api_key": hub.api_key, "retry": FAST}
    start = time.monotonic()
    with get_task_stream() as stream:
        results = afd.import_labels(
            kwargs, hub.project_id, ddf, chunk_rows=3, requests_per_minute=600, burst=1
        )
    took = time.monotonic() - start
    assert len(results) == 40 and set(results["status"]) == {"sent"}
    assert sorted(results["key"]) == [f"img-{i:04d}.jpg" for i in range(40)]
    assert {hub.applications(k) for k in results["key"]} == {1}
    assert results["chunk"].nunique() == 16 == _label_posts(hub)
    assert list(results["partition"].drop_duplicates()) == [0, 1, 2, 3]
    assert results.attrs["attempts"] == 16  # every attempt took its token from the one bucket
    # 16 requests at 10 a second for the WHOLE cluster, one at a time: at least 1.5 s
    # (a limit per worker process would let the two workers finish in about half that)
    assert took >= 1.5
    senders = {t["worker"] for t in stream.data if key_split(t["key"]) == "ango-send"}
    assert len(senders) == 2
    assert all(hub.api_key not in str(t["key"]) for t in stream.data)
    assert hub.api_key not in results.to_string()


def test_journal_resume_sends_only_unacked_chunks(cluster_client, hub, tmp_path):
    ddf = _predictions(24, 3)
    kwargs = {"base_url": hub.url, "api_key": hub.api_key, "retry": FAST}
    journal = tmp_path / "import.jsonl"
    hub.faults.add("import_labels", "503", count=2)
    hub.faults.add("import_labels", "drop_after", count=1)  # applied, but never acknowledged
    run = dict(chunk_rows=4, requests_per_minute=6000, journal=journal)
    with pytest.raises(ImportIncomplete, match="3 of 6 request") as info:
        afd.import_labels(kwargs, hub.project_id, ddf, **run)
    first = info.value.results
    assert (first["status"] == "failed").sum() == 12 and (first["status"] == "sent").sum() == 12
    assert _label_posts(hub) == 6
    assert hub.api_key not in str(info.value) and hub.api_key not in journal.read_text()
    applied_once = set(first.loc[first["sent"], "key"])

    hub.requests.clear()
    again = afd.import_labels(kwargs, hub.project_id, ddf, **run)
    assert _label_posts(hub) == 3  # only the three chunks not acknowledged
    failed_before = first.loc[~first["sent"], "chunk"].unique()
    resent = again.loc[again["status"] == "sent", "chunk"].unique()
    assert sorted(resent) == sorted(failed_before)
    assert set(again.loc[again["key"].isin(applied_once), "status"]) == {"skipped (journal)"}
    # every label applied exactly once: the dropped-after-apply chunk was replayed, not re-applied
    assert {hub.applications(k) for k in again["key"]} == {1}
    assert hub.replays == 1

    hub.requests.clear()
    third = afd.import_labels(kwargs, hub.project_id, ddf, **run)
    assert _label_posts(hub) == 0 and set(third["status"]) == {"skipped (journal)"}


def test_import_refuses_what_would_go_wrong(cluster_client, hub):
    kwargs = {"base_url": hub.url, "api_key": hub.api_key}
    # invalid rows in two partitions: one PayloadError listing both, nothing sent
    frame = _predictions(12, 1).compute()
    frame.loc[1, "title"] = "no-such-class"
    frame.loc[20, "width"] = -5.0
    bad = dd.from_pandas(frame, npartitions=2, sort=False)
    with pytest.raises(PayloadError) as info:
        afd.import_labels(kwargs, hub.project_id, bad)
    assert set(info.value.failure_cases["row"]) == {1, 20}
    # an asset split over two partitions would get two labels, the second replacing the first
    split = dd.from_pandas(_predictions(5, 1).compute(), npartitions=2, sort=False)
    with pytest.raises(ConfigError, match=r"img-0002\.jpg"):
        afd.import_labels(kwargs, hub.project_id, split)
    with AngoClient(**kwargs) as live, pytest.raises(ConfigError, match="live"):
        afd.import_labels(live, hub.project_id, _predictions(2, 1))
    assert _label_posts(hub) == 0
    spec = ClientSpec(kwargs)
    assert hub.api_key not in repr(spec) and "***" in repr(spec)


def test_exported_tables_go_back_in_partition_by_partition(cluster_client, hub, tmp_path):
    kwargs = {"base_url": hub.url, "api_key": hub.api_key, "retry": FAST}
    with AngoClient(**kwargs) as c:
        ontology = c.get_project(hub.project_id)
        path = tmp_path / "export.ndjson"
        export = c.export(hub.project_id, format="ndjson", dest=str(tmp_path / "export.zip"))
        with zipfile.ZipFile(export.path) as zf:  # one ndjson member: unzip it to cut byte ranges
            path.write_bytes(zf.read(zf.namelist()[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownKeysWarning)
        tables = afd.read_export(str(path), target_bytes=path.stat().st_size // 3 + 1)
    assert tables.objects.npartitions == 3
    results = afd.import_labels(
        kwargs, hub.project_id, tables, ontology=ontology, chunk_rows=40, requests_per_minute=6000
    )
    assert len(results) == tables.rows["tasks"] and set(results["status"]) == {"sent"}
    assert set(results["partition"]) == {0, 1, 2}
    assert {hub.applications(k) for k in results["key"]} == {1}


def test_dask_reads_outcomes_as_one_machine_does(cluster_client, hub, tmp_path):
    """A label whose asset did not match is never acked; verify names it, as on one machine."""
    frame = _predictions(4, 2).compute()
    frame.loc[frame["external_id"] == "img-0001.jpg", "external_id"] = "0001.jpg"
    ddf = dd.from_pandas(frame, npartitions=2, sort=False)
    kwargs = {"base_url": hub.url, "api_key": hub.api_key, "retry": FAST}
    journal = tmp_path / "j.jsonl"
    with pytest.raises(ImportIncomplete) as err:
        afd.import_labels(kwargs, hub.project_id, ddf, journal=journal)
    res = err.value.results
    assert list(res.loc[res["partition"] == 0, "status"]) == ["unconfirmed"] * 2
    assert set(res.loc[res["partition"] == 1, "status"]) == {"sent"}
    acked = [orjson.loads(x) for x in journal.read_bytes().splitlines()[1:]]
    assert [e["chunk"] for e in acked if e["type"] == "acked"] == [1]
    with pytest.raises(ImportIncomplete) as err:
        afd.import_labels(kwargs, hub.project_id, ddf, verify=True)
    res = err.value.results
    assert list(res["status"]) == ["sent", "unmatched", "sent", "sent"]
    assert "unmatched: 0001.jpg" in str(err.value)
