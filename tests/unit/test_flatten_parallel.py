"""workers=2 gives exactly what workers=1 gives: ndjson byte ranges, split zips, ids, warnings."""

from __future__ import annotations

import sys
import warnings
import zipfile
from pathlib import Path

import orjson
import pandas as pd
import pytest

from ango_frames.errors import ConfigError, ExportFormatError, UnknownKeysWarning
from ango_frames.export import parallel as _parallel
from ango_frames.export.parquet import export_to_parquet, read_parquet_tables
from ango_frames.export.records import plan_parts
from ango_frames.export.tables import read_export
from ango_frames.schemas import TABLE_NAMES

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from make_export import make_records  # noqa: E402

RECORDS = list(make_records(60, seed=11))


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts of ~64 KiB, so that small files have several."""
    monkeypatch.setattr(_parallel, "PART_BYTES", 64 * 2**10)


def _ndjson(path: Path, records: list) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def _split(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _both_parquet(src: Path, tmp: Path, **kw) -> dict[int, dict]:
    out = {}
    for workers in (1, 2):
        dest = tmp / f"pq{workers}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnknownKeysWarning)
            export_to_parquet(src, dest, workers=workers, **kw)
        out[workers] = read_parquet_tables(dest)[0]
    return out


def _assert_same_parquet(out: dict[int, dict]) -> None:
    assert set(out[1]) == set(out[2]) == set(TABLE_NAMES)
    for name in TABLE_NAMES:
        one, two = out[1][name], out[2][name]
        assert one.schema.equals(two.schema), name
        assert one.equals(two), name


def _assert_same_frames(src: Path) -> None:
    one, two = read_export(src, workers=1), read_export(src, workers=2)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(one[name], two[name], check_exact=True)


@pytest.mark.slow
def test_ndjson_byte_ranges(tmp_path: Path, small_parts: None) -> None:
    # asset metadata differs between early and late records: the tasks schemas of the parts
    # differ and must unify (int widened to float, a key only in later parts)
    records = [dict(r) for r in RECORDS]
    for i, r in enumerate(records):
        r["metadata"] = {"width": 640} if i < 20 else {"width": 640.5, "late": "yes"}
    src = _ndjson(tmp_path / "export.ndjson", records)
    assert len(plan_parts(src, target_bytes=_parallel.PART_BYTES)) >= 4
    out = _both_parquet(src, tmp_path)
    _assert_same_parquet(out)
    tasks = out[2]["tasks"]
    assert tasks.num_rows == len(records)
    assert str(tasks.schema.field("metadata_width").type) == "double"
    assert tasks.column("metadata_late").null_count == 20
    # the workers wrote their own files, named by part index
    names = sorted(p.name for p in (tmp_path / "pq2" / "objects").glob("*.parquet"))
    assert len(names) > 1 and names[0].startswith("part-00000-")
    _assert_same_frames(src)


def test_split_zip_members(tmp_path: Path) -> None:
    members = {
        "export-part-1.json": orjson.dumps(RECORDS[:25]),
        "export-part-2.ndjson": b"".join(orjson.dumps(r) + b"\n" for r in RECORDS[25:40]),
        "export-part-3.json": orjson.dumps(RECORDS[40:]),
    }
    src = _split(tmp_path / "split.zip", members)
    assert len(plan_parts(src)) == 3
    out = _both_parquet(src, tmp_path)
    _assert_same_parquet(out)
    assert out[2]["tasks"].column("task_id").to_pylist() == [r["task"]["taskId"] for r in RECORDS]
    _assert_same_frames(src)


def test_partitioned_output_is_the_same(tmp_path: Path, small_parts: None) -> None:
    src = _ndjson(tmp_path / "export.ndjson", RECORDS[:30])
    _assert_same_parquet(_both_parquet(src, tmp_path, partition_by="batch"))


def test_made_up_ids_do_not_collide_across_parts(tmp_path: Path) -> None:
    # tasks without taskId, the same content in several members: the 2nd, 3rd, ... copies get
    # .1, .2 in export order, exactly as in one process
    bare = {"externalId": "same.jpg", "task": {"tools": [{"point": [1, 2]}]}}
    other = {"externalId": "other.jpg", "task": {"tools": []}}
    members = {
        "a.json": orjson.dumps([bare, other]),
        "b.json": orjson.dumps([bare, bare]),
        "c.json": orjson.dumps([other, bare]),
    }
    src = _split(tmp_path / "split.zip", members)
    out = _both_parquet(src, tmp_path)
    _assert_same_parquet(out)
    ids = out[2]["tasks"].column("task_id").to_pylist()
    assert len(set(ids)) == len(ids) == 6
    same = [i for i in ids if i.startswith("same.jpg#")]
    assert [i.rpartition(".")[2] for i in same[1:]] == ["1", "2", "3"]
    object_ids = out[2]["objects"].column("object_id").to_pylist()
    assert len(set(object_ids)) == len(object_ids) == 4
    _assert_same_frames(src)


def test_unknown_keys_are_summed_and_warned_once(tmp_path: Path) -> None:
    odd = [dict(r, mystery=i) for i, r in enumerate(RECORDS[:9])]
    members = {f"p{k}.json": orjson.dumps(odd[k * 3 : k * 3 + 3]) for k in range(3)}
    src = _split(tmp_path / "split.zip", members)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export_to_parquet(src, tmp_path / "out", workers=2)
    unknown = [w for w in caught if issubclass(w.category, UnknownKeysWarning)]
    assert len(unknown) == 1
    assert "asset.mystery (9)" in str(unknown[0].message)


def test_worker_errors_are_raised_as_in_one_process(tmp_path: Path) -> None:
    good = orjson.dumps(RECORDS[:3])
    src = _split(tmp_path / "split.zip", {"a.json": good, "b.json": b'[{"task": {]'})
    messages = []
    for workers in (1, 2):
        with pytest.raises(ExportFormatError) as info:
            export_to_parquet(src, tmp_path / f"out{workers}", workers=workers)
        messages.append((str(info.value), info.value.source, info.value.position))
    assert messages[0] == messages[1]
    assert "b.json" in messages[1][0]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_workers(tmp_path: Path, bad: object) -> None:
    src = _ndjson(tmp_path / "e.ndjson", RECORDS[:1])
    with pytest.raises(ConfigError, match="workers"):
        export_to_parquet(src, tmp_path / "out", workers=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="workers"):
        read_export(src, workers=bad)  # type: ignore[arg-type]


def test_in_memory_destination_stays_in_process(small_parts: None, tmp_path: Path) -> None:
    src = _ndjson(tmp_path / "export.ndjson", RECORDS[:30])
    export_to_parquet(src, "memory://perf-test/out", workers=2)
    tables, _ = read_parquet_tables("memory://perf-test/out")
    assert tables["tasks"].num_rows == 30


@pytest.mark.slow
def test_one_json_array_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ango_frames.export import pipeline as _pipeline

    monkeypatch.setattr(_pipeline, "CHUNK_BYTES", 32 * 2**10)
    src = tmp_path / "export.json"
    src.write_bytes(orjson.dumps(RECORDS))
    assert [p.kind for p in plan_parts(src)] == ["json"]
    out = _both_parquet(src, tmp_path)
    _assert_same_parquet(out)
    names = sorted(p.name for p in (tmp_path / "pq2" / "tasks").glob("*.parquet"))
    assert len(names) > 2  # one file per chunk
    _assert_same_frames(src)
    # made-up ids repeating across chunks: the one runner's one policy, as for parts (the
    # chunks holding repeats are flattened again with the earlier counts, still in workers)
    bare = {"externalId": "same.jpg", "task": {"tools": [{"point": [1, 2]}], "pad": "x" * 40000}}
    src.write_bytes(orjson.dumps([bare, bare, bare]))
    out = _both_parquet(src, tmp_path / "again")
    _assert_same_parquet(out)
    assert len(set(out[2]["tasks"].column("task_id").to_pylist())) == 3
    assert len(list((tmp_path / "again" / "pq2" / "tasks").glob("part-*.parquet"))) == 3
    with pytest.warns(UnknownKeysWarning, match="task.pad"):
        _assert_same_frames(src)


def test_a_task_id_shared_across_parts_makes_distinct_ids(tmp_path: Path) -> None:
    shared = {"externalId": "a.jpg", "task": {"taskId": "t", "tools": [{"point": [1, 2]}]}}
    members = {"a.json": orjson.dumps([shared]), "b.json": orjson.dumps([shared, shared])}
    src = _split(tmp_path / "split.zip", members)
    out = _both_parquet(src, tmp_path)
    _assert_same_parquet(out)
    assert out[2]["objects"].column("object_id").to_pylist() == ["t/o0", "t#1/o0", "t#2/o0"]
    _assert_same_frames(src)
