"""Writing into a folder that already holds a dataset: refused, or replaced whole, never mixed."""

from __future__ import annotations

import uuid
from pathlib import Path

import fsspec
import orjson
import pytest

from ango_frames.errors import ConfigError, ExportFormatError
from ango_frames.export.parquet import export_to_parquet
from ango_frames.export.tables import ExportTables, read_export


def _records(n: int, stage: str = "Label") -> list[dict]:
    return [
        {
            "externalId": f"{i}.jpg",
            "batches": [f"b{i % 3}"],
            "task": {
                "taskId": f"t{i}",
                "stage": ["Label", "Review", "Complete"][i % 3] if stage == "mixed" else stage,
                "tools": [{"objectId": f"o{i}", "point": [i, i]}],
            },
        }
        for i in range(n)
    ]


def _ndjson(path: Path, records: list[dict], tail: bytes = b"") -> Path:
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in records) + b"\n" + tail)
    return path


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".ango-frames"))


@pytest.mark.parametrize("partition_by", [None, "stage"])
def test_second_export_is_refused_then_replaces_whole(tmp_path: Path, partition_by) -> None:
    big = _ndjson(tmp_path / "big.ndjson", _records(60, "mixed"))
    small = _ndjson(tmp_path / "small.ndjson", _records(10))
    out = tmp_path / "out"
    export_to_parquet(big, out, partition_by=partition_by)
    with pytest.raises(ConfigError, match=r"already holds a dataset .*overwrite=True"):
        export_to_parquet(small, out, partition_by=partition_by)
    assert len(ExportTables.from_parquet(out).tasks) == 60  # the refusal touched nothing

    export_to_parquet(small, out, partition_by=partition_by, overwrite=True)
    back = ExportTables.from_parquet(out)
    assert sorted(back.tasks["task_id"]) == sorted(f"t{i}" for i in range(10))
    assert len(back.objects) == 10
    if partition_by:  # the stale Review / Complete partitions are gone
        assert sorted(p.name for p in (out / "objects").iterdir()) == ["stage=Label"]
    assert _leftovers(out) == []


def test_overwrite_replaces_tables_not_written_this_time(tmp_path: Path) -> None:
    src = _ndjson(tmp_path / "e.ndjson", _records(5))
    out = tmp_path / "out"
    export_to_parquet(src, out)
    (out / "notes.txt").write_text("mine")
    export_to_parquet(src, out, tables=["tasks"], overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "tasks"]
    assert (out / "notes.txt").read_text() == "mine"


def test_failed_overwrite_leaves_the_old_dataset(tmp_path: Path) -> None:
    good = _ndjson(tmp_path / "good.ndjson", _records(7))
    bad = _ndjson(tmp_path / "bad.ndjson", _records(3), tail=b"{not json\n")
    out = tmp_path / "out"
    export_to_parquet(good, out)
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    with pytest.raises(ExportFormatError):
        export_to_parquet(bad, out, overwrite=True)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    assert len(ExportTables.from_parquet(out).tasks) == 7


def test_failed_write_into_an_empty_folder_leaves_no_dataset(tmp_path: Path) -> None:
    bad = _ndjson(tmp_path / "bad.ndjson", _records(3), tail=b"{not json\n")
    out = tmp_path / "out"
    with pytest.raises(ExportFormatError):
        export_to_parquet(bad, out)
    assert not out.exists() or list(out.iterdir()) == []
    export_to_parquet(_ndjson(tmp_path / "ok.ndjson", _records(2)), out)  # not refused
    assert len(ExportTables.from_parquet(out).tasks) == 2


def test_exporttables_to_parquet_same_rules_on_memory_fs(tmp_path: Path) -> None:
    dest = f"memory://{uuid.uuid4().hex}/tables"
    read_export(_ndjson(tmp_path / "a.ndjson", _records(6))).to_parquet(dest)
    small = read_export(_ndjson(tmp_path / "b.ndjson", _records(2)))
    with pytest.raises(ConfigError, match="already holds a dataset"):
        small.to_parquet(dest)
    small.to_parquet(dest, partition_by="batch", overwrite=True)
    assert len(ExportTables.from_parquet(dest).tasks) == 2
    fs = fsspec.filesystem("memory")
    assert not [p for p in fs.find(dest) if ".ango-frames" in p]


def test_overwrite_with_workers(tmp_path: Path) -> None:
    """A JSON array is converted by worker processes, which write into the staging folder."""
    out = tmp_path / "out"
    export_to_parquet(_ndjson(tmp_path / "a.ndjson", _records(9)), out)
    array = tmp_path / "b.json"
    array.write_bytes(orjson.dumps(_records(4)))
    export_to_parquet(array, out, workers=2, overwrite=True)
    assert sorted(ExportTables.from_parquet(out).tasks["task_id"]) == ["t0", "t1", "t2", "t3"]
    assert _leftovers(out) == []
