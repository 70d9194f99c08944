"""The native flattening core against the Python flattener: same tables, rows, ids, errors.

Export-shaped records (the benchmark generator's v3 assets, the published samples wrapped in a
v3 task) and hypothesis mutations of them (a value replaced, a key added or removed anywhere)
go through both engines as ndjson; the Arrow tables must be identical. Records the core does
not understand must reach the Python flattener, and only those.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ango_frames import engine
from ango_frames.errors import ConfigError
from ango_frames.export.flatten.flattener import Flattener
from ango_frames.export.flatten.native import Lines, resolve_engine
from ango_frames.export.records import iter_part_records, iter_records, plan_parts
from ango_frames.schemas import SCHEMAS, TABLE_NAMES
from tests.engines import NATIVE, assert_engines_agree, engine_tables, ndjson

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from make_export import make_records  # noqa: E402

needs_native = pytest.mark.skipif(not NATIVE, reason="the native core is not built")
POOL = list(make_records(5, seed=3))
# the smallest generated assets (a few tools, a history), to mutate
SMALL = sorted(make_records(60, seed=4), key=lambda r: len(orjson.dumps(r)))[:3]
SAMPLES = REPO / "tests" / "data" / "samples"  # the published samples, kept as fixtures


def _native_run(raw: bytes, **kw: Any) -> Flattener:
    out = engine_tables(raw, "native", **kw)
    assert not isinstance(out, Exception), out
    return out[3]


# ------------------------------------------------------------------------------ the engine


def test_engine_reports_and_can_be_forced(monkeypatch):
    monkeypatch.delenv("ANGO_FRAMES_ENGINE", raising=False)
    assert engine() == ("native" if NATIVE else "python")
    monkeypatch.setenv("ANGO_FRAMES_ENGINE", "python")
    assert engine() == "python"
    assert Flattener().engine == "python"
    assert Flattener(engine="python").native is False
    with pytest.raises(ConfigError):
        resolve_engine("fast")


def test_engine_python_in_a_fresh_interpreter():
    env = {**os.environ, "ANGO_FRAMES_ENGINE": "python"}
    out = subprocess.run(
        [sys.executable, "-c", "import ango_frames; print(ango_frames.engine())"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "python"


@needs_native
def test_core_column_types_follow_the_schemas():
    import pyarrow as pa

    from ango_frames.export.flatten import _core

    codes = {pa.string(): 0, pa.int64(): 1, pa.int32(): 2, pa.float64(): 3, pa.bool_(): 4}
    codes[pa.timestamp("ms", tz="UTC")] = 5
    codes[pa.list_(pa.string())] = 6
    codes[pa.list_(pa.list_(pa.float64()))] = 7
    for i, name in enumerate(TABLE_NAMES):
        got = _core.table_types(i)
        if name == "issues":
            assert got == (8,)  # issue records always go to Python
            continue
        assert len(got) == len(SCHEMAS[name]), name
        for field, code in zip(SCHEMAS[name], got, strict=True):
            assert code in (codes.get(field.type), 8), (name, field)


# ------------------------------------------------------------------------------ same tables


@needs_native
@pytest.mark.parametrize("batch_rows", [1, 7, 300, 4096])
def test_generated_export_is_all_native_and_identical(batch_rows):
    raw = ndjson(list(make_records(40, seed=5)))
    assert_engines_agree(raw, batch_rows=batch_rows)
    flat = _native_run(raw, batch_rows=batch_rows)
    assert (flat.records, flat.python_records) == (40, 0)  # the common shape: no fallback


@needs_native
@pytest.mark.parametrize(
    "where",
    ["asset", "task", "tool", "box", "classification", "nested", "relation", "history", "meta"],
)
def test_an_unknown_key_sends_its_record_to_python_and_nothing_changes(where):
    records = orjson.loads(orjson.dumps(POOL))
    rec = records[2]
    task = rec["task"]
    target = {
        "asset": rec,
        "task": task,
        "tool": task["tools"][0],
        "box": next(t for t in task["tools"] if "bounding-box" in t)["bounding-box"],
        "classification": task["classifications"][0],
        "nested": task["classifications"][0]["classifications"][0]
        if task["classifications"][0]["classifications"]
        else task["classifications"][1],
        "relation": (task["relations"] or [task["stageHistory"][1]])[0],
        "history": task["stageHistory"][1],
        "meta": task["tools"][0]["metadata"],
    }[where]
    target["surprise"] = {"kept": [1, 2]}
    raw = ndjson(records)
    ref = assert_engines_agree(raw, batch_rows=50)
    flat = _native_run(raw, batch_rows=50)
    assert (flat.records, flat.python_records) == (5, 1)
    assert sum(ref[1].values()) == 1  # one unknown key, counted once, by the Python flattener
    extras = [
        e for t in ref[0].values() for e in t.column("extra").to_pylist() if e and "surprise" in e
    ]
    assert len(extras) == 1


def _wrapped_samples() -> list[str]:
    if not SAMPLES.is_dir():
        return []
    return sorted(
        str(p.relative_to(SAMPLES))
        for p in SAMPLES.glob("*/*.json")
        if ".invalid." not in p.name and p.parent.name != "api"
    )


@pytest.mark.parametrize("rel", _wrapped_samples())
def test_every_sample_as_is_and_wrapped_in_a_v3_task(rel):
    data = json.loads((SAMPLES / rel).read_text())
    records = data if isinstance(data, list) else [data]
    assert_engines_agree(ndjson(records))
    # fragments and import items as the content of a v3 task: the core's own ground
    holders = []
    for i, item in enumerate(records):
        if not isinstance(item, dict):
            continue
        inner = item.get("task") or item.get("answer") or item
        content = {k: inner[k] for k in ("tools", "classifications", "relations") if k in inner}
        if not content:
            key = "classifications" if "answer" in item else "tools"
            content = {key: [item]}
        holders.append({"externalId": f"s{i}", "task": {"taskId": f"t{i}", **content}})
    assert_engines_agree(ndjson(holders))


# ------------------------------------------------------------------------------ mutations

ODD = st.sampled_from(
    [
        0, -1, 2**31 - 1, 2**31, -(2**31) - 1, 2**53, 2**53 + 1, 2**63 - 1, -(2**63), 1.5, -0.0,
        1e308, 5e-324, True, False, None, "", "x", "a / b / c", "é\u2028\"\\", "\ud83d\ude00",
        "2024-11-02T13:47:40.085Z", "2024-02-29T00:00:00+05:30", "2023-02-29T00:00:00Z",
        "2024-01-01T24:00:00Z", "2024-01-01T00:00:00.5-01:00", "0999-01-01T00:00:00Z",
        "1730555260085", [], {}, [1, 2.5], [[1, 2], [3, 4]], ["a", None], [[1, "x"]],
        {"x": 1, "y": 2, "width": -3, "height": 4.5}, {"createdAt": 1730555260085},
    ]
)  # fmt: skip
VALUES = st.recursive(
    ODD | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


def _slots(node: Any, out: list) -> list:
    """Every (container, key) of ``node``, depth first."""
    if isinstance(node, dict):
        for key in node:
            out.append((node, key))
            _slots(node[key], out)
    elif isinstance(node, list):
        for i in range(len(node)):
            out.append((node, i))
            _slots(node[i], out)
    return out


@st.composite
def mutated(draw: Any) -> list[dict]:
    records = orjson.loads(orjson.dumps(SMALL[: draw(st.integers(min_value=1, max_value=3))]))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        rec = draw(st.sampled_from(records))
        slots = _slots(rec, [])
        holder, key = slots[draw(st.integers(min_value=0, max_value=len(slots) - 1))]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "delete":
            del holder[key]
        elif action == "add" and isinstance(holder, dict):
            name = draw(st.sampled_from(["objectId", "taskId", "page", "answer", "x", "zzz"]))
            holder[name] = draw(VALUES)
        else:
            holder[key] = draw(VALUES)
    return records


@needs_native
@settings(max_examples=70, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=mutated(), batch_rows=st.sampled_from([30, 4096]))
def test_mutated_exports_give_identical_tables(records, batch_rows):
    raw = ndjson(records)
    if raw is not None:
        assert_engines_agree(raw, batch_rows=batch_rows)


# ------------------------------------------------------------------------------ errors, parts


@needs_native
@pytest.mark.parametrize(
    "bad",
    [b'{"task": {"taskId": "t"', b"[1, 2]", b'{"a": 1} x', b'{"a": "\xff"}', b"{" * 70 + b"}" * 70],
)
def test_errors_after_native_lines_name_the_same_position(bad):
    good = ndjson(POOL[:3])
    raw = good + b"\n  \n" + bad + b"\n" + good
    ref = assert_engines_agree(raw)
    assert isinstance(ref, Exception)
    assert "line 6" in str(ref)  # after 3 records, an empty line and a line of blanks


@needs_native
def test_byte_range_parts_read_natively_give_the_whole(tmp_path):
    path = tmp_path / "e.ndjson"
    path.write_bytes(ndjson(list(make_records(30, seed=9))))
    whole = Flattener()
    one = list(iter_part_records(plan_parts(path)[0], raw=True))
    parts = plan_parts(path, target_bytes=50_000)
    assert len(parts) > 3
    split = [item for part in parts for item in iter_part_records(part, raw=True)]
    lines = lambda items: b"".join(i.data for i in items)  # noqa: E731
    assert lines(split).replace(b"\n", b"") == lines(one).replace(b"\n", b"")
    assert whole.native


def test_lines_blocks_read_by_the_python_engine_too():
    raw = ndjson(POOL[:3]) + b"\n\n"
    out = engine_tables(raw, "python")
    assert out[0]["tasks"].num_rows == 3
    records = list(iter_records(io.BytesIO(raw), raw=True))
    assert [type(r).__name__ for r in records] == ["Lines"]
    assert [orjson.dumps(r) for r in records[0]] == [orjson.dumps(r) for r in POOL[:3]]


def test_native_blocks_join_source_chunks_into_few_large_blocks(monkeypatch):
    """The core gets blocks of about RAW_BLOCK_BYTES (whole lines), however small the
    source's chunks, and the records and the tables stay what they were."""
    from ango_frames.export import jsonstream

    raw = ndjson(list(make_records(12, seed=5)))
    monkeypatch.setattr(jsonstream, "RAW_BLOCK_BYTES", len(raw) // 3)
    chunks = [raw[i : i + 1000] for i in range(0, len(raw), 1000)]
    ctx = jsonstream.Ctx("e.ndjson")
    blocks = list(jsonstream.iter_ndjson(iter(chunks), ctx, raw=True))
    assert 2 <= len(blocks) <= 4
    longest = max(len(line) for line in raw.split(b"\n"))  # a block ends at its last newline
    assert all(len(b.data) > len(raw) // 3 - longest for b in blocks[:-1])
    assert all(b.data.endswith(b"\n") for b in blocks[:-1])
    assert b"".join(b.data for b in blocks) == raw
    plain = list(jsonstream.iter_ndjson(iter(chunks), ctx))
    assert [r for b in blocks for r in b] == plain
    assert_engines_agree(raw)


# ------------------------------------------------------------------------------ sanitizers


def _sanitizer_build(tmp: Path) -> tuple[Path, str]:
    """The core compiled with ASan + UBSan into ``tmp``, and the ASan runtime to preload."""
    import sysconfig

    cxx = os.environ.get("CXX", "g++")
    try:
        runtime = subprocess.run(
            [cxx, "-print-file-name=libasan.so"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"no C++ compiler for the sanitizer build: {error}")
    if not os.path.isabs(runtime) or not os.path.exists(runtime):
        pytest.skip("the AddressSanitizer runtime (libasan) is not installed")
    src = REPO / "ango_frames" / "export" / "flatten" / "_native"
    out = tmp / ("_core" + sysconfig.get_config_var("EXT_SUFFIX"))
    flags = ["-std=c++17", "-O0", "-g", "-fPIC", "-fsanitize=address,undefined",
             "-fno-sanitize-recover=undefined"]  # fmt: skip
    include = f"-I{sysconfig.get_paths()['include']}"
    objects, jobs = [], []
    for source in sorted(src.glob("*.cc")):  # one compiler per file, at once
        objects.append(str(tmp / (source.stem + ".o")))
        command = [cxx, *flags, include, "-c", str(source), "-o", objects[-1]]
        jobs.append(subprocess.Popen(command, stderr=subprocess.PIPE, text=True))
    outputs = [job.communicate()[1] for job in jobs]
    errors = [out for job, out in zip(jobs, outputs, strict=True) if job.returncode != 0]
    link = subprocess.run(
        [cxx, *flags, "-shared", *objects, "-o", str(out)], capture_output=True, text=True
    )
    if errors or link.returncode != 0:
        pytest.skip(f"the sanitizer build failed: {(errors or [link.stderr])[0].strip()[:300]}")
    return out, runtime


def sanitized_run(
    core: Path, runtime: str, driver: str, *args: str, **env: str
) -> subprocess.CompletedProcess:
    """``driver`` (a script beside this file) run on the sanitizer build ``core``, with the
    ASan runtime preloaded and any sanitizer error fatal; ``env`` adds variables."""
    env = {
        **os.environ,
        "LD_PRELOAD": runtime,
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1",
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
        "PYTHONPATH": str(REPO),
        **env,
    }
    script = Path(__file__).with_name(driver)
    return subprocess.run(
        [sys.executable, str(script), str(core), *args],
        capture_output=True, text=True, env=env, timeout=200,
    )  # fmt: skip


@needs_native
@pytest.mark.timeout(240)
def test_the_parser_under_asan_and_ubsan(tmp_path):
    core, runtime = _sanitizer_build(tmp_path)
    run = sanitized_run(core, runtime, "native_fuzz_driver.py", "11", "400")
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.startswith("ok "), run.stdout
    assert "runtime error" not in run.stderr, run.stderr[-3000:]


@needs_native
def test_one_core_thread_or_several_give_the_same_batches():
    from ango_frames.export.flatten.flattener import flatten_records
    from ango_frames.export.flatten.native import flatten_native

    records = orjson.loads(orjson.dumps(list(make_records(12, seed=2))))
    records[4]["task"]["surprise"] = 1  # one record for Python, between native ones
    raw = ndjson(records)
    half = raw.index(b"\n", len(raw) // 2) + 1
    blocks = [raw[:half], raw[half:]]

    def batches(threads: int) -> list:
        flat = Flattener(engine="native")
        items = [Lines(b, lambda line, _p, _k: orjson.loads(line)) for b in blocks]
        return [
            {t: b.to_pylist() for t, b in out.items()}
            for out in flatten_native(items, flat, 100, threads=threads)
        ]

    ref = Flattener(engine="python")
    python = [
        {t: b.to_pylist() for t, b in out.items()}
        for out in flatten_records(records, flattener=ref, batch_rows=100)
    ]
    one, two = batches(1), batches(3)
    assert one == two

    def merged(outs: list) -> dict:
        return {t: [row for o in outs for row in o.get(t, [])] for t in TABLE_NAMES}

    assert merged(one) == merged(python)


@needs_native
def test_windows_end_where_the_python_engine_flushes():
    # a metadata column widened int -> float -> JSON text keeps "5.0" only if 5 and 1.5 were
    # in the same batch: the windows must be those of the Python engine, block after block
    base = orjson.loads(orjson.dumps(POOL[1]))
    records = []
    for i, value in enumerate([0, 0, 5, 1.5, "s", 7]):
        rec = orjson.loads(orjson.dumps(base))
        rec["task"]["taskId"] = f"t{i}"
        rec["metadata"] = {"k": value}
        records.append(rec)
    per_record = engine_tables(ndjson(records[:1]), "python")[0]
    most = max(t.num_rows for t in per_record.values())
    ref = assert_engines_agree(ndjson(records), batch_rows=2 * most)
    assert ref[0]["tasks"].column("metadata_k").to_pylist() == ["0", "0", "5.0", "1.5", "s", "7"]


def _asset(i: int, task_id: str, **task: Any) -> dict:
    return {"externalId": f"a{i}", "task": {"taskId": task_id, **task}}


_BOX = {"bounding-box": {"x": 1, "y": 2, "width": 3, "height": 4}}
SHAPES = {  # name: (records, records the core reads itself)
    "ocr, 3d line, null answer, description, reviewStatus": (
        [
            _asset(
                0,
                "t0",
                tools=[
                    {**_BOX, "objectId": "o1", "ocr": {"text": "STOP", "confidence": 0.9}},
                    {"polyline": [[1, 2, 3], [4, 5, 6]], "ocr": "x", "metadata": {"description": "d"}},
                    {"polyline": [[1, 2], [3, 4, 5]]},
                ],
                classifications=[{"tool": "checkbox", "answer": ["a", None, "b"]}],
                stageHistory=[{"stage": "Label", "reviewStatus": "Accepted"}],
            )
        ],
        1,
    ),
    "a task id shared by two assets, with made-up child ids": (
        [
            _asset(0, "same", tools=[_BOX], objects=[_BOX]),
            _asset(1, "other", tools=[{**_BOX, "objectId": "real"}]),
            _asset(2, "same", tools=[_BOX], classifications=[{"answer": "x"}]),
            _asset(3, "same", tools=[{**_BOX, "objectId": "real"}]),
            _asset(4, "same", relations=[{"from": "a", "to": "b"}]),
        ],
        3,
    ),
    "tasks beside task, and odd tools": (
        [
            {**_asset(0, "t0"), "tasks": [{"taskId": "x"}]},
            _asset(1, "t1", tools=[{"polyline": [{"x": 1, "y": 2, "z": 3}]}]),
            _asset(2, "t2", tools=[{"ocr": 5}]),
            _asset(3, "t3", tools=[{"bounding-box": {"x1": 1, "y1": 2, "z1": 0, "x2": 3, "y2": 4, "z2": 5}}]),
        ],
        0,
    ),
}  # fmt: skip


@needs_native
@pytest.mark.parametrize("name", list(SHAPES))
def test_newer_shapes_read_alike(name):
    records, native = SHAPES[name]
    raw = ndjson([*records, _asset(9, "last")])  # two lines at least: ndjson, not one object
    assert_engines_agree(raw)
    flat = _native_run(raw)
    assert flat.records - flat.python_records == native + 1


def test_a_bool_in_a_number_column_is_a_misfit_whatever_else_is_in_the_batch():
    # Arrow's inference reads [0.0, False] as floats; alone, False is a misfit: both engines
    # must put it in ``extra`` either way (a case the readers' fuzzer found)
    box = {"x": 1.0, "y": 2.0, "width": 3.0}
    records = [
        {"externalId": f"{i}.jpg", "task": {"tools": [{"bounding-box": {**box, "height": h}}]}}
        for i, h in enumerate([0.0, False])
    ]
    tables = assert_engines_agree(ndjson(records))[0]
    objects = tables["objects"].to_pylist()
    assert [o["height"] for o in objects] == [0.0, None]
    assert orjson.loads(objects[1]["extra"]) == {"height": False}
