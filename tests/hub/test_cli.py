"""The ango-frames command line against the local hub."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys

import pandas as pd
import pytest
import requests

from ango_frames import ExportTables
from ango_frames.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def conn(hub) -> list[str]:
    return ["--base-url", hub.url, f"--api-key={hub.api_key}"]  # a key may start with "-"


def test_export_to_parquet_with_filters(shared_hub, tmp_path, capsys):
    dest = tmp_path / "pq"
    code, out, err = run(
        capsys,
        "export",
        shared_hub.project_id,
        str(dest),
        "--include-history",
        "--stage",
        "Complete",
        "--updated-after",
        "2000-01-01T00:00:00Z",
        "--no-progress",
        *conn(shared_hub),
    )
    assert code == 0, err
    tables = ExportTables.from_parquet(str(dest))
    assert len(tables.tasks) > 0 and set(tables.tasks.stage) == {"Complete"}
    assert f"{len(tables.tasks):>10,d} rows" in out
    query = [r.query for r in shared_hub.requests if r.path == "/v2/export"][-1]
    assert query["stage"] == '["Complete"]' and query["includeHistory"] == "true"
    assert json.loads(query["updatedAt"]) == {"$gt": "2000-01-01T00:00:00.000000Z"}


@pytest.mark.parametrize("to", ["csv", "ndjson"])
def test_export_to_text_tables(shared_hub, tmp_path, capsys, to):
    code, _, err = run(
        capsys,
        "export",
        shared_hub.project_id,
        str(tmp_path),
        "--to",
        to,
        "--no-progress",
        *conn(shared_hub),
    )
    assert code == 0, err
    counts = shared_hub.counts()
    path = tmp_path / f"objects.{to}"
    if to == "csv":
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == counts["objects"]
        poly = next(r for r in rows if r["tool"] == "polygon")
        assert isinstance(json.loads(poly["points"]), list)
    else:
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        assert len(rows) == counts["objects"]
        poly = next(r for r in rows if r["tool"] == "polygon")
        assert isinstance(poly["points"][0], list)
    assert (tmp_path / f"stage_history.{to}").exists()


def test_user_errors_are_one_line_and_non_zero(shared_hub, tmp_path, capsys):
    code, out, err = run(
        capsys, "export", "no-such-project", str(tmp_path), "--no-progress", *conn(shared_hub)
    )
    assert code == 2
    assert err.startswith("ango-frames: error:") and "Invalid project" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert shared_hub.api_key not in err + out


def test_bad_time_is_refused_by_the_parser(shared_hub, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["export", "p", str(tmp_path), "--updated-after", "2020-01-01T00:00:00"])
    assert info.value.code == 2
    assert "time zone" in capsys.readouterr().err


def test_missing_key_is_one_clear_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ANGO_API_KEY", raising=False)
    code, _, err = run(capsys, "export", "p", str(tmp_path))
    assert code == 2 and "ANGO_API_KEY" in err


def test_serve_local_serves_until_interrupted():
    proc = subprocess.Popen(
        [sys.executable, "-m", "ango_frames.cli", "serve-local", "--api-key", "local-key"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().split(" at ")[-1].strip()
        lines = [proc.stdout.readline() for _ in range(2)]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v2")
        project = lines[0].split(":")[-1].strip()
        assert "local-key" in lines[1]
        reply = requests.get(
            f"{url}/project/{project}", headers={"apikey": "local-key"}, timeout=10
        )
        assert reply.json()["data"]["project"]["_id"] == project
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0


def test_demo_writes_its_folder(tmp_path, capsys):
    code, out, err = run(capsys, "demo", "--out", str(tmp_path / "demo"))
    assert code == 0, err
    assert (tmp_path / "demo" / "export.zip").exists()
    assert "local Ango Hub at http://127.0.0.1:" in out
    assert (tmp_path / "demo" / "tables" / "objects").is_dir()
    assert "re-export:" in out


def _predictions(tmp_path, suffix: str) -> str:
    frame = pd.DataFrame(
        {
            "external_id": ["img-0000.jpg", "img-0000.jpg", "img-0001.jpg"],
            "title": ["car", "person", "car"],
            "x": [10.0, 200.0, 30.0],
            "y": [20.0, 40.0, 30.0],
            "width": [50.0, 60.0, 70.0],
            "height": [40.0, 80.0, 20.0],
            "score": [0.9, 0.8, 0.7],
        }
    )
    path = tmp_path / f"preds{suffix}"
    frame.to_parquet(path) if suffix == ".parquet" else frame.to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_import_labels_dry_run_then_for_real_with_a_journal(hub, tmp_path, capsys, suffix):
    src = _predictions(tmp_path, suffix)
    code, out, err = run(capsys, "import-labels", hub.project_id, src, "--dry-run", *conn(hub))
    assert code == 0, err
    assert "1 request(s), 2 item(s)" in out and "nothing was sent" in out
    assert not [r for r in hub.requests if r.path == "/v2/import/labels"]

    journal, results = tmp_path / "j.jsonl", tmp_path / "results.csv"
    argv = [
        "import-labels",
        hub.project_id,
        src,
        "--journal",
        str(journal),
        "--no-progress",
        "--results",
        str(results),
        *conn(hub),
    ]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert "import finished: 2 sent" in out
    assert hub.applications("img-0000.jpg") == 1 and hub.applications("img-0001.jpg") == 1
    assert list(pd.read_csv(results)["status"]) == ["sent", "sent"]
    code, out, _ = run(capsys, *argv)  # the same journal: nothing is sent twice
    assert code == 0 and "2 skipped (journal)" in out
    assert hub.applications("img-0000.jpg") == 1


def test_import_labels_invalid_rows_print_the_failure_table(hub, tmp_path, capsys):
    src = tmp_path / "bad.csv"
    pd.DataFrame(
        {
            "external_id": ["img-0000.jpg"],
            "title": ["no-such-class"],
            "x": [1.0],
            "y": [1.0],
            "width": [2.0],
            "height": [2.0],
        }
    ).to_csv(src, index=False)
    code, _, err = run(capsys, "import-labels", hub.project_id, str(src), *conn(hub))
    assert code == 2
    assert "unknown_class" in err and "nothing was sent" in err and "Traceback" not in err


def test_import_labels_that_go_only_part_way_exit_1(hub, tmp_path, capsys):
    src = _predictions(tmp_path, ".csv")
    hub.faults.add("import_labels", "500", count=100)
    code, _, err = run(
        capsys,
        "import-labels",
        hub.project_id,
        src,
        "--chunk-rows",
        "1",
        "--no-progress",
        *conn(hub),
    )
    assert code == 1 and "did not go through" in err


def test_import_attachments(hub, tmp_path, capsys):
    src = tmp_path / "att.csv"
    pd.DataFrame(
        {"external_id": ["img-0002.jpg"], "attachment_url": ["https://files.example.org/x.pdf"]}
    ).to_csv(src, index=False)
    code, _, err = run(
        capsys, "import-attachments", hub.project_id, str(src), "--no-progress", *conn(hub)
    )
    assert code == 0, err
    assert [a["attachmentUrl"] for a in hub.attachments("img-0002.jpg")] == [
        "https://files.example.org/x.pdf"
    ]


def test_annotate(hub, tmp_path, capsys):
    task = next(iter(hub.project().assets.values())).task.id
    src = tmp_path / "answers.parquet"
    pd.DataFrame(
        {
            "task_id": [task],
            "title": ["person"],
            "x": [1.0],
            "y": [2.0],
            "width": [3.0],
            "height": [4.0],
        }
    ).to_parquet(src)
    code, out, err = run(
        capsys, "annotate", str(src), "--project", hub.project_id, "--no-progress", *conn(hub)
    )
    assert code == 0, err
    assert "1 sent" in out
    posted = [r for r in hub.requests if r.path == f"/v2/annotate/{task}"]
    assert len(posted) == 1 and posted[0].query == {"isPlugin": "false"}
