"""Building payloads: wrong values are refused (typed, named), never sent as something else."""

from __future__ import annotations

import datetime as dt

import numpy as np
import orjson
import pandas as pd
import pytest

from ango_frames.errors import ConfigError, PayloadError
from ango_frames.imports.attachments import attachments_payload, build_attachments
from ango_frames.imports.labels import build_labels, labels_payload, validate_labels
from ango_frames.imports.prebuilt import plain_labels, prebuilt_batch
from ango_frames.imports.problems import REASONS, Reason


def boxes(n: int = 1, **cols) -> pd.DataFrame:
    base = {
        "external_id": [f"a{i}.jpg" for i in range(n)],
        "schema_id": ["s-car"] * n,
        "x": [1.0] * n,
        "y": [2.0] * n,
        "width": [3.0] * n,
        "height": [4.0] * n,
    }
    base.update(cols)
    return pd.DataFrame(base)


def reasons(failures: pd.DataFrame) -> list[tuple[str, str]]:
    return list(zip(failures["column"], failures["reason"], strict=True))


# -- coordinates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        True,
        np.bool_(False),
        pd.Timestamp("2024-01-01"),
        dt.datetime(2024, 1, 1),
        pd.Timedelta("1s"),
        dt.timedelta(seconds=1),
        complex(1, 2),
        np.complex128(3),
    ],
    ids=lambda v: type(v).__name__,
)
def test_bool_date_duration_complex_coordinates_are_wrong_type(value):
    df = boxes(2, x=pd.Series([value, 5.0], dtype=object))
    fc = validate_labels(df)
    assert reasons(fc) == [("x", "wrong_type")]
    assert fc["row"].tolist() == [0]
    with pytest.raises(PayloadError):
        labels_payload(df, "p")


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([True, False]),
        pd.Series(pd.to_datetime(["2024-01-01", "2024-01-02"])),
        pd.Series(pd.to_timedelta(["1s", "2s"])),
        pd.Series([1 + 0j, 2 + 0j]),
        pd.Series([True, False], dtype="boolean"),
    ],
    ids=lambda s: str(s.dtype),
)
def test_whole_columns_of_such_types_are_wrong_type(column):
    fc = validate_labels(boxes(2, width=column))
    assert set(fc["reason"]) == {"wrong_type"}
    assert set(fc["column"]) == {"width"}


def test_numbers_in_object_columns_and_numeric_text_still_work():
    df = boxes(2, x=pd.Series([1, "2.5"], dtype=object), y=pd.Series([np.float32(2), 3]))
    got = labels_payload(df, "p")["labels"]
    assert [lb["answer"]["objects"][0]["bounding-box"]["x"] for lb in got] == [1.0, 2.5]


@pytest.mark.parametrize(
    "box_format, cols, column",
    [
        ("xyxy", {"x1": [-1e308], "y1": [0.0], "x2": [1e308], "y2": [5.0]}, "x1"),
        ("cxcywh", {"cx": [-1.7e308], "cy": [0.0], "width": [1.7e308], "height": [2.0]}, "cx"),
    ],
)
def test_overflow_in_box_conversion_is_not_finite_never_null(box_format, cols, column):
    df = pd.DataFrame({"external_id": ["a"], "schema_id": ["s"], **cols})
    fc = validate_labels(df, box_format=box_format)
    assert ("not_finite" in set(fc["reason"])) and column in set(fc["column"])
    with pytest.raises(PayloadError):
        labels_payload(df, "p", box_format=box_format)


def test_overflow_in_normalisation_is_not_finite():
    df = boxes(1, x=[0.5], width=[1e300], asset_width=[1e300], asset_height=[10.0])
    fc = validate_labels(df, normalized=True)
    assert reasons(fc) == [("x", "not_finite")]
    pts = pd.DataFrame(
        {"external_id": ["a"], "schema_id": ["s"], "tool": ["polygon"],
         "points": [[[0.1, 0.1], [1e300, 0.2], [0.3, 0.4]]],
         "asset_width": [1e300], "asset_height": [1e300]}
    )  # fmt: skip
    assert reasons(validate_labels(pts, normalized=True)) == [("points", "not_finite")]


def test_no_body_we_build_carries_a_null_coordinate():
    df = pd.DataFrame(
        {"external_id": ["a", "b", "c"], "schema_id": ["s"] * 3, "x1": [1.0, -1e308, 2.0],
         "y1": [1.0] * 3, "x2": [2.0, 1e308, 3.0], "y2": [2.0] * 3}
    )  # fmt: skip
    batch = build_labels(df, "p", box_format="xyxy", on_error="skip")
    assert b"null" not in orjson.dumps(batch.body)
    assert len(batch.labels) == 2 and list(batch.failures["reason"]) == ["not_finite"]


# -- boolean columns -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "column, field", [("lock", "lock"), ("interpolation_stopped", "interpolationStopped")]
)
def test_boolean_columns_read_text_as_people_write_it(column, field):
    values = ["false", "TRUE", "No", " yes ", "0", "1", True, np.bool_(False), 1, 0.0]
    want = [False, True, False, True, False, True, True, False, True, False]
    df = boxes(len(values), **{column: pd.Series(values, dtype=object)})
    got = labels_payload(df, "p")["labels"]
    assert [lb["answer"]["objects"][0][field] for lb in got] == want


@pytest.mark.parametrize("bad", ["nope", "f", 2, "", dt.date(2024, 1, 1)])
def test_boolean_columns_refuse_anything_else(bad):
    df = boxes(2, lock=pd.Series([True, bad], dtype=object))
    fc = validate_labels(df)
    if bad == "":
        assert fc.empty  # an empty cell is no value, as everywhere
        return
    assert reasons(fc) == [("lock", "wrong_type")] and fc["row"].tolist() == [1]


def test_classification_lock_false_is_not_sent_as_true():
    cls = pd.DataFrame(
        {"external_id": ["a0.jpg", "a0.jpg"], "schema_id": ["c1", "c2"], "answer": ["x", "y"],
         "lock": ["false", "maybe"]}
    )  # fmt: skip
    batch = build_labels(boxes(1), "p", classifications=cls, on_error="skip")
    assert batch.labels[0]["answer"]["classifications"] == [
        {"schemaId": "c1", "answer": "x", "lock": False}
    ]
    assert reasons(batch.failures) == [("classifications.lock", "wrong_type")]


# -- ready-made payloads -----------------------------------------------------------------


def _ready(x) -> dict:
    return {
        "project": "p",
        "labels": [
            {"externalId": "a.jpg", "answer": {"objects": [
                {"schemaId": "s", "bounding-box": {"x": x, "y": np.int64(2), "width": np.float32(3),
                                                   "height": 4.0}, "lock": np.bool_(True)},
            ]}}
        ],
    }  # fmt: skip


def test_ready_payloads_with_numpy_scalars_serialise_as_plain_json():
    batch = prebuilt_batch(_ready(np.float64(1.5)), "p")
    obj = batch.labels[0]["answer"]["objects"][0]
    assert orjson.loads(orjson.dumps(batch.body))["labels"][0]["answer"]["objects"][0] == {
        "schemaId": "s",
        "bounding-box": {"x": 1.5, "y": 2, "width": 3.0, "height": 4.0},
        "lock": True,
    }
    assert type(obj["bounding-box"]["y"]) is int and type(obj["lock"]) is bool


@pytest.mark.parametrize("missing", [np.nan, float("inf"), pd.NA, pd.NaT, np.float64("nan")])
def test_nan_or_na_in_ready_payloads_is_a_payload_error(missing):
    with pytest.raises(PayloadError) as info:
        prebuilt_batch(_ready(missing), "p")
    fc = info.value.failure_cases
    assert fc[["row", "column", "reason"]].values.tolist() == [
        [0, "answer.objects[0].bounding-box.x", "not_finite"]
    ]


def test_objects_of_no_json_type_in_ready_payloads_are_wrong_type():
    with pytest.raises(PayloadError) as info:
        plain_labels([{"externalId": "a", "answer": {"note": object()}}])
    assert info.value.failure_cases["reason"].tolist() == ["wrong_type"]


# -- frames with repeated column names ---------------------------------------------------


def test_a_repeated_column_name_is_a_config_error_naming_it():
    df = boxes(1)
    df = pd.concat([df, df[["x"]]], axis=1)
    with pytest.raises(ConfigError, match=r"repeated column name.*x"):
        labels_payload(df, "p")
    with pytest.raises(ConfigError, match="repeated"):
        validate_labels(boxes(1), classifications=pd.DataFrame([[1, 2]], columns=["a", "a"]))
    att = pd.DataFrame([["a.jpg", "https://x.org/1", "https://x.org/2"]],
                       columns=["external_id", "url", "url"])  # fmt: skip
    with pytest.raises(ConfigError, match="url"):
        attachments_payload(att, "p")


# -- attachment URLs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "file:///etc/passwd", "images/1.jpg", "ftp://x.org/a", "https://",
     "data:text/html,hi", "https://x.org/a\n"],
)  # fmt: skip
def test_attachment_urls_that_are_no_web_or_bucket_url_are_invalid(url):
    df = pd.DataFrame({"external_id": ["a", "b"], "attachment_url": ["https://ok.org/1.png", url]})
    body, _, fc = build_attachments(df, "p", on_error="skip")
    assert reasons(fc) == [("attachment_url", "invalid_url")] and fc["row"].tolist() == [1]
    assert [a["attachmentUrl"] for a in body["attachments"]] == ["https://ok.org/1.png"]


def test_good_urls_and_text_attachments_pass():
    df = pd.DataFrame(
        {"external_id": ["a", "b", "c", "d"],
         "attachment_url": ["https://x.org/a.png", "s3://bucket/k.png", "gs://b/k", "Some text."],
         "attachment_type": ["IMAGE", "IMAGE", "VIDEO", "TEXT"]}
    )  # fmt: skip
    assert len(attachments_payload(df, "p")["attachments"]) == 4


# -- reason codes --------------------------------------------------------------------------


def test_reason_codes_are_a_str_enum_and_tables_hold_plain_strings():
    assert Reason.NOT_FINITE == "not_finite" and str(Reason.WRONG_TYPE) == "wrong_type"
    assert set(REASONS) == {r.value for r in Reason}
    fc = validate_labels(boxes(1, x=[np.nan]))
    assert type(fc["reason"].iloc[0]) is str
