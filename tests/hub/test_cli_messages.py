"""What ango-frames prints: connection failures, retries, results files, progress labels."""

from __future__ import annotations

import re
import socket

import pandas as pd
import pytest

from tests.hub.test_cli import conn, run


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_refused_connection_says_so(tmp_path, capsys, closed_port):
    url = f"http://127.0.0.1:{closed_port}/v2"
    code, _, err = run(
        capsys, "export", "p", str(tmp_path), "--base-url", url, "--api-key", "K", "--retries", "0"
    )
    assert code == 2
    assert err == (
        f"ango-frames: error: could not connect to 127.0.0.1:{closed_port}: connection refused "
        "(1 attempt in 0 s)\n"
    )


def test_retries_show_while_they_happen(tmp_path, capsys, closed_port):
    url = f"http://127.0.0.1:{closed_port}/v2"
    code, _, err = run(
        capsys, "--retries", "2", "export", "p", str(tmp_path), "--base-url", url, "--api-key", "K"
    )
    assert code == 2
    lines = err.splitlines()
    host = f"127.0.0.1:{closed_port}"
    assert len(lines) == 3, err
    for n, line in enumerate(lines[:2], start=2):
        assert re.fullmatch(
            rf"ango-frames: {host}: connection refused; retrying in \d+\.\d s "
            rf"\(attempt {n} of 3\)",
            line,
        ), line
    assert re.fullmatch(
        rf"ango-frames: error: could not connect to {host}: connection refused "
        r"\(3 attempts in \d+ s\)",
        lines[2],
    ), lines[2]


def _predictions(tmp_path) -> str:
    path = tmp_path / "preds.csv"
    pd.DataFrame(
        {
            "external_id": ["img-0000.jpg", "img-0001.jpg"],
            "title": ["car", "person"],
            "x": [10.0, 30.0],
            "y": [20.0, 30.0],
            "width": [50.0, 70.0],
            "height": [40.0, 20.0],
        }
    ).to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_results_files_have_no_unnamed_index_column(hub, tmp_path, capsys, suffix):
    results = tmp_path / f"results{suffix}"
    code, _, err = run(
        capsys,
        "import-labels",
        hub.project_id,
        _predictions(tmp_path),
        "--results",
        str(results),
        "--no-progress",
        *conn(hub),
    )
    assert code == 0, err
    if suffix == ".csv":
        header = results.read_text().splitlines()[0].split(",")
        frame = pd.read_csv(results)
    else:
        frame = pd.read_parquet(results)
        header = list(frame.columns)
    assert header[:5] == ["key_field", "key", "chunk", "sent", "status"]
    assert not [c for c in header if c == "" or str(c).startswith("Unnamed")]
    assert list(frame["status"]) == ["sent", "sent"]


@pytest.mark.parametrize("to", ["csv", "ndjson", "parquet"])
def test_progress_says_what_is_written(shared_hub, tmp_path, capsys, to):
    code, _, err = run(capsys, "export", shared_hub.project_id, str(tmp_path), "--to", to,
                       *conn(shared_hub))  # fmt: skip
    assert code == 0, err
    labels = set(re.findall(r"export to \w+", err))
    assert labels == {f"export to {to}"}


def test_annotate_by_title_without_a_project_names_the_flag(hub, tmp_path, capsys):
    task = next(iter(hub.project().assets.values())).task.id
    src = tmp_path / "answers.csv"
    pd.DataFrame(
        {"task_id": [task], "title": ["person"], "x": [1.0], "y": [2.0], "width": [3.0],
         "height": [4.0]}
    ).to_csv(src, index=False)  # fmt: skip
    code, _, err = run(capsys, "annotate", str(src), "--no-progress", *conn(hub))
    assert code == 2
    assert err == (
        "ango-frames: error: rows name their class by title: pass --project so titles resolve "
        "to schemaIds, or give a schema_id column\n"
    )
    assert not [r for r in hub.requests if r.path.startswith("/v2/annotate")]


def test_a_server_error_after_retries_says_how_many(hub, tmp_path, capsys):
    hub.faults.add("export", "503", count=10)
    code, _, err = run(capsys, "export", hub.project_id, str(tmp_path), "--retries", "1",
                       "--no-progress", *conn(hub))  # fmt: skip
    assert code == 2
    host = hub.url.split("//")[1].split("/")[0]
    first, last = err.splitlines()
    assert re.fullmatch(
        rf"ango-frames: {host}: HTTP 503 \(GET /v2/export\): .+; retrying in \d+\.\d s "
        r"\(attempt 2 of 2\)",
        first,
    ), first
    assert re.fullmatch(
        r"ango-frames: error: HTTP 503 \(GET /v2/export\): .+ \(2 attempts in \d+ s\)", last
    ), last


def test_a_server_that_does_not_answer_says_so(hub, tmp_path, capsys):
    hub.faults.add("export", "stall", seconds=1.5, count=1)
    code, _, err = run(capsys, "export", hub.project_id, str(tmp_path), "--retries", "0",
                       "--timeout", "5,0.3", "--no-progress", *conn(hub))  # fmt: skip
    assert code == 2
    host = hub.url.split("//")[1].split("/")[0]
    assert re.fullmatch(
        rf"ango-frames: error: no answer from {host}: read timeout \(1 attempt in \d+ s\)\n", err
    ), err
