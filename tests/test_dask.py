"""ango_frames.dask on a real LocalCluster with two worker processes: same results as one machine."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import orjson
import pandas as pd
import pyarrow.parquet as pq
import pytest

pytest.importorskip("dask.distributed")

from dask.distributed import Client, LocalCluster, get_task_stream
from dask.utils import key_split

import ango_frames
import ango_frames.dask as afd
from ango_frames.errors import ConfigError, ExportFormatError, UnknownKeysWarning
from ango_frames.parquet import METADATA_KEY
from ango_frames.records import plan_parts
from ango_frames.schemas import SCHEMA_VERSION, TABLE_NAMES

ROOT = Path(__file__).resolve().parents[1]
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


def test_split_zip_members_equal_single_machine(cluster_client, records, tmp_path):
    path = tmp_path / "split.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(3):
            zf.writestr(f"export-{i}.json", orjson.dumps(records[i * 40 : (i + 1) * 40]))
    whole, spread = _read_both(str(path))
    assert [p.member for p in spread.parts] == [f"export-{i}.json" for i in range(3)]
    _assert_same(whole, spread.compute())
    assert spread.provenance["format"] == "split"


def test_json_array_equal_single_machine(cluster_client, records, tmp_path):
    path = tmp_path / "export.json"
    path.write_bytes(orjson.dumps(records, option=orjson.OPT_INDENT_2))
    whole, spread = _read_both(str(path))
    assert len(spread.parts) == 1
    _assert_same(whole, spread.compute())


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
    with pytest.raises(ConfigError, match="not empty"):
        afd.to_parquet(spread, tmp_path / "d")
    before = sorted((tmp_path / "d").rglob("*.parquet"))
    afd.to_parquet(spread, tmp_path / "d", overwrite=True)
    assert sorted((tmp_path / "d").rglob("*.parquet")) == before
    with pytest.raises(ConfigError, match="partition_by"):
        afd.to_parquet(spread, tmp_path / "e", partition_by="site")
    with pytest.raises(ConfigError, match="needs the tasks table"):
        afd.to_parquet({"objects": spread.objects}, tmp_path / "f", partition_by="stage")


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
