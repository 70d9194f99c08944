"""The README's main job: the demo runs the whole loop and its predictions arrive."""

from __future__ import annotations

from ango_frames import ExportTables
from ango_frames.demo import run_demo


def test_demo_round_trip(tmp_path):
    lines: list[str] = []
    summary = run_demo(str(tmp_path / "demo"), echo=lines.append)
    assert summary["predictions"] > 0
    assert summary["arrived"] == summary["predictions"]
    tables = ExportTables.from_parquet(str(tmp_path / "demo" / "tables"))
    assert summary["rows"] == {name: len(frame) for name, frame in tables.items()}
    # distinct objects, not per-frame rows: the demo has video tracks, so the two differ
    distinct = tables.objects.drop_duplicates(["task_id", "object_id"])
    assert len(distinct) < len(tables.objects)
    assert summary["objects_per_class"] == distinct.groupby("title").size().to_dict()
    assert sum(summary["objects_per_class"].values()) == len(distinct)
    assert "objects per class (distinct objects; a video track counts once):" in lines
    assert set(summary["median_stage_seconds"]) == set(tables.stage_history.stage)
    assert (tmp_path / "demo" / "import_results.csv").exists()
    assert any("re-export" in line for line in lines)
