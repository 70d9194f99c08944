"""The export reader: every shape of export gives the same records, bad input gives typed errors."""

from __future__ import annotations

import io
import json
import pickle
import sys
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import fsspec
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ango_frames.errors import ConfigError, ExportDownloadError, ExportFormatError
from ango_frames.export import jsonscan as scan
from ango_frames.export import jsonstream as js
from ango_frames.export import safezip as sz
from ango_frames.export.records import (
    ExportPart,
    ReadLimits,
    iter_part_records,
    iter_records,
    plan_parts,
    source_provenance,
)
from ango_frames.export_file import ExportFile

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from make_export import make_records, write_export  # noqa: E402

SAMPLES = REPO / "tests" / "data" / "samples"


def _sample_files(valid: bool) -> list[Path]:
    return sorted(p for p in SAMPLES.rglob("*.json") if (".invalid." in p.name) != valid)


RECORDS = list(make_records(25, seed=7))


def ndjson_bytes(records: list[dict]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def zip_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def mem_url(name: str, data: bytes) -> str:
    url = f"memory://records-tests/{uuid.uuid4().hex}/{name}"
    with fsspec.open(url, "wb") as fh:
        fh.write(data)
    return url


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- published samples -------------------------------------------------------------------------


@pytest.mark.parametrize("path", _sample_files(valid=True), ids=lambda p: p.name)
def test_every_valid_sample_yields_its_records(path: Path) -> None:
    expected = json.loads(path.read_text(encoding="utf-8"))
    expected = expected if isinstance(expected, list) else [expected]
    assert list(iter_records(path)) == expected
    assert [r for p in plan_parts(path) for r in iter_part_records(p)] == expected


@pytest.mark.parametrize("path", _sample_files(valid=False), ids=lambda p: p.name)
def test_invalid_samples_name_file_and_line(path: Path) -> None:
    with pytest.raises(json.JSONDecodeError) as std:
        json.loads(path.read_text(encoding="utf-8"))
    with pytest.raises(ExportFormatError) as err:
        list(iter_records(path))
    assert err.value.source == str(path)
    # the same place the standard library points at
    assert f"line {std.value.lineno}, column {std.value.colno}" in err.value.position
    assert f"byte {std.value.pos}" in err.value.position


def test_the_samples_are_the_repositorys_own_fixtures() -> None:
    assert len(_sample_files(valid=True)) >= 50
    assert len(_sample_files(valid=False)) >= 3


# --- one set of records, every shape -----------------------------------------------------------


def _shapes() -> dict[str, tuple[str, bytes]]:
    recs = RECORDS
    pretty = json.dumps(recs, indent=2).encode()
    split = [  # any names, any order in the archive; read in name order
        ("part-c.ndjson", ndjson_bytes(recs[15:])),
        ("__MACOSX/._part-a.json", b"\x00\x05junk"),
        ("part-a.json", orjson.dumps(recs[:10])),
        ("dir/", b""),
        ("part-b/1-one.json", json.dumps(recs[10], indent=4).encode()),
        ("part-b/2-two.json", orjson.dumps(recs[11])),
        ("part-b/3-rest.json", b"\n\n" + ndjson_bytes(recs[12:15])),
        ("part-b/.DS_Store", b"Bud1\x00\x00"),
    ]
    split.sort(key=lambda m: m[0][::-1])  # stored out of order
    return {
        "json": ("e.json", orjson.dumps(recs)),
        "json-pretty": ("e.json", pretty),
        "json-crlf": ("e.json", pretty.replace(b"\n", b"\r\n")),
        "ndjson": ("e.ndjson", ndjson_bytes(recs)),
        "ndjson-blank-lines": ("e.jsonl", b"\n" + ndjson_bytes(recs).replace(b"\n", b"\n\n")),
        "ndjson-no-final-newline": ("e.ndjson", ndjson_bytes(recs).rstrip(b"\n")),
        "objects": ("e.json", b"\n".join(json.dumps(r, indent=1).encode() for r in recs)),
        "zip-json": ("e.zip", zip_bytes([("export.json", orjson.dumps(recs))])),
        "zip-ndjson": ("e.zip", zip_bytes([("export.ndjson", ndjson_bytes(recs))])),
        "split": ("e.zip", zip_bytes(split)),
        "bom-json": ("e.json", b"\xef\xbb\xbf" + pretty),
        "bom-ndjson": ("e.ndjson", b"\xef\xbb\xbf" + ndjson_bytes(recs)),
        "misnamed": ("e.txt", orjson.dumps(recs)),  # told by content, not extension
    }


SHAPES = _shapes()


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_gives_the_same_records(shape: str, tmp_path: Path) -> None:
    name, data = SHAPES[shape]
    path = write(tmp_path, name, data)
    assert list(iter_records(path)) == RECORDS
    assert list(iter_records(str(path))) == RECORDS
    assert list(iter_records(io.BytesIO(data))) == RECORDS
    assert list(iter_records(mem_url(name, data))) == RECORDS
    parts = plan_parts(path, target_bytes=7_000)
    assert [r for p in parts for r in iter_part_records(p)] == RECORDS


def test_single_object_file_is_one_record(tmp_path: Path) -> None:
    rec = RECORDS[3]
    for data in (json.dumps(rec, indent=2).encode(), orjson.dumps(rec)):
        path = write(tmp_path, "one.json", data)
        assert list(iter_records(path)) == [rec]
        assert [p.kind for p in plan_parts(path)] == ["object"]


def test_empty_sources_give_no_records(tmp_path: Path) -> None:
    for data in (b"", b"  \n\n ", b"[]", b"[ \n ]", zip_bytes([]), zip_bytes([("e.json", b"")])):
        assert list(iter_records(io.BytesIO(data))) == []


class OneWayStream(io.RawIOBase):
    """A stream that cannot seek, like a socket or a pipe."""

    def __init__(self, data: bytes) -> None:
        self._buf = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        chunk = self._buf.read(min(len(b), 1000))
        b[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize("shape", ["split", "json", "ndjson"])
def test_non_seekable_streams(shape: str) -> None:
    stream = OneWayStream(SHAPES[shape][1])
    assert list(iter_records(stream)) == RECORDS
    assert not stream.closed  # the caller's file is left open


def test_text_mode_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "e.json", b"[]")
    with path.open() as fh, pytest.raises(TypeError, match="binary"):
        list(iter_records(fh))


def test_bad_src_type() -> None:
    with pytest.raises(TypeError, match="src must be"):
        list(iter_records(42))


# --- parts -------------------------------------------------------------------------------------


def test_split_parts_are_members_in_name_order(tmp_path: Path) -> None:
    path = write(tmp_path, "e.zip", SHAPES["split"][1])
    parts = plan_parts(path)
    assert [p.member for p in parts] == [
        "part-a.json",
        "part-b/1-one.json",
        "part-b/2-two.json",
        "part-b/3-rest.json",
        "part-c.ndjson",
    ]
    assert [p.kind for p in parts] == ["json", "object", "object", "ndjson", "ndjson"]
    assert all(p.byte_range is None for p in parts)
    prov = source_provenance(path)
    assert prov["format"] == "split" and prov["container"] == "zip"
    assert prov["members"] == [p.member for p in parts]


def test_ndjson_is_cut_into_byte_ranges(tmp_path: Path) -> None:
    data = ndjson_bytes(RECORDS)
    path = write(tmp_path, "e.ndjson", data)
    parts = plan_parts(path, target_bytes=len(data) // 4 + 1)
    assert len(parts) == 4
    assert parts[0].byte_range == (0, len(data) // 4 + 1)
    assert parts[-1].byte_range[1] == len(data)
    counts = [len(list(iter_part_records(p))) for p in parts]
    assert sum(counts) == len(RECORDS) and all(counts)


def test_json_array_is_one_part(tmp_path: Path) -> None:
    path = write(tmp_path, "e.json", SHAPES["json"][1])
    assert [(p.member, p.byte_range, p.kind) for p in plan_parts(path, target_bytes=100)] == [
        (None, None, "json")
    ]


def _lines_strategy() -> st.SearchStrategy:
    line = st.one_of(
        st.just(b""),  # blank line
        st.builds(
            lambda n, i: orjson.dumps({"i": i, "pad": "x" * n}),
            st.integers(0, 300),
            st.integers(-(2**63), 2**63 - 1),
        ),
    )
    return st.lists(line, max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=_lines_strategy(),
    target=st.integers(1, 3000),
    final_newline=st.booleans(),
    bom=st.booleans(),
)
def test_byte_ranges_cover_every_line_exactly_once(
    lines: list[bytes], target: int, final_newline: bool, bom: bool
) -> None:
    data = (b"\xef\xbb\xbf" if bom else b"") + b"\n".join(lines) + (b"\n" if final_newline else b"")
    expected = [orjson.loads(ln) for ln in lines if ln]
    url = mem_url("h.ndjson", data)
    parts = plan_parts(url, target_bytes=target)
    if len(expected) > 1:  # several lines make it ndjson, cut into byte ranges
        assert all(p.kind == "ndjson" and p.byte_range for p in parts)
        assert parts[0].byte_range[0] == 0 and parts[-1].byte_range[1] == len(data)
    assert [r for p in parts for r in iter_part_records(p)] == expected
    assert list(iter_records(url)) == expected


def test_parts_pickle_without_showing_secrets(tmp_path: Path) -> None:
    path = write(tmp_path, "e.ndjson", SHAPES["ndjson"][1])
    so = {"key": "AKIA-SECRET", "secret": "hunter2"}
    parts = plan_parts(str(path), storage_options=so, target_bytes=5_000)
    for part in parts:
        assert "SECRET" not in repr(part) and "hunter2" not in repr(part)
        clone = pickle.loads(pickle.dumps(part))
        assert clone == part and clone.storage_options == so
    assert [r for p in parts for r in iter_part_records(pickle.loads(pickle.dumps(p)))] == RECORDS


def test_file_object_part_is_local_only() -> None:
    (part,) = plan_parts(io.BytesIO(SHAPES["split"][1]))
    assert part.kind == "stream"
    assert list(iter_part_records(part)) == RECORDS
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(part)


def test_part_of_a_missing_member() -> None:
    url = mem_url("e.zip", SHAPES["zip-json"][1])
    with pytest.raises(ExportFormatError, match="no data member"):
        list(iter_part_records(ExportPart(url, "nope.json", None, "json")))


# --- ExportFile and provenance -----------------------------------------------------------------


def test_export_file_source_and_provenance() -> None:
    url = mem_url("export.zip", SHAPES["zip-ndjson"][1])
    ef = ExportFile(
        path=url,
        format="ndjson",
        project="p1",
        params={"project": "p1", "format": "ndjson"},
        downloaded_at=datetime(2025, 1, 2, tzinfo=timezone.utc),
        size=123,
        storage_options={"token": "SECRET-TOKEN"},
    )
    assert list(iter_records(ef)) == RECORDS
    assert [r for p in plan_parts(ef) for r in iter_part_records(p)] == RECORDS
    prov = source_provenance(ef)
    assert prov["project"] == "p1" and prov["size"] == 123
    assert prov["format"] == "ndjson" and prov["requested_format"] == "ndjson"
    assert prov["members"] == ["export.ndjson"] and prov["source"] == url
    assert "SECRET" not in json.dumps(prov)


def test_provenance_drops_url_credentials_and_signatures() -> None:
    from ango_frames.export.source import display as _display

    shown = _display("https://user:pw@bucket.example.org/e.zip?X-Amz-Signature=abc")
    assert shown == "https://bucket.example.org/e.zip"
    assert _display("exports/x.json") == "exports/x.json"


# --- errors ------------------------------------------------------------------------------------


def _error(data: bytes, name: str = "bad.json", **kw) -> ExportFormatError:  # type: ignore[no-untyped-def]
    url = mem_url(name, data)
    with pytest.raises(ExportFormatError) as err:
        list(iter_records(url, **kw))
    return err.value


def test_ndjson_error_names_line_column_and_byte() -> None:
    data = b'{"a": 1}\n{"b": 2}\n{"c" 3}\n'
    err = _error(data, "e.ndjson")
    assert err.source.endswith("e.ndjson")
    assert err.position == "line 3, column 6, byte 23"  # at the 3 where ':' was expected


def test_non_object_records_are_named_by_index() -> None:
    err = _error(b'[{"a": 1}, {"b": 2}, 3]')
    assert "record 2" in err.position and "int" in str(err)
    err = _error(b'{"a": 1}\n["x"]\n', "e.ndjson")
    assert "line 2" in err.position and "list" in str(err)
    err = _error(b'"just a string"')
    assert "expected '[' or '{'" in str(err)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'[{"a": 1},]', "trailing comma"),
        (b'[{"a": 1},,{"b": 1}]', "empty element"),
        (b'[{"a": 1}] x', "after the JSON array"),
        (b'[{"a": 1}}', "brackets do not match"),
        (b'[{"a": "x', "unterminated string"),
        (b'[{"a": [1, 2', "incomplete record"),
        (b'{"a": 1} {"b": ', "incomplete JSON object"),
        (b"\xff\xfe[\x00]\x00", "UTF-16"),
        (b"\x1f\x8b\x08\x00", "gzip"),
        (b'[{"a": "caf\xe9"}]', "UTF-8"),
    ],
)
def test_malformed_json_is_refused(data: bytes, message: str) -> None:
    err = _error(data)
    assert message in str(err)
    assert "byte" in err.position


def test_error_positions_in_a_long_single_line_array() -> None:
    recs = [{"i": i, "s": "é" * 50} for i in range(2000)]
    data = orjson.dumps(recs)
    bad_at = data.index(b'{"i":1500,') + 6
    data = data[:bad_at] + b"?" + data[bad_at + 1 :]
    err = _error(data)
    assert err.position == f"record 1500, line 1, column {bad_at + 1}, byte {bad_at}"


def test_error_in_a_zip_member_names_the_member() -> None:
    data = zip_bytes([("a.json", b"[]"), ("b/c.ndjson", b'{"a": 1}\n{"a": 2,}\n')])
    err = _error(data, "e.zip")
    assert err.source.endswith("e.zip (member 'b/c.ndjson')")
    assert err.position.startswith("line 2, column 8")


def test_error_in_a_byte_range_part_gives_the_file_line() -> None:
    lines = [orjson.dumps({"i": i}) for i in range(200)]
    lines[150] = b'{"i": oops}'
    url = mem_url("e.ndjson", b"\n".join(lines) + b"\n")
    parts = plan_parts(url, target_bytes=100)
    bad = [
        p
        for p in parts
        if p.byte_range[0] <= sum(len(x) + 1 for x in lines[:150]) < p.byte_range[1]
    ]
    with pytest.raises(ExportFormatError) as err:
        list(iter_part_records(bad[0]))
    assert err.value.position.startswith("line 151, column 7")


def test_junk_members_are_skipped_but_data_members_are_not() -> None:
    data = zip_bytes([("__MACOSX/x.json", b"junk"), ("notes.txt", b"hello"), ("a.json", b"[]")])
    err = _error(data, "e.zip")
    assert "notes.txt" in err.source


def test_nested_zip_is_refused() -> None:
    err = _error(zip_bytes([("inner.zip", zip_bytes([("a.json", b"[]")]))]), "e.zip")
    assert "zip inside the zip" in str(err)


# --- depth -------------------------------------------------------------------------------------


def _deep(n: int) -> bytes:
    return b'{"a": ' * (n - 1) + b"{}" + b"}" * (n - 1)


@pytest.mark.parametrize("shape", ["ndjson", "json", "object"])
def test_nesting_deeper_than_max_depth_is_refused(shape: str) -> None:
    ok, deep = _deep(10), _deep(11)
    limits = ReadLimits(max_depth=10)

    def build(rec: bytes) -> bytes:
        if shape == "ndjson":
            return b'{"x": 1}\n' + rec + b"\n"
        if shape == "json":
            return b'[{"x": 1},\n' + rec + b"]"
        return b'{"x": 1}\n\n' + rec

    assert len(list(iter_records(io.BytesIO(build(ok)), limits=limits))) == 2
    err = _error(build(deep), limits=limits)
    assert "max_depth=10" in str(err)
    assert f"line {3 if shape == 'object' else 2}" in err.position


@pytest.mark.parametrize(
    "bomb",
    [
        b"[" * 200_000,
        b"[" + b'{"a":[' * 100_000,
        b'{"a":' * 100_000 + b"\n{}\n",
        b"{" + b"[" * 5000,
    ],
)
def test_nesting_bombs_fail_cleanly(bomb: bytes) -> None:
    err = _error(bomb)
    assert "max_depth=64" in str(err) or "unexpected end of file" in str(err)


def test_depth_counting_ignores_brackets_in_strings() -> None:
    rec = {"s": "[[[[{{{{" * 20, "t": 'x\\"[[[', "u": [[["]]]"]]]}
    data = orjson.dumps(rec)
    assert not js.exceeds_depth(data, 4) and js.exceeds_depth(data, 3)
    assert list(iter_records(io.BytesIO(b"[" + data + b"]"), limits=ReadLimits(max_depth=4))) == [
        rec
    ]


# --- streaming internals: chunk boundaries anywhere ----------------------------------------------

_text = st.text(alphabet=st.sampled_from(list('ab\\"[]{},: \n\té\u2028')), max_size=12)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(_text, kids, max_size=4),
    max_leaves=20,
)


def _chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.slow
@settings(max_examples=120, deadline=None)
@given(
    recs=st.lists(st.dictionaries(_text, _json, max_size=5), max_size=6),
    size=st.integers(1, 64),
    indent=st.sampled_from([None, 1, 2]),
)
def test_array_and_object_scanners_cut_anywhere(
    recs: list[dict], size: int, indent: int | None
) -> None:
    ctx = js.Ctx("t")
    arr = json.dumps(recs, indent=indent, ensure_ascii=False).encode()
    assert list(scan.iter_array(iter(_chunked(arr, size)), ctx)) == recs
    objs = b"\n".join(json.dumps(r, indent=indent, ensure_ascii=False).encode() for r in recs)
    assert list(scan.iter_objects(iter(_chunked(objs, size)), ctx)) == recs
    nd = b"\n".join(json.dumps(r, ensure_ascii=False).encode() for r in recs)
    assert list(js.iter_ndjson(iter(_chunked(nd, size)), ctx)) == recs


# --- zip safety --------------------------------------------------------------------------------


def _raw_zip_with_name(name: str) -> bytes:
    placeholder = "x" * len(name)
    data = zip_bytes([(placeholder, b"[]")])
    return data.replace(placeholder.encode(), name.encode())  # zipfile would not write these


@pytest.mark.parametrize(
    "name",
    ["../evil.json", "a/../../evil.json", "/etc/evil.json", "C:/evil.json", "a\\..\\evil.json"],
)
def test_zip_slip_members_are_refused(name: str) -> None:
    data = _raw_zip_with_name(name)
    err = _error(data, "e.zip")
    assert "unsafe member name" in str(err)
    with pytest.raises(ExportFormatError, match="unsafe"):
        plan_parts(mem_url("e.zip", data))


def test_zip_bomb_ratio_is_refused() -> None:
    data = zip_bytes([("bomb.json", b"[" + b" " * (4 << 20) + b"]")])
    assert len(data) < 100_000
    err = _error(data, "e.zip")
    assert "max_ratio" in str(err) and "bomb.json" in err.source


def test_member_size_limit() -> None:
    data = zip_bytes([("e.json", orjson.dumps(RECORDS))])
    err = _error(data, "e.zip", limits=ReadLimits(max_member_bytes=1000))
    assert "max_member_bytes=1000" in str(err)


def test_streaming_guard_does_not_rely_on_headers() -> None:
    big = orjson.dumps(RECORDS)
    zf = zipfile.ZipFile(io.BytesIO(zip_bytes([("e.json", big)])))
    (info,) = zf.infolist()
    guard = sz.guarded_chunks(
        zf, info, "e.zip", chunk_bytes=4096, max_member_bytes=10_000, max_ratio=1e9
    )
    with pytest.raises(ExportFormatError, match="decompresses to more than"):
        list(guard)


def test_lying_size_header_is_caught() -> None:
    data = orjson.dumps(RECORDS)
    raw = bytearray(zip_bytes([("e.json", data)]))
    size = len(data).to_bytes(4, "little")
    raw[:] = raw.replace(size, (len(data) // 2).to_bytes(4, "little"))  # local + central header
    with pytest.raises(ExportDownloadError, match="corrupt"):
        list(iter_records(io.BytesIO(bytes(raw))))


def test_too_many_members() -> None:
    data = zip_bytes([(f"{i}.json", b"[]") for i in range(5)])
    err = _error(data, "e.zip", limits=ReadLimits(max_members=4))
    assert "max_members=4" in str(err)


def test_truncated_and_corrupt_zips() -> None:
    data = SHAPES["zip-json"][1]
    for cut in (len(data) // 2, len(data) - 10, 30):
        with pytest.raises(ExportDownloadError, match="not a readable zip"):
            list(iter_records(mem_url("e.zip", data[:cut])))
    flipped = bytearray(data)
    for i in range(200, 260):
        flipped[i] ^= 0x55
    with pytest.raises(ExportDownloadError, match="corrupt"):
        list(iter_records(io.BytesIO(bytes(flipped))))


def test_read_limits_are_validated() -> None:
    with pytest.raises(ConfigError, match="max_depth"):
        ReadLimits(max_depth=0)
    with pytest.raises(ConfigError, match="target_bytes"):
        plan_parts(io.BytesIO(b"[]"), target_bytes=0)


# --- the generator -----------------------------------------------------------------------------


def test_make_records_is_deterministic_and_realistic() -> None:
    a, b = list(make_records(200, seed=3)), list(make_records(200, seed=3))
    assert a == b and a[:20] != list(make_records(20, seed=4))
    videos = [r for r in a if "frameTotal" in r["metadata"]]
    assert 0 < len(videos) < 20
    tools = [t for r in a for t in r["task"]["tools"]]
    assert {k for t in tools for k in ("bounding-box", "polygon", "point") if k in t} == {
        "bounding-box",
        "polygon",
        "point",
    }
    assert all(1 <= len(r["task"]["tools"]) <= 30 for r in a if r not in videos)
    assert all(
        [s["stage"] for s in r["task"]["stageHistory"]] == ["Start", "Label", "Review"] for r in a
    )
    stamps = [t["metadata"]["createdAt"] for t in tools]
    assert any(isinstance(s, int) for s in stamps) and any(isinstance(s, str) for s in stamps)
    frames = [t for r in videos for t in r["task"]["tools"]]
    assert all("page" in t for t in frames) and any(t.get("interpolationStopped") for t in frames)
    rels = [rel for r in a for rel in r["task"]["relations"]]
    assert any("group" in rel for rel in rels) and any("from" in rel for rel in rels)
    tools_cls = [c["tool"] for r in a for c in r["task"]["classifications"]]
    assert {"radio", "checkbox", "tree-dropdown"} <= set(tools_cls)


@pytest.mark.parametrize("fmt", ["ndjson", "json", "zip", "split"])
def test_write_export_round_trips(fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"e.{fmt}"
    stats = write_export(out, 0.3, fmt, seed=5)
    assert stats["bytes"] >= 0.3 * 2**20
    got = list(iter_records(out))
    assert len(got) == stats["assets"]
    assert got == list(make_records(stats["assets"], seed=5))
    assert sum(len(r["task"]["tools"]) for r in got) == stats["objects"]
