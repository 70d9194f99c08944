"""Validation: every problem of every row in one PayloadError, with reason codes; skip mode."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ango_frames.errors import PayloadError
from ango_frames.imports.attachments import attachments_payload
from ango_frames.imports.labels import build_labels, labels_payload
from ango_frames.imports.problems import REASONS, validate_labels

ONTO = {
    "tools": [
        {
            "tool": "bounding-box",
            "title": "car",
            "schemaId": "t-car",
            "classifications": [
                {
                    "tool": "radio",
                    "title": "occ",
                    "schemaId": "c-occ",
                    "options": [
                        {"value": "yes", "schemaId": "1"},
                        {"value": "no", "schemaId": "2"},
                    ],
                },
                {
                    "tool": "checkbox",
                    "title": "parts",
                    "schemaId": "c-parts",
                    "options": [{"value": "door", "schemaId": "3"}],
                },
            ],
        },
        {"tool": "bounding-box", "title": "dup", "schemaId": "t-d1"},
        {"tool": "bounding-box", "title": "dup", "schemaId": "t-d2"},
        {"tool": "polygon", "title": "road", "schemaId": "t-road"},
    ],
    "classifications": [],
    "relations": [{"tool": "one-to-one", "title": "drives", "schemaId": "r1"}],
}


def frame(n: int = 1, **cols) -> pd.DataFrame:
    base = {
        "external_id": ["a.jpg"] * n,
        "schema_id": ["t-car"] * n,
        "x": [1.0] * n,
        "y": [1.0] * n,
        "width": [2.0] * n,
        "height": [2.0] * n,
    }
    base.update(cols)
    return pd.DataFrame(base, index=[f"r{i}" for i in range(n)])


def reasons(df: pd.DataFrame, **kw) -> list[tuple]:
    with pytest.raises(PayloadError) as err:
        labels_payload(df, "p", **kw)
    fc = err.value.failure_cases
    assert list(fc.columns) == ["row", "column", "reason", "value"]
    assert set(fc["reason"]) <= set(REASONS)
    assert "nothing was sent" in str(err.value)
    return [tuple(r) for r in fc[["row", "column", "reason"]].itertuples(index=False)]


def test_every_problem_of_every_row_is_reported_at_once():
    df = frame(
        4,
        external_id=["a", None, "a", "a"],
        x=[1.0, 1.0, np.nan, 1.0],
        width=[2.0, 2.0, 2.0, -3.0],
        schema_id=["t-car", "t-car", "t-car", "nope"],
    )
    got = reasons(df, ontology=ONTO)
    assert got == [
        ("r1", "external_id", "missing_asset_key"),
        ("r2", "x", "not_finite"),
        ("r3", "schema_id", "unknown_class"),
    ] or got == [
        ("r1", "external_id", "missing_asset_key"),
        ("r2", "x", "not_finite"),
        ("r3", "schema_id", "unknown_class"),
        ("r3", "width", "non_positive_size"),
    ]


@pytest.mark.parametrize(
    ("df", "kw", "expected"),
    [
        (frame(x=[np.inf]), {}, ("r0", "x", "not_finite")),
        (frame(x=["ten"]), {}, ("r0", "x", "wrong_type")),
        (frame(height=[0.0]), {}, ("r0", "height", "non_positive_size")),
        (frame(asset_width=[2.0], asset_height=[10.0]), {}, ("r0", "x", "out_of_bounds")),
        (
            frame().drop(columns="schema_id").assign(title="dup"),
            {"ontology": ONTO},
            ("r0", "title", "ambiguous_title"),
        ),
        (
            frame().drop(columns="schema_id").assign(title="bike"),
            {"ontology": ONTO},
            ("r0", "title", "unknown_class"),
        ),
        (frame(tool=["polygon"]), {"ontology": ONTO}, ("r0", "tool", "tool_mismatch")),
        (frame(schema_id=["t-road"]), {"ontology": ONTO}, ("r0", "points", "missing_column")),
        (frame().drop(columns="height"), {}, ("r0", "height", "missing_column")),
        (frame(2, object_id=["o", "o"]), {}, ("r0", "object_id", "duplicate_object_id")),
        (
            frame(occ=["maybe"]),
            {"ontology": ONTO, "nested": {"occ": "occ"}},
            ("r0", "occ", "unknown_option"),
        ),
        (
            frame(occ=[["yes", "no"]]),
            {"ontology": ONTO, "nested": {"occ": "occ"}},
            ("r0", "occ", "wrong_answer_type"),
        ),
        (
            frame(p=[[1]]),
            {"ontology": ONTO, "nested": {"parts": "p"}},
            ("r0", "p", "wrong_answer_type"),
        ),
        (
            frame(normalized_missing=[1]),
            {"normalized": True},
            ("r0", "asset_width", "missing_column"),
        ),
        (frame(page=[-1]), {}, ("r0", "page", "wrong_type")),
    ],
)
def test_reason_codes(df, kw, expected):
    assert expected in reasons(df, **kw)


@pytest.mark.parametrize(
    ("points", "reason"),
    [
        ([[0, 0], [1, 1]], "wrong_arity"),
        ([0, 0, 1, 1, 2], "wrong_arity"),
        ("0,0", "wrong_type"),
        ([[0, 0], [1, np.nan], [2, 2]], "not_finite"),
    ],
)
def test_polygon_points_are_checked(points, reason):
    df = pd.DataFrame({"external_id": ["a"], "schema_id": ["t-road"], "points": [points]})
    assert reasons(df, ontology=ONTO) == [(0, "points", reason)]


def test_relations_and_answers_frames_are_checked_with_table_prefix():
    df = frame(2, object_id=["o1", "o2"])
    rel = pd.DataFrame(
        {
            "external_id": ["a.jpg"],
            "schema_id": ["r1"],
            "from_object_id": ["o1"],
            "to_object_id": ["o9"],
        }
    )
    cls = pd.DataFrame({"external_id": ["a.jpg"], "schema_id": ["nope"], "answer": ["x"]})
    got = reasons(df, ontology=ONTO, relations=rel, classifications=cls)
    assert (0, "relations.to_object_id", "dangling_relation") in got
    assert (0, "classifications.schema_id", "unknown_class") in got


def test_skip_builds_the_valid_rows_and_returns_the_rejected():
    df = frame(3, external_id=["a", "b", "b"], width=[2.0, np.nan, 2.0])
    batch = build_labels(df, "p", on_error="skip")
    assert list(batch.rejected.index) == ["r1"]
    assert list(batch.failures["reason"]) == ["not_finite"]
    assert [len(lb["answer"]["objects"]) for lb in batch.labels] == [1, 1]
    # labels_payload returns only the body
    assert labels_payload(df, "p", on_error="skip") == batch.body


def test_skip_sends_no_label_for_an_asset_whose_rows_were_all_rejected():
    df = frame(2, external_id=["a", "b"], width=[2.0, np.nan])
    batch = build_labels(df, "p", on_error="skip")
    assert [lb["externalId"] for lb in batch.labels] == ["a"]


def test_validate_labels_returns_the_failure_cases():
    assert validate_labels(frame()).empty
    fc = validate_labels(frame(height=[np.nan]))
    assert list(fc["reason"]) == ["not_finite"]


def test_attachments_are_validated():
    df = pd.DataFrame(
        {
            "external_id": ["a", None, "c"],
            "attachment_url": ["https://x/1.pdf", "https://x/2.pdf", " "],
        }
    )
    with pytest.raises(PayloadError) as err:
        attachments_payload(df, "p")
    assert list(err.value.failure_cases["reason"]) == ["missing_asset_key", "not_finite"]
    ok = attachments_payload(df.iloc[:1].assign(attachment_type="pdf"), "p")
    assert ok == {
        "project": "p",
        "attachments": [
            {"externalId": "a", "attachmentUrl": "https://x/1.pdf", "attachmentType": "pdf"}
        ],
    }


def test_validation_is_vectorised_on_large_frames():
    import time

    n = 200_000
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "external_id": [f"img{i // 8}" for i in range(n)],
            "schema_id": "t-car",
            "x": rng.uniform(0, 100, n),
            "y": rng.uniform(0, 100, n),
            "width": rng.uniform(1, 10, n),
            "height": rng.uniform(1, 10, n),
        }
    )
    df.loc[[5, 70_000], "width"] = np.nan
    start = time.perf_counter()
    fc = validate_labels(df, ONTO)
    assert time.perf_counter() - start < 10
    assert list(fc["row"]) == [5, 70_000]
