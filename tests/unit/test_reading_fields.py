"""Fields iMerit's own export code reads, and what the official client returns, in read_export."""

from __future__ import annotations

import io
import json
import zipfile

import orjson
import pandas.testing as pdt
import pytest

from ango_frames.errors import ExportFormatError
from ango_frames.export.tables import ExportTables, read_export


def _task(**task) -> dict:
    return {"externalId": "scan.nrrd", "task": {"taskId": "t1", **task}}


def test_stage_history_review_status_is_a_column():
    history = [{"stage": "Label"}, {"stage": "Review", "reviewStatus": "Accepted"}]
    tables = read_export([_task(stageHistory=history)])
    assert tables.stage_history["review_status"].tolist()[1] == "Accepted"
    assert tables.stage_history["extra"].isna().all()


@pytest.mark.parametrize(
    ("ocr", "text", "confidence"),
    [("Total: 42", "Total: 42", None), ({"text": "INVOICE", "confidence": 0.97}, "INVOICE", 0.97)],
)
def test_ocr_text_on_tools_is_columns_of_objects(ocr, text, confidence):
    tool = {"objectId": "o1", "bounding-box": {"x": 1, "y": 2, "width": 3, "height": 4}}
    tables = read_export([_task(tools=[{**tool, "ocr": ocr}])])
    row = tables.objects.iloc[0]
    assert row["ocr_text"] == text
    assert (confidence is None and row.isna()["ocr_confidence"]) or (
        row["ocr_confidence"] == confidence
    )
    assert tables.objects["extra"].isna().all()


def test_metadata_description_is_a_column_of_every_annotation_table():
    meta = {"createdBy": "a@b.c", "description": "blurred plate"}
    tables = read_export(
        [
            _task(
                tools=[{"objectId": "o1", "point": [1, 2], "metadata": meta}],
                classifications=[{"objectId": "c1", "answer": "x", "metadata": meta}],
                relations=[{"objectId": "r1", "from": "o1", "to": "o1", "metadata": meta}],
            )
        ]
    )
    for frame in (tables.objects, tables.classifications, tables.relations):
        assert frame["description"].tolist() == ["blurred plate"]
        assert frame["extra"].isna().all()


def test_a_medical_3d_box_is_its_own_tool_with_z_columns():
    box = {"x1": 40, "y1": 10, "z1": 9, "x2": 10, "y2": 30, "z2": 3}
    tables = read_export([_task(tools=[{"objectId": "b1", "bounding-box": box}])])
    row = tables.objects.iloc[0]
    assert row["tool"] == "bounding-box-3d"  # not "pdf"
    got = [row[c] for c in ("x", "y", "z", "width", "height", "depth")]
    assert got == [10, 10, 3, 30, 20, 6]
    assert [row[c] for c in ("origin_x", "origin_y", "origin_z")] == [40, 10, 9]
    assert row.isna()["pdf_x1"] and row.isna()["extra"]


def test_a_flat_pdf_area_under_bounding_box_is_still_pdf():
    area = {"x1": 1, "y1": 2, "x2": 3, "y2": 4, "pageNumber": 1}
    tables = read_export([_task(tools=[{"objectId": "p", "bounding-box": area}])])
    assert tables.objects["tool"].tolist() == ["pdf"]


@pytest.mark.parametrize(
    "line", [[[1, 2, 3], [4, 5, 6]], [{"x": 1, "y": 2, "z": 3}, {"x": 4, "y": 5, "z": 6}]]
)
def test_a_3d_line_is_readable(line):
    tables = read_export([_task(tools=[{"objectId": "l1", "polyline": line}])])
    row = tables.objects.iloc[0]
    assert row["tool"] == "line-3d"
    assert [list(p) for p in row["points"]] == [[1, 2, 3], [4, 5, 6]]


def test_a_null_inside_a_list_answer_stays_null():
    cls = [{"objectId": "c1", "tool": "checkbox", "answer": ["a", None, 3]}]
    tables = read_export([_task(classifications=cls)])
    c = tables.classifications
    assert c["answer"].tolist()[0] == "a" and c["answer"].isna().tolist() == [False, True, False]
    assert c["answer_is_json"].tolist() == [False, False, True]


def test_the_new_columns_survive_parquet(tmp_path):
    record = _task(
        tools=[
            {
                "objectId": "b1",
                "bounding-box": {"x1": 1, "y1": 2, "z1": 3, "x2": 4, "y2": 5, "z2": 6},
                "ocr": "x",
                "metadata": {"description": "d"},
            }
        ],
        stageHistory=[{"stage": "Review", "reviewStatus": "Rejected"}],
    )
    tables = read_export([record])
    tables.to_parquet(tmp_path / "ds")
    back = ExportTables.from_parquet(tmp_path / "ds")
    for name in ("objects", "stage_history"):
        pdt.assert_frame_equal(back[name], tables[name], check_dtype=False)


# --- what the official client's exportV3 returns -------------------------------------------------

RECORDS = [
    {
        "externalId": f"{i}.jpg",
        "task": {"taskId": f"t{i}", "tools": [{"objectId": f"o{i}", "point": [i, i]}]},
    }
    for i in range(4)
]


def _frames(tables: ExportTables) -> dict:
    return {n: f for n, f in tables.items()}


def _same(a: ExportTables, b: ExportTables) -> None:
    for name, frame in a.items():
        pdt.assert_frame_equal(frame, b[name])


def test_what_the_sdk_returns_reads_as_our_own_export():
    ours = read_export(io.BytesIO(orjson.dumps(RECORDS)))
    as_json = read_export(json.loads(orjson.dumps(RECORDS)))  # exportV3 json: a list of dicts
    as_ndjson = read_export((iter(RECORDS), len(RECORDS)))  # exportV3 ndjson: (iterator, count)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:  # exportV3 with zip_file_path: the zip itself
        zf.writestr("export.ndjson", b"".join(orjson.dumps(r) + b"\n" for r in RECORDS))
    as_zip = read_export(io.BytesIO(buf.getvalue()))
    for other in (as_json, as_ndjson, as_zip):
        _same(ours, other)
    assert len(ours.tasks) == 4 and len(ours.objects) == 4
    assert as_ndjson.provenance["count"] == 4


def test_a_tuple_of_junk_is_refused():
    with pytest.raises(ExportFormatError, match="element 0 is int"):
        read_export((1, 2))
