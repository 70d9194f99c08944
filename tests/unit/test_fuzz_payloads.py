"""Fuzzing the payload builders: random frames give a valid body or an account of every row.

Frames with NaN, infinities, text in number columns, mixed dtypes, missing columns and empty
frames go through ``labels.build_labels`` / ``labels_payload`` / ``validate.validate_labels``.
Either a body comes out, or a ``PayloadError`` / ``ConfigError``; and always rows in = rows sent
+ rows rejected, every rejected row named in ``failure_cases``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ango_frames.errors import ConfigError, PayloadError
from ango_frames.imports.labels import build_labels, labels_payload
from ango_frames.imports.problems import REASONS, validate_labels
from ango_frames.testing import spec

FUZZ = settings(max_examples=80, deadline=None)
ONTOLOGY = {
    "tools": [
        {"tool": "bounding-box", "title": "car", "schemaId": "car-1"},
        {"tool": "point", "title": "pin", "schemaId": "pin-1"},
        {"tool": "polygon", "title": "car", "schemaId": "poly-1"},  # a shared title
    ]
}
NUMBER = (
    st.floats(allow_nan=True, allow_infinity=True, width=64)
    | st.integers(min_value=-(10**6), max_value=10**6)
    | st.sampled_from([0.0, 1.0, 10.0, 500.0, -1.0])
)
ANY = (
    NUMBER
    | st.none()
    | st.booleans()
    | st.text(max_size=6)
    | st.sampled_from(["__import__('os').system('true')", "nan", "1e3"])
    | st.lists(st.floats(allow_nan=True), max_size=4)
)
KEY = st.sampled_from(["a.jpg", "b.jpg", "c.jpg"]) | st.text(max_size=4) | st.none() | NUMBER
CLASS = st.sampled_from(["car-1", "pin-1", "poly-1", "nope"]) | ANY
COLUMNS = {
    "external_id": KEY,
    "asset_id": KEY,
    "schema_id": CLASS,
    "title": st.sampled_from(["car", "pin", "bus"]) | ANY,
    "x": NUMBER | ANY,
    "y": NUMBER | ANY,
    "width": NUMBER | ANY,
    "height": NUMBER | ANY,
    "points": st.lists(st.lists(NUMBER, min_size=2, max_size=2), max_size=4) | ANY,
    "score": NUMBER | ANY,
    "object_id": st.text(max_size=3) | st.none(),
    "page": st.integers(min_value=-2, max_value=3) | st.sampled_from([math.inf, 1e30, 2**31]) | ANY,
}
LIKELY = ["external_id", "schema_id", "x", "y", "width", "height"]


@st.composite
def frames(draw: Any) -> pd.DataFrame:
    """A frame of 0-8 rows: usual columns mostly present, each value possibly wrong."""
    n = draw(st.integers(min_value=0, max_value=8))
    names = [c for c in LIKELY if draw(st.integers(0, 9)) > 0]  # each present 90% of the time
    names += draw(st.lists(st.sampled_from(sorted(set(COLUMNS) - set(LIKELY))), unique=True))
    data = {}
    for name in names:
        good = draw(st.booleans())
        if good and name in ("x", "y", "width", "height"):
            values = draw(st.lists(st.floats(1, 400), min_size=n, max_size=n))
        else:
            values = draw(st.lists(COLUMNS[name], min_size=n, max_size=n))
        data[name] = pd.Series(values, dtype=object if not good else None)
    frame = pd.DataFrame(data, index=_index(draw, n))
    if draw(st.booleans()):  # numeric columns as real float dtypes where they can be
        frame = frame.infer_objects()
    return frame


def _index(draw: Any, n: int) -> pd.Index:
    kind = draw(st.sampled_from(["range", "ints", "strings"]))
    if kind == "range":
        return pd.RangeIndex(n)
    if kind == "ints":
        return pd.Index(draw(st.lists(st.integers(-50, 50), min_size=n, max_size=n, unique=True)))
    return pd.Index(draw(st.lists(st.text(max_size=3), min_size=n, max_size=n, unique=True)))


def _with_ontology(draw_flag: bool) -> dict | None:
    return ONTOLOGY if draw_flag else None


def _finite_json(value: Any) -> bool:
    """Whether a body is plain JSON (no NaN / infinity, no numpy or pandas objects)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _finite_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_finite_json(v) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, (str, int, bool))


@FUZZ
@given(frame=frames(), ontology=st.booleans())
def test_skip_mode_accounts_for_every_row(frame, ontology):
    try:
        batch = build_labels(frame, "p", _with_ontology(ontology), on_error="skip")
    except ConfigError:
        return  # arguments that cannot work (titles without an ontology, ...): nothing built
    sent = [label for rows in batch.row_index for label in rows.tolist()]
    rejected = batch.rejected.index.tolist()
    assert len(sent) == len(set(sent))  # no row sent twice
    assert sorted(map(repr, sent + rejected)) == sorted(map(repr, frame.index))
    failed = set(map(repr, batch.failures["row"])) if len(batch.failures) else set()
    assert failed == set(map(repr, rejected))  # every rejected row says why; no other row does
    objects = [o for label in batch.labels for o in label["answer"]["objects"]]
    assert len(objects) == len(sent)
    pages = [o["page"] for o in objects if "page" in o]
    assert all(type(p) is int and 0 <= p < 2**31 for p in pages), pages
    assert _finite_json(batch.body)
    assert not spec.validate(batch.body, "ImportLabelsRequest")


@FUZZ
@given(frame=frames(), ontology=st.booleans())
def test_raise_mode_gives_a_valid_body_or_names_every_bad_row(frame, ontology):
    onto = _with_ontology(ontology)
    try:
        skipped = build_labels(frame, "p", onto, on_error="skip")
    except ConfigError:
        skipped = None
    try:
        body = labels_payload(frame, "p", onto)
    except PayloadError as exc:
        cases = exc.failure_cases
        assert list(cases.columns) == ["row", "column", "reason", "value"] and len(cases)
        assert set(map(repr, cases["row"])) <= set(map(repr, frame.index))
        assert skipped is not None
        assert set(map(repr, cases["row"])) == set(map(repr, skipped.rejected.index))
        assert "nothing was sent" in str(exc)
        return
    except ConfigError:
        assert skipped is None  # the same arguments fail the same way in both modes
        return
    assert skipped is not None and len(skipped.rejected) == 0
    objects = sum(len(label["answer"]["objects"]) for label in body["labels"])
    assert objects == len(frame)  # rows in = rows sent
    assert _finite_json(body) and not spec.validate(body, "ImportLabelsRequest")


@FUZZ
@given(frame=frames(), ontology=st.booleans())
def test_validate_labels_is_empty_exactly_when_labels_payload_succeeds(frame, ontology):
    # independent of how validate_labels is built: its verdict must match what the payload
    # builder does in its default (raise) mode, and its rows and reasons must be real ones
    onto = _with_ontology(ontology)
    try:
        report = validate_labels(frame, onto)
    except ConfigError:
        with pytest.raises(ConfigError):
            labels_payload(frame, "p", onto)
        return
    assert list(report.columns)[:4] == ["row", "column", "reason", "value"]
    assert set(report["reason"]) <= set(REASONS)
    assert report["row"].isin(frame.index).all()
    if report.empty:
        body = labels_payload(frame, "p", onto)
        assert not spec.validate(body, "ImportLabelsRequest")
    else:
        with pytest.raises(PayloadError) as info:
            labels_payload(frame, "p", onto)
        got = info.value.failure_cases.reset_index(drop=True)
        pd.testing.assert_frame_equal(got, report.reset_index(drop=True))


@FUZZ
@given(text=st.sampled_from(["__import__('os').system('exit 1')", "eval('1+1')", "{{7*7}}"]))
def test_code_like_strings_stay_strings(text):
    frame = pd.DataFrame(
        {"external_id": [text], "schema_id": [text], "x": [1.0], "y": [1.0],
         "width": [2.0], "height": [2.0], "object_id": [text]}
    )  # fmt: skip
    body = labels_payload(frame, text)
    label = body["labels"][0]
    assert body["project"] == text and label["externalId"] == text
    assert label["answer"]["objects"][0]["schemaId"] == text
    assert label["answer"]["objects"][0]["objectId"] == text


@pytest.mark.parametrize("page", [math.inf, -math.inf, 1e30, 2.0**31, 2.5, -1, "two"])
def test_a_page_that_is_no_page_number_is_reported_not_mangled(page):
    # inf and 1e30 used to go out as page -9223372036854775808
    frame = pd.DataFrame(
        {"external_id": ["a"], "schema_id": ["car-1"], "x": [1.0], "y": [1.0],
         "width": [2.0], "height": [2.0], "page": pd.Series([page], dtype=object)}
    )  # fmt: skip
    with pytest.raises(PayloadError) as info:
        labels_payload(frame, "p")
    cases = info.value.failure_cases
    assert cases[["row", "column", "reason"]].values.tolist() == [[0, "page", "wrong_type"]]


def test_empty_frames_give_an_empty_body():
    for frame in (pd.DataFrame(), pd.DataFrame(columns=LIKELY), pd.DataFrame({"x": np.array([])})):
        try:
            body = labels_payload(frame, "p")
        except (ConfigError, PayloadError):
            continue
        assert body == {"project": "p", "labels": []}
