"""Fuzzing the export readers: whatever the bytes, a typed error or every row, never a crash.

Random bytes, random JSON (wrong types, deep nesting, big numbers, unicode, missing keys, `task` /
`tasks` of any shape beside each other, integers above 2**53 in metadata) and
random export-shaped assets go through ``records.iter_records`` and ``tables.read_export`` as
JSON arrays, ndjson, zips and files. The only exceptions allowed are ``AngoError`` subclasses;
the only warning ``UnknownKeysWarning``. When reading succeeds, nothing is lost: every asset
with a ``taskId`` gives exactly one ``tasks`` row, every ``tools`` entry its ``objects`` rows.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ango_frames.errors import AngoError, UnknownKeysWarning
from ango_frames.export.records import ReadLimits, iter_records
from ango_frames.export.tables import read_export
from tests.engines import assert_engines_agree

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
KNOWN_KEYS = [
    "externalId", "asset", "task", "tasks", "taskId", "tools", "objects", "classifications",
    "relations", "stageHistory", "metadata", "contextData", "frames", "bounding-box", "polygon",
    "point", "answer", "objectId", "schemaId", "title", "stage", "updatedAt", "batches",
    "review", "from", "to", "group", "page", "labelTask", "_id", "content",
]  # fmt: skip
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
SCALARS = (
    st.none()
    | st.booleans()
    | INT64
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
KEYS = st.sampled_from(KNOWN_KEYS) | st.text(max_size=8)
# numbers every integer column can hold (overflowing ones have their own tests below)
SMALL = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**31), max_value=2**31 - 1)
    | st.floats(min_value=-(2.0**31), max_value=2.0**31 - 1)
    | st.text(max_size=12)
)
SMALL_JSON = st.recursive(
    SMALL,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)


def _read(raw: bytes, how: str) -> Any:
    """Read ``raw`` one way; the only warning allowed is UnknownKeysWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", UnknownKeysWarning)
        if how == "records":
            return list(iter_records(io.BytesIO(raw), limits=ReadLimits(max_depth=16)))
        assert_engines_agree(raw)  # the native core and the Python flattener: same tables, errors
        return read_export(io.BytesIO(raw))


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _only_typed_errors(raw: bytes, how: str) -> Any:
    try:
        return _read(raw, how)
    except AngoError:
        return None


# ------------------------------------------------------------------------------ anything at all

PREFIXES = st.sampled_from([b"", b"[", b"{", b"\xef\xbb\xbf", b"PK\x03\x04", b'[{"task":', b"\n"])


@FUZZ
@given(prefix=PREFIXES, body=st.binary(max_size=300), how=st.sampled_from(["records", "tables"]))
def test_random_bytes_give_records_or_a_typed_error(prefix, body, how):
    _only_typed_errors(prefix + body, how)


@FUZZ
@given(body=st.binary(max_size=200), name=st.sampled_from(["a.json", "a.ndjson", "x/../a"]))
def test_random_zip_members_give_records_or_a_typed_error(body, name):
    _only_typed_errors(_zip({name: body}), "records")


@FUZZ
@given(
    doc=st.lists(JSON, max_size=6),
    shape=st.sampled_from(["array", "ndjson", "zip", "split"]),
    how=st.sampled_from(["records", "tables"]),
)
def test_random_json_gives_records_or_a_typed_error(doc, shape, how):
    out = _only_typed_errors(_encode(doc, shape), how)
    if shape == "ndjson" and doc and not isinstance(doc[0], dict):
        return  # "[]\n..." is a JSON array, not ndjson: the content decides, not the shape
    if how == "records" and out is not None:
        assert out == doc  # read back exactly: nothing dropped, nothing changed


def _encode(records: list[Any], shape: str) -> bytes:
    if shape == "array":
        return orjson.dumps(records)
    lines = b"".join(orjson.dumps(r) + b"\n" for r in records)
    if shape == "ndjson":
        return lines
    if shape == "zip":
        return _zip({"export.json": orjson.dumps(records)})
    half = len(records) // 2
    return _zip(
        {
            "export-0.json": orjson.dumps(records[:half]),
            "export-1.json": orjson.dumps(records[half:]),
        }
    )


@pytest.mark.parametrize("depth", [15, 16, 17, 500, 5000])
def test_deep_nesting_is_read_or_refused_typed(depth):
    raw = b'[{"externalId": "a", "task": {"taskId": "t", "x": ' + b"[" * depth + b"]" * depth
    raw += b"}}]"
    out = _only_typed_errors(raw, "records")
    assert (out is None) == (depth + 2 > 16)  # the record itself is level 1, the task level 2


# ------------------------------------------------------------------------------ nothing lost

FRAME = st.dictionaries(KEYS, SMALL_JSON, max_size=3)
ENTRY = st.one_of(
    SMALL_JSON,  # anything, often not a dict
    st.fixed_dictionaries(
        {"bounding-box": st.dictionaries(st.sampled_from(["x", "y", "width", "height"]), SMALL)},
        optional={
            "objectId": st.text(max_size=6) | INT64,
            "schemaId": SMALL,
            "classifications": SMALL_JSON,
            "frames": st.lists(FRAME | SMALL, min_size=1, max_size=3),
            "polygon": SMALL_JSON,
        },
    ),
)


@st.composite
def assets(draw: Any) -> list[dict[str, Any]]:
    """Export-shaped assets with unique taskIds, random tools and random extra keys."""
    n = draw(st.integers(min_value=0, max_value=6))
    out = []
    for i in range(n):
        task = {"taskId": f"task-{i}", "tools": draw(st.lists(ENTRY, max_size=4))}
        for key, value in draw(st.dictionaries(KEYS, SMALL_JSON, max_size=3)).items():
            if key not in ("taskId", "tools", "objects", "stageHistory"):
                task[key] = value
        asset = {"externalId": draw(st.text(max_size=10) | INT64), "task": task}
        for key, value in draw(st.dictionaries(KEYS, SMALL_JSON, max_size=3)).items():
            if key not in ("task", "tasks", "externalId"):
                asset[key] = value
        out.append(asset)
    return out


def _expected_object_rows(tools: list[Any]) -> int:
    rows = 0
    for entry in tools:
        frames = entry.get("frames") if isinstance(entry, dict) else None
        rows += len(frames) if isinstance(frames, list) and frames else 1
    return rows


@pytest.mark.slow
@FUZZ
@given(records=assets(), shape=st.sampled_from(["array", "ndjson", "zip", "split"]))
def test_every_asset_and_every_tools_entry_gives_its_rows(records, shape):
    tables = _read(_encode(records, shape), "tables")  # valid JSON: no error is acceptable
    tasks, objects = tables["tasks"], tables["objects"]
    assert sorted(tasks["task_id"]) == sorted(r["task"]["taskId"] for r in records)
    per_task = objects.groupby("task_id").size().to_dict() if len(objects) else {}
    for r in records:
        expected = _expected_object_rows(r["task"]["tools"])
        assert per_task.get(r["task"]["taskId"], 0) == expected, r["task"]["tools"]


def test_a_tools_entry_with_no_frames_keeps_its_row():
    record = {
        "externalId": "a",
        "task": {"taskId": "t", "tools": [{"objectId": "o", "frames": []}]},
    }
    tables = _read(orjson.dumps([record]), "tables")
    assert tables["objects"]["object_id"].tolist() == ["o"]


@pytest.mark.parametrize("number", ["18446744073709551616", "1e30"])
def test_numbers_beyond_int64_are_kept_in_extra(number):
    raw = b'[{"externalId": "a", "task": {"taskId": "t", "totalDuration": ' + number.encode()
    tables = _read(raw + b"}}]", "tables")
    assert "total_duration_ms" in tables["tasks"]["extra"].iloc[0]


@pytest.mark.parametrize("page", ["2147483648.0", "9.223372036854776e+18"])
def test_a_page_beyond_int32_is_kept_in_extra(page):
    raw = b'[{"externalId": "a", "task": {"taskId": "t", "tools": [{"page": ' + page.encode()
    tables = _read(raw + b"}]}}]", "tables")
    assert len(tables["objects"]) == 1 and "page" in tables["objects"]["extra"].iloc[0]


# ------------------------------------------------------- task / tasks of any shape, huge metadata

BIG = st.integers(min_value=2**53, max_value=2**63 - 1) | st.integers(
    min_value=-(2**63), max_value=-(2**53)
)
META = st.dictionaries(
    st.sampled_from(["m", "n"]),
    BIG | st.floats(allow_nan=False, allow_infinity=False) | SMALL,
    max_size=2,
)


@st.composite
def odd_assets(draw: Any) -> list[dict[str, Any]]:
    """Assets whose `task` / `tasks` may be anything, side by side, with huge ints in metadata."""
    out = []
    for i in range(draw(st.integers(min_value=0, max_value=5))):
        asset: dict[str, Any] = {"externalId": f"a{i}", "metadata": draw(META)}
        task = st.fixed_dictionaries({"taskId": st.just(f"t{i}")}, optional={"tools": SMALL_JSON})
        if draw(st.booleans()):
            asset["task"] = draw(task | SMALL_JSON)
        if draw(st.booleans()):
            asset["tasks"] = draw(st.lists(task, max_size=3) | SMALL_JSON)
        out.append(asset)
    return out


@FUZZ
@given(records=odd_assets(), shape=st.sampled_from(["array", "ndjson", "zip"]))
def test_task_and_tasks_of_any_shape_are_kept(records, shape):
    tables = _read(_encode(records, shape), "tables")  # valid JSON: no error is acceptable
    tasks = tables["tasks"]
    rows = tasks.groupby("external_id").size().to_dict() if len(tasks) else {}
    for asset in records:
        assert rows.get(asset["externalId"], 0) >= 1, asset  # no asset vanishes
        task, many = asset.get("task"), asset.get("tasks")
        mine = tasks[tasks["external_id"] == asset["externalId"]]
        extras = [orjson.loads(e) for e in mine["extra"].dropna()]
        if task is not None and not isinstance(task, dict):
            assert any(e.get("task") == task for e in extras), (asset, extras)
        if many is not None and (task is not None or not isinstance(many, list)):
            assert any(e.get("tasks") == many for e in extras), (asset, extras)
    for column in (c for c in tasks.columns if c.startswith("metadata_")):
        assert str(tasks[column].dtype) in (
            "int64[pyarrow]", "double[pyarrow]", "string[pyarrow]", "bool[pyarrow]",
        ), column  # fmt: skip
