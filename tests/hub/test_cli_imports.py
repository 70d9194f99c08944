"""The CLI's import commands: what they print, write and exit with; ids read as text."""

from __future__ import annotations

import pandas as pd
import pytest

from ango_frames.cli import build_parser, main
from ango_frames.cli_imports import read_table
from ango_frames.errors import ConfigError
from ango_frames.testing import LocalHub

ONTOLOGY = {"tools": [{"tool": "bounding-box", "title": "car", "schemaId": "car-1"}]}


@pytest.fixture
def local():
    with LocalHub(demo=False) as hub:
        pid = hub.add_project("cli", ontology=ONTOLOGY)
        for name in ("00042", "1000", "img-0001.jpg"):
            hub.add_asset(pid, name)
        yield hub, pid


def run(capsys, hub, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--no-progress", "--base-url", hub.url, f"--api-key={hub.api_key}"])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_on_error_skip_counts_and_writes_the_rejected_rows(local, tmp_path, capsys):
    hub, pid = local
    src, results = tmp_path / "p.csv", tmp_path / "res.csv"
    pd.DataFrame(
        {"external_id": ["img-0001.jpg", "img-0001.jpg"], "schema_id": "car-1",
         "x": [1.0, 2.0], "y": 1.0, "width": [3.0, -1.0], "height": 4.0}
    ).to_csv(src, index=False)  # fmt: skip
    code, out, err = run(capsys, hub, "import-labels", pid, str(src), "--on-error", "skip",
                         "--results", str(results))  # fmt: skip
    assert code == 0, err
    assert "1 input row(s) rejected" in out
    rejected = pd.read_csv(tmp_path / "res.rejected.csv")
    assert list(rejected.columns) == ["row", "column", "reason", "value"]
    assert rejected.loc[0, "reason"] == "non_positive_size" and rejected.loc[0, "row"] == 1
    assert list(pd.read_csv(results)["status"]) == ["sent"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is not a table"),
        (b"external_id,schema_id,x,y,width,height\n", "has no rows"),
        (b"hello world, this is a note\n", "has no rows"),
        (b"just one line of prose\nand another\n", "is not a table of labels"),
    ],
    ids=["empty", "header-only", "prose", "one-column"],
)
def test_an_input_that_is_no_table_or_has_no_rows_is_an_error(local, tmp_path, capsys,
                                                                content, message):  # fmt: skip
    hub, pid = local
    src = tmp_path / "in.csv"
    src.write_bytes(content)
    code, out, err = run(capsys, hub, "import-labels", pid, str(src))
    assert code == 2 and message in err and "import finished" not in out
    assert [r for r in hub.requests if r.path == "/v2/import/labels"] == []


def test_csv_ids_stay_strings(local, tmp_path, capsys):
    hub, pid = local
    src = tmp_path / "p.csv"
    src.write_text(
        "external_id,schema_id,x,y,width,height,object_id\n"
        "00042,car-1,1,1,2,2,\n"
        "1000,car-1,1,1,2,2,7\n"
    )
    code, _out, err = run(capsys, hub, "import-labels", pid, str(src))
    assert code == 0, err
    assert hub.applications("00042") == 1 and hub.applications("1000") == 1
    frame = read_table(str(src))
    assert frame["external_id"].tolist() == ["00042", "1000"]
    assert frame["object_id"].tolist()[1] == "7"


def test_int_and_float_ids_in_one_column_are_one_asset(tmp_path):
    src = tmp_path / "p.parquet"
    pd.DataFrame(
        {"external_id": pd.Series([1000, 1000.0, None], dtype=object), "x": [1.0, 2.0, 3.0]}
    ).to_parquet(src)
    assert read_table(str(src))["external_id"].tolist() == ["1000", "1000", None]
    with pytest.raises(ConfigError, match="no such file"):
        read_table(str(tmp_path / "missing.csv"))


def test_unmatched_assets_exit_1_naming_them_and_verify_on_the_cli(local, tmp_path, capsys):
    hub, pid = local
    src = tmp_path / "p.csv"
    pd.DataFrame(
        {"external_id": ["0001.jpg", "img-0001.jpg"], "schema_id": "car-1",
         "x": 1.0, "y": 1.0, "width": 3.0, "height": 4.0}
    ).to_csv(src, index=False)  # fmt: skip
    code, out, err = run(capsys, hub, "import-labels", pid, str(src))
    assert code == 1 and "2 unconfirmed" in out and "import finished" not in out
    code, out, err = run(capsys, hub, "import-labels", pid, str(src), "--verify")
    assert code == 1 and "unmatched: 0001.jpg" in err and "1 sent, 1 unmatched" in out
    code, out, err = run(capsys, hub, "import-labels", pid, str(src), "--body", "import-file",
                         "--verify")  # fmt: skip
    assert code == 1 and "unmatched: 0001.jpg" in err


def test_help_and_dry_run_say_what_an_import_replaces(local, tmp_path, capsys):
    hub, pid = local
    sub = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert "REPLACES" in sub["import-labels"].format_help()
    assert "REPLACES" in sub["annotate"].format_help()
    src = tmp_path / "p.csv"
    pd.DataFrame(
        {"external_id": ["img-0001.jpg"], "schema_id": "car-1", "x": 1.0, "y": 1.0,
         "width": 3.0, "height": 4.0}
    ).to_csv(src, index=False)  # fmt: skip
    code, out, _ = run(capsys, hub, "import-labels", pid, str(src), "--dry-run")
    assert code == 0 and "REPLACES its asset's current answer" in out
