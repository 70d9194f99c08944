"""The source is resolved, opened and sniffed once; read_export's limits= and dtypes=."""

from __future__ import annotations

import collections
import io
import subprocess
import sys
import textwrap
import uuid

import fsspec
import orjson
import pyarrow as pa
import pytest
from fsspec.implementations.memory import MemoryFileSystem

import ango_frames.export.jsonstream as js
from ango_frames.errors import ConfigError, ExportFormatError
from ango_frames.export.records import ReadLimits, source_provenance
from ango_frames.export.tables import read_export
from tests.unit.test_reading_faults import _zip

RECORDS = [
    {"externalId": f"{i}", "task": {"taskId": f"t{i}", "tools": [{"objectId": f"o{i}", "point": [1, 2]}]}}
    for i in range(40)
]  # fmt: skip


ARRAY = orjson.dumps(RECORDS)
SHAPES = {
    "a.json": (ARRAY, 0),
    "a.ndjson": (b"".join(orjson.dumps(r) + b"\n" for r in RECORDS), 0),
    "one.zip": (_zip({"e.json": ARRAY}), 1),
    "split.zip": (
        _zip({"e-0.json": orjson.dumps(RECORDS[:20]), "e-1.json": orjson.dumps(RECORDS[20:])}),
        2,
    ),
}


@pytest.fixture
def counted(monkeypatch):
    counts: collections.Counter = collections.Counter()
    open_, sniff = MemoryFileSystem._open, js.sniff

    def counting_open(self, path, *a, **k):
        counts["open"] += 1
        return open_(self, path, *a, **k)

    def counting_sniff(*a, **k):
        counts["sniff"] += 1
        return sniff(*a, **k)

    monkeypatch.setattr(MemoryFileSystem, "_open", counting_open)
    monkeypatch.setattr(js, "sniff", counting_sniff)
    return counts


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("name", list(SHAPES))
def test_the_source_is_opened_and_sniffed_once(counted, name, workers):
    data, members = SHAPES[name]
    url = f"memory://source-{uuid.uuid4().hex}/{name}"
    with fsspec.open(url, "wb") as fh:
        fh.write(data)
    counted.clear()
    tables = read_export(url, workers=workers)
    assert len(tables.tasks) == 40 and len(tables.objects) == 40
    # one open of the source; one sniff of it and one of each zip member it holds
    assert counted == {"open": 1, "sniff": 1 + members}
    expected_format = {"a.json": "json", "a.ndjson": "ndjson", "one.zip": "json"}
    assert tables.provenance["format"] == expected_format.get(name, "split")
    assert tables.provenance == source_provenance(url)


def test_read_export_takes_read_limits():
    deep = b'[{"externalId": "a", "task": {"taskId": "t", "stage": [[[[[[1]]]]]]}}]'
    assert len(read_export(io.BytesIO(deep)).tasks) == 1
    with pytest.raises(ExportFormatError, match="max_depth=4"):
        read_export(io.BytesIO(deep), limits=ReadLimits(max_depth=4))
    with pytest.raises(ExportFormatError, match="max_members=1"):
        read_export(io.BytesIO(SHAPES["split.zip"][0]), limits=ReadLimits(max_members=1))


def _meta(*values) -> list[dict]:
    return [
        {"externalId": f"{i}", "task": {"taskId": f"t{i}"}, "metadata": {"slices": v, "id": "007"}}
        for i, v in enumerate(values)
    ]


def test_dtypes_override_the_inferred_metadata_types():
    records = _meta(3, 4)
    assert str(read_export(records).tasks["metadata_slices"].dtype) == "int64[pyarrow]"
    tables = read_export(
        records,
        dtypes={"metadata_slices": "double", "metadata_id": pa.string(), "context_x": "bool"},
    )
    assert str(tables.tasks["metadata_slices"].dtype) == "double[pyarrow]"
    assert tables.tasks["metadata_id"].tolist() == ["007", "007"]
    assert str(tables.tasks["context_x"].dtype) == "bool[pyarrow]"  # absent: added, all null
    assert tables.tasks["context_x"].isna().all()
    again = read_export(records, dtypes={"metadata_id": "int64"})
    assert again.tasks["metadata_id"].tolist() == [7, 7]


@pytest.mark.parametrize(
    ("dtypes", "match"),
    [
        ({"task_id": "int64"}, "not an inferred column"),
        ({"metadata_slices": "no-such-type"}, "is not a type"),
        ({"metadata_id": "bool"}, "cannot be converted"),
        (["metadata_id"], "must be a mapping"),
    ],
)
def test_bad_dtypes_are_config_errors(dtypes, match):
    with pytest.raises(ConfigError, match=match):
        read_export(_meta(1, 2), dtypes=dtypes)


def test_an_https_source_without_the_http_filesystem_names_the_extra():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["aiohttp"] = None  # as if fsspec's HTTP filesystem deps were not installed
        from ango_frames.errors import ConfigError
        from ango_frames.export.tables import read_export
        try:
            read_export("https://user:secret@files.example.invalid/export.zip?sig=abc")
        except ConfigError as exc:
            print(exc)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert "ango-frames[http]" in out.stdout and "https://" in out.stdout
    assert "secret" not in out.stdout and "sig=abc" not in out.stdout
