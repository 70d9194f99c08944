"""Reading exports drops nothing and never crashes untyped (odd shapes, odd inputs, threads)."""

from __future__ import annotations

import gc
import io
import json
import threading
import zipfile

import orjson
import pytest

from ango_frames.errors import (
    ConfigError,
    ExportFormatError,
    RepairedTextWarning,
    UnknownKeysWarning,
)
from ango_frames.export.records import iter_records
from ango_frames.export.tables import read_export


def _extra(frame, row: int = 0) -> dict:
    return json.loads(frame["extra"].iloc[row])


def _read(records, **kw):
    with pytest.warns(UnknownKeysWarning) as seen:
        tables = read_export(records, **kw)
    return tables, " ".join(str(w.message) for w in seen)


# --- task / tasks / tools of the wrong shape: kept in `extra` and counted, never dropped ---------


@pytest.mark.parametrize("task", ["t1", 7, ["x"], True])
def test_a_task_that_is_not_an_object_is_kept(task):
    tables, warned = _read([{"externalId": "a.jpg", "task": task}])
    assert len(tables.tasks) == 1
    assert _extra(tables.tasks)["task"] == task
    assert "asset.task(not an object) (1)" in warned


@pytest.mark.parametrize("tasks", [{"taskId": "t"}, "t", 0])
def test_tasks_that_is_not_a_list_is_kept(tasks):
    tables, warned = _read([{"externalId": "a.jpg", "tasks": tasks}])
    assert len(tables.tasks) == 1
    assert _extra(tables.tasks)["tasks"] == tasks
    assert "asset.tasks(not a list) (1)" in warned


def test_task_and_tasks_side_by_side_keep_both():
    legacy = [{"taskId": "old", "objects": [{"objectId": "o9", "point": [1, 2]}]}]
    record = {"externalId": "a", "task": {"taskId": "t1", "tools": []}, "tasks": legacy}
    tables, warned = _read([record])
    assert tables.tasks["task_id"].tolist() == ["t1"]
    assert _extra(tables.tasks)["tasks"] == legacy
    assert "asset.tasks(beside task) (1)" in warned


@pytest.mark.parametrize("value", [0, False, ""])
@pytest.mark.parametrize("key", ["tools", "objects", "classifications", "relations"])
def test_falsy_tools_are_kept_not_dropped(key, value):
    tables, _ = _read([{"externalId": "a", "task": {"taskId": "t", key: value}}])
    table = {"tools": "objects", "objects": "objects"}.get(key, key)
    frame = tables[table]
    assert len(frame) == 1
    assert value in _extra(frame).values()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_a_zip_entry_named_like_a_folder_that_holds_data_is_an_error():
    raw = _zip({"export/": b'[{"externalId": "a", "task": {"taskId": "t"}}]', "b.json": b"[]"})
    with pytest.raises(ExportFormatError, match="named like a folder but holds"):
        read_export(io.BytesIO(raw))


# --- what src may be ------------------------------------------------------------------------------


def test_one_record_dict_is_one_record():
    tables = read_export({"externalId": "a", "task": {"taskId": "t", "tools": []}})
    assert tables.tasks["task_id"].tolist() == ["t"]
    assert tables.provenance["format"] == "record"


@pytest.mark.parametrize("src", [42, 3.5, None, object()])
def test_a_value_that_is_not_an_export_is_a_config_error(src):
    with pytest.raises(ConfigError, match="src must be"):
        read_export(src)


def test_raw_bytes_name_the_fix():
    with pytest.raises(ConfigError, match=r"io\.BytesIO"):
        read_export(b"[]")


@pytest.mark.parametrize(
    "src", [(1, "x", None), ((i for i in range(3)),), iter([{"taskId": "t"}, "junk"])]
)
def test_an_iterable_of_non_records_is_a_format_error(src):
    with pytest.raises(ExportFormatError, match="not an export record"):
        read_export(src)


# --- values ---------------------------------------------------------------------------------------


def test_metadata_mixing_huge_ints_and_floats_is_a_double_column():
    big = 2**53 + 1
    records = [
        {"externalId": f"{i}", "task": {"taskId": f"t{i}"}, "metadata": {"m": v}}
        for i, v in enumerate([big, 1.5, 2**62])
    ]
    tables = read_export(records)
    assert str(tables.tasks["metadata_m"].dtype) == "double[pyarrow]"
    assert tables.tasks["metadata_m"].tolist() == [float(big), 1.5, float(2**62)]


def test_huge_ints_and_floats_in_separate_batches_widen_to_double():
    records = [
        {"externalId": f"{i}", "task": {"taskId": f"t{i}"}, "metadata": {"m": v}}
        for i, v in enumerate([2**60] * 3 + [0.5])
    ]
    from ango_frames.export.flatten.flattener import Flattener, flatten_to_tables

    table = flatten_to_tables(records, Flattener(["tasks"]), batch_rows=1)["tasks"]
    assert table.column("metadata_m").to_pylist() == [float(2**60)] * 3 + [0.5]


@pytest.mark.parametrize("shape", ["array", "ndjson"])
def test_a_lone_surrogate_is_repaired_and_noted(shape):
    good = b'{"externalId": "ok", "task": {"taskId": "t0"}}'
    cut = b'{"externalId": "cut \\ud83d", "task": {"taskId": "t1"}}'
    raw = b"[" + good + b"," + cut + b"]" if shape == "array" else good + b"\n" + cut + b"\n"
    with pytest.warns(RepairedTextWarning, match=r"record|line 2") as seen:
        tables = read_export(io.BytesIO(raw))
    assert tables.tasks["external_id"].tolist() == ["ok", "cut \ufffd"]
    assert "1 lone surrogate" in str(seen[0].message)


def test_a_record_broken_otherwise_still_raises():
    with pytest.raises(ExportFormatError):
        list(iter_records(io.BytesIO(b'[{"a": "\\ud83d" ]')))


# --- made-up ids ----------------------------------------------------------------------------------


def test_tools_and_objects_side_by_side_get_distinct_made_up_ids():
    task = {"taskId": "t", "tools": [{"point": [1, 2]}], "objects": [{"point": [3, 4]}]}
    tables = read_export([{"externalId": "a", "task": task}])
    ids = tables.objects["object_id"].tolist()
    assert ids == ["t/o0", "t/o1"]


def test_two_assets_sharing_a_task_id_get_distinct_made_up_ids():
    def asset(ext: str) -> dict:
        return {
            "externalId": ext,
            "task": {
                "taskId": "shared",
                "tools": [{"point": [1, 2], "classifications": [{"answer": "x"}]}],
                "relations": [{"from": "a", "to": "b"}],
                "stageHistory": [{"stage": "Label", "tools": [{"point": [0, 0]}]}],
            },
        }

    tables = read_export([asset("a"), asset("b"), asset("c")])
    for frame, col in [
        (tables.objects, "object_id"),
        (tables.classifications, "classification_id"),
        (tables.relations, "relation_id"),
        (tables.history_objects, "object_id"),
    ]:
        ids = frame[col].tolist()
        assert len(ids) == 3 and len(set(ids)) == 3, ids
    assert tables.objects["object_id"].tolist() == ["shared/o0", "shared#1/o0", "shared#2/o0"]
    assert tables.classifications["object_id"].tolist() == tables.objects["object_id"].tolist()


# --- threads --------------------------------------------------------------------------------------


def test_reading_from_several_threads_leaves_the_collector_as_it_was():
    records = [{"externalId": f"{i}", "task": {"taskId": f"t{i}"}} for i in range(3000)]
    raw = orjson.dumps(records)
    assert gc.isenabled()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                read_export(io.BytesIO(raw))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert gc.isenabled()
    gc.disable()
    try:
        read_export(io.BytesIO(raw))
        assert not gc.isenabled()  # a caller's disabled collector stays disabled
    finally:
        gc.enable()


def test_overlapping_reads_leave_the_collector_as_they_found_it():
    """Two reads overlapping as threads do (one starts while the other builds a batch)."""
    from ango_frames.export.flatten.flattener import flatten_records

    rows = [{"externalId": f"{i}", "task": {"taskId": f"t{i}"}} for i in range(30)]
    second = flatten_records(rows, batch_rows=10)

    def first_records():
        for i, row in enumerate(rows):
            if i == 5:
                next(second)  # the second read starts while the first one is mid-batch
            yield row

    assert gc.isenabled()
    list(flatten_records(first_records(), batch_rows=10))
    list(second)
    assert gc.isenabled()
