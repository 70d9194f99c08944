"""`ango-frames export` into a folder that already holds Parquet tables: refused, or --overwrite."""

from __future__ import annotations

from ango_frames import ExportTables
from ango_frames.cli import main


def test_export_refuses_a_used_folder_and_overwrite_replaces_it(shared_hub, tmp_path, capsys):
    dest = tmp_path / "pq"
    conn = ["--base-url", shared_hub.url, "--api-key", shared_hub.api_key, "--no-progress"]
    assert main(["export", shared_hub.project_id, str(dest), *conn]) == 0
    everything = len(ExportTables.from_parquet(dest).tasks)
    capsys.readouterr()

    code = main(["export", shared_hub.project_id, str(dest), "--stage", "Complete", *conn])
    err = capsys.readouterr().err
    assert code == 2
    assert "already holds a dataset" in err and "--overwrite" in err
    assert len(ExportTables.from_parquet(dest).tasks) == everything

    argv = ["export", shared_hub.project_id, str(dest), "--stage", "Complete", "--overwrite"]
    assert main([*argv, *conn]) == 0
    tasks = ExportTables.from_parquet(dest).tasks
    assert 0 < len(tasks) < everything and set(tasks["stage"]) == {"Complete"}
