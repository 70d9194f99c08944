"""JSON arrays and split zips through the native core against the Python engine.

A JSON array reaches the core as blocks of record lines (``jsonscan`` with ``raw``), its
boundaries found by the core's scanner (``scan.cc``), the twin of the numpy scanner of the
Python reader. Both engines must give the same tables, unknown keys, made-up ids and errors
(same record, line, column and byte), for compact, pretty-printed and CRLF arrays, however the
file is cut into chunks, and in the members of a split zip.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ango_frames.export import jsonscan
from ango_frames.export.flatten.flattener import Flattener, flatten_to_tables
from ango_frames.export.jsonstream import Lines
from ango_frames.export.parquet import export_to_parquet, read_parquet_tables
from ango_frames.export.records import iter_records
from ango_frames.export.tables import read_export
from tests.engines import NATIVE, assert_engines_agree, engine_tables

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from make_export import make_records  # noqa: E402

needs_native = pytest.mark.skipif(not NATIVE, reason="the native core is not built")
RECORDS = orjson.loads(orjson.dumps(list(make_records(8, seed=6))))
TRICKY = {  # strings that look like structure, escapes, non-ASCII, a newline escape
    "externalId": 'a\\"b,}]{["\\\\',
    "metadata": {"note": "x\\ny, \u00e9\U0001f600 \\\\\\\"", "n": 1},
    "task": {"taskId": "tricky", "tools": [{"bounding-box": {"x": 1, "y": 2, "width": 3, "height": 4}}]},
}  # fmt: skip


def _layouts(records: list) -> dict[str, bytes]:
    return {
        "compact": orjson.dumps(records),
        "spaced": json.dumps(records).encode(),
        "pretty": json.dumps(records, indent=2).encode(),
        "crlf": json.dumps(records, indent=1).replace("\n", "\r\n").encode(),
        "tabs": b"[\n\t" + b"\t,\n\t".join(orjson.dumps(r) for r in records) + b"\n]\n",
    }


def _split(records: list, members: int = 3) -> bytes:
    buf = io.BytesIO()
    step = -(-len(records) // members)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(members):
            zf.writestr(f"export-{i:05d}.json", orjson.dumps(records[i * step : (i + 1) * step]))
    return buf.getvalue()


class _Trickle(io.RawIOBase):
    """A binary stream giving at most ``size`` bytes per read (chunk boundaries everywhere)."""

    def __init__(self, data: bytes, size: int) -> None:
        self.data, self.size, self.at = data, size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        n = min(len(buf), self.size, len(self.data) - self.at)
        buf[:n] = self.data[self.at : self.at + n]
        self.at += n
        return n


def _both(make: Any, **kw: Any) -> Any:
    """Tables (or the error) of both engines reading the stream ``make()`` gives."""
    out = []
    for engine in ("python", "native") if NATIVE else ("python",):
        flat = Flattener(engine=engine)
        try:
            tables = flatten_to_tables(iter_records(make(), raw=flat.native), flat, **kw)
        except Exception as error:  # compared below: same type, same message
            out.append((type(error), str(error)))
            continue
        out.append(({t: v.to_pylist() for t, v in tables.items()}, flat.unknown_keys))
    return out


# ------------------------------------------------------------------------------ same tables


@needs_native
@pytest.mark.parametrize("layout", list(_layouts([])))
@pytest.mark.parametrize("batch_rows", [5, 4096])
def test_json_arrays_are_read_natively_and_identically(layout, batch_rows):
    raw = _layouts([*RECORDS, TRICKY])[layout]
    items = list(iter_records(io.BytesIO(raw), raw=True))
    assert items and all(type(i) is Lines for i in items)
    assert_engines_agree(raw, batch_rows=batch_rows)
    flat = engine_tables(raw, "native", batch_rows=batch_rows)[3]
    assert (flat.records, flat.python_records) == (len(RECORDS) + 1, 0)


@needs_native
def test_split_zip_members_are_read_natively_and_identically():
    raw = _split([*RECORDS, TRICKY])
    assert_engines_agree(raw)
    flat = engine_tables(raw, "native")[3]
    assert (flat.records, flat.python_records) == (len(RECORDS) + 1, 0)
    items = list(iter_records(io.BytesIO(raw), raw=True))
    assert len(items) == 3 and all(type(i) is Lines for i in items)  # a block per member


@needs_native
@pytest.mark.parametrize("shape", ["compact", "pretty", "split"])
def test_an_unknown_key_in_an_array_goes_to_python_and_nothing_changes(shape):
    records = orjson.loads(orjson.dumps(RECORDS))
    records[3]["task"]["tools"][0]["surprise"] = {"deep": [1, 2]}
    raw = _split(records) if shape == "split" else _layouts(records)[shape]
    ref = assert_engines_agree(raw)
    assert ref[1] == {"object.surprise": 1}
    flat = engine_tables(raw, "native")[3]
    assert (flat.records, flat.python_records) == (len(records), 1)


@needs_native
@pytest.mark.parametrize("layout", ["compact", "pretty", "crlf"])
@pytest.mark.parametrize("size", [1, 7, 300, 5000])
def test_chunk_and_block_boundaries_anywhere_give_the_same_tables(layout, size, monkeypatch):
    monkeypatch.setattr(jsonscan, "RAW_BLOCK_BYTES", 3 * size)
    records = [*RECORDS[:3], TRICKY, *RECORDS[3:5]]
    if size < 10:  # byte by byte: small records, or the numpy scanner takes minutes
        records = [{**TRICKY, "externalId": f"{TRICKY['externalId']}{i}"} for i in range(4)]
    raw = _layouts(records)[layout]
    python, native = _both(lambda: _Trickle(raw, size), batch_rows=7)
    assert native == python
    blocks = list(iter_records(_Trickle(raw, size), raw=True))
    assert len(blocks) > 1 and all(type(b) is Lines for b in blocks)


@needs_native
@pytest.mark.parametrize("kind", ["json", "split"])
def test_export_to_parquet_and_read_export_of_arrays_agree(kind, tmp_path):
    path = tmp_path / ("e.json" if kind == "json" else "e.split.zip")
    path.write_bytes(orjson.dumps(RECORDS) if kind == "json" else _split(RECORDS))
    export_to_parquet(path, tmp_path / "py", engine="python")
    export_to_parquet(path, tmp_path / "nat", engine="native")
    ref, _ = read_parquet_tables(tmp_path / "py")
    got, _ = read_parquet_tables(tmp_path / "nat")
    assert list(got) == list(ref)
    for name, table in ref.items():
        assert got[name].equals(table), name
    frames = read_export(path, engine="python"), read_export(path, engine="native")
    for name, frame in frames[0].items():
        assert frames[1][name].equals(frame), name
    assert len(frames[0].objects) > 0


# ------------------------------------------------------------------------------ same errors

GOOD = orjson.dumps(RECORDS[0])
SMALL = orjson.dumps(TRICKY)  # small enough to cut into 3-byte chunks quickly
BAD = {  # a malformed element between good records: what each engine must report alike
    "invalid JSON": b'{"task": {"taskId": "t",}}',
    "raw newline in a string": b'{"task": {"taskId": "t\nu"}}',
    "raw CR in a string": b'{"externalId": "a\rb", "task": {}}',
    "not an object": b"[1, 2]",
    "a number": b"  7 ",
    "empty element": b"  ",
    "form feed only": b"\x0c",
    "invalid UTF-8": b'{"task": {"taskId": "\xff"}}',
    "too deep": b'{"a": ' + b"[" * 70 + b"]" * 70 + b"}",
    "stray bracket": b'{"a": 1}}',
    "lone surrogate": b'{"externalId": "\\ud83d", "task": {"taskId": "s"}}',
}


@pytest.mark.parametrize("name", list(BAD))
@pytest.mark.parametrize("layout", ["compact", "pretty"])
def test_a_malformed_record_gives_the_same_error_with_both_engines(name, layout):
    sep = b",\n  " if layout == "pretty" else b","
    raw = b"[" + sep.join([GOOD, GOOD, BAD[name], GOOD]) + b"]"
    if name == "lone surrogate":  # repaired, with a warning: the same tables
        with pytest.warns(Warning, match="lone surrogate"):
            python, native = _both(lambda: io.BytesIO(raw))
        assert native == python and python[1] == {}
        return
    ref = assert_engines_agree(raw)
    assert isinstance(ref, Exception)
    if name != "stray bracket":
        assert "record 2" in str(ref)


def test_the_position_of_an_error_in_a_pretty_array_is_the_python_readers():
    head = b"[\n  " + GOOD + b",\n  " + GOOD + b",\n"
    bad = b'  {"task":\n    {"taskId": "t",\n     }}'
    raw = head + bad + b",\n  " + GOOD + b"\n]"
    with pytest.raises(orjson.JSONDecodeError) as exc:
        orjson.loads(bad)
    at = len(head) + exc.value.pos  # ASCII: characters are bytes
    line = raw[:at].count(b"\n") + 1
    column = at - raw.rfind(b"\n", 0, at)
    ref = assert_engines_agree(raw)
    assert f"record 2, line {line}, column {column}, byte {at}:" in str(ref), str(ref)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" + GOOD + b"," + GOOD,  # not closed
        b"[" + GOOD + b"," + GOOD[:-30],  # cut inside a record
        b"[" + GOOD + b',{"a": "b',  # cut inside a string
        b"[" + GOOD + b"," + GOOD + b"] x",  # content after the array
        b"[" + GOOD + b"," + GOOD + b",]",  # trailing comma
        b"[" + GOOD + b"}" + GOOD + b"]",  # brackets do not match
    ],
)
def test_array_level_errors_are_the_same_with_both_engines(raw):
    ref = assert_engines_agree(raw)
    assert isinstance(ref, Exception)


def test_errors_in_a_split_zip_member_name_the_member_and_position():
    raw = _split([*RECORDS[:4], "oops", *RECORDS[4:6]], members=2)
    ref = assert_engines_agree(raw)
    assert "member 'export-00001.json'): record 0, line 1, column 2, byte 1:" in str(ref), str(ref)


def test_a_corrupt_split_zip_member_fails_alike_with_both_engines():
    raw = bytearray(_split(RECORDS, members=2))
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as zf:
        info = zf.infolist()[1]
    start = info.header_offset + 30 + len(info.filename)  # the member's compressed bytes
    middle = start + info.compress_size // 2
    raw[middle : middle + 64] = bytes(64)
    python, native = _both(lambda: io.BytesIO(bytes(raw)))
    assert native == python
    assert "export-00001.json" in python[1] and "corrupt zip data" in python[1], python


# ------------------------------------------------------------------------------ the scanner twins

NEAR_JSON = st.lists(
    st.sampled_from([b"{", b"}", b"[", b"]", b",", b'"', b"\\", b"\n", b"\r", b" ", b"a", b":"]),
    max_size=80,
).map(b"".join)


@needs_native
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunk=NEAR_JSON, depth=st.integers(1, 4), in_str=st.booleans(), limit=st.integers(1, 5))
def test_the_native_scanner_cuts_and_stops_where_the_numpy_one_does(chunk, depth, in_str, limit):
    depth = min(depth, limit + 1)  # a chunk never starts deeper than the limit
    ref = jsonscan._structure(chunk, depth, in_str, True, limit, raw=False)
    got = jsonscan._structure(chunk, depth, in_str, True, limit, raw=True)
    assert got[:3] == ref[:3]  # cuts, stop, too deep
    if ref[1] < 0:
        assert got[3:5] == ref[3:5]  # the state carried to the next chunk
    out = got[5]
    assert (out is None) == (b"\n" not in chunk and b"\r" not in chunk)
    if out is not None:  # newlines blanked up to the stop: a space, a NUL inside a string
        inside, odd, expect = in_str, False, bytearray(chunk)
        end = ref[1] if ref[1] >= 0 else len(chunk)
        for i, c in enumerate(chunk[:end]):
            if c == 0x22 and not odd:
                inside = not inside
            if c in (10, 13):
                expect[i] = 0 if inside else 0x20
            odd = c == 0x5C and not odd
        assert out[:end] == bytes(expect[:end])


@needs_native
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.lists(st.sampled_from([SMALL, b"{}", b' {"task": {"taskId": "q"}}', b"", b"1"]), max_size=4),
    noise=st.lists(st.tuples(st.integers(0, 10**6), NEAR_JSON), max_size=3),
    size=st.sampled_from([3, 64, 4096]),
)  # fmt: skip
def test_mutated_arrays_give_the_same_records_or_errors(body, noise, size):
    raw = bytearray(b"[" + b",".join(body) + b"]")
    for at, junk in noise:
        at %= len(raw) + 1
        raw[at:at] = junk
    python, native = _both(lambda: _Trickle(bytes(raw), size), batch_rows=3)
    assert native == python


@needs_native
@pytest.mark.timeout(240)
def test_the_array_scanner_under_asan_and_ubsan(tmp_path):
    from tests.unit.test_native import _sanitizer_build, sanitized_run

    core, runtime = _sanitizer_build(tmp_path)
    # every buffer, even a small chunk, under AddressSanitizer
    run = sanitized_run(
        core, runtime, "native_scan_fuzz_driver.py", "5", "300", PYTHONMALLOC="malloc"
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.startswith("ok "), run.stdout
    assert int(run.stdout.split()[1]) > 3000, run.stdout
    assert "runtime error" not in run.stderr, run.stderr[-3000:]
