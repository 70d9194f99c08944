"""Ids and asset keys in payloads: made-up ids never reach the hub, real ones survive; one
asset is one label however its rows name it."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ango_frames import read_export
from ango_frames.errors import PayloadError
from ango_frames.imports.labels import build_labels, labels_payload, validate_labels

RECORDS = [
    {"asset": "https://x.org/a.jpg", "externalId": "a.jpg", "assetId": "A1", "task": {
        "taskId": "T1",
        "tools": [
            {"objectId": "real-1", "schemaId": "s-car", "title": "car",
             "bounding-box": {"x": 1, "y": 2, "width": 3, "height": 4},
             "classifications": [{"objectId": "cls-1", "schemaId": "s-col", "title": "colour",
                                  "tool": "radio", "answer": "red"}]},
            {"schemaId": "s-car", "title": "car",
             "bounding-box": {"x": 5, "y": 6, "width": 3, "height": 4},
             "classifications": [{"schemaId": "s-col", "title": "colour", "tool": "radio",
                                  "answer": "blue"}]},
        ],
        "classifications": [{"objectId": "g-1", "schemaId": "s-w", "title": "w", "tool": "text",
                             "answer": "sun"}],
        "relations": [{"objectId": "rel-1", "schemaId": "s-r", "from": "real-1", "to": "real-1"}],
    }},
    {"asset": "https://x.org/b.jpg", "externalId": "b.jpg", "task": {
        "tools": [{"schemaId": "s-car", "bounding-box": {"x": 1, "y": 1, "width": 1, "height": 1}}],
    }},
]  # fmt: skip


@pytest.fixture
def tables(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(RECORDS))
    return read_export(str(path))


def test_made_up_ids_are_never_sent_as_object_ids(tables):
    made = set(tables.objects["object_id"]) - {"real-1"}
    assert made and all("/o" in m for m in made)  # the reader did make them up
    raw = json.dumps(build_labels(tables, "P").labels)
    for made_up in made | set(tables.classifications["classification_id"]) - {"cls-1", "g-1"}:
        assert made_up not in raw
    assert "#" not in raw  # the made-up task id of b.jpg is not in it either


def test_real_object_relation_and_answer_ids_survive_the_round_trip(tables):
    labels = build_labels(tables, "P").labels
    first = labels[0]["answer"]
    assert first["objects"][0]["objectId"] == "real-1"
    assert first["objects"][0]["classifications"] == [
        {"schemaId": "s-col", "answer": "red", "objectId": "cls-1"}
    ]
    # the object without an id keeps its nested answer, under its new id (and no made-up id)
    assert first["objects"][1]["classifications"] == [{"schemaId": "s-col", "answer": "blue"}]
    assert first["classifications"] == [{"schemaId": "s-w", "answer": "sun", "objectId": "g-1"}]
    assert first["relations"] == [
        {"schemaId": "s-r", "objectId": "rel-1", "from": "real-1", "to": "real-1"}
    ]


def test_generated_ids_are_stable_and_followed_by_relations(tables):
    made = tables.objects.loc[tables.objects["object_id"] != "real-1", "object_id"].iloc[0]
    relations = pd.DataFrame(
        {"task_id": ["T1"], "schema_id": ["s-r"], "kind": ["single"],
         "from_object_id": ["real-1"], "to_object_id": [made]}
    )  # fmt: skip
    one = build_labels(tables, "P", relations=relations)
    two = build_labels(tables, "P", relations=relations)
    assert one.labels == two.labels
    new_id = one.labels[0]["answer"]["objects"][1]["objectId"]
    assert new_id != made and "/" not in new_id and "#" not in new_id
    assert one.labels[0]["answer"]["relations"][0]["to"] == new_id
    assert made in set(tables.objects["object_id"])  # the user's tables are left as they were


def test_a_user_id_that_only_looks_made_up_is_kept():
    df = pd.DataFrame(
        {"external_id": ["a.jpg"], "task_id": ["T9"], "object_id": ["T1/o1"], "schema_id": ["s"],
         "x": [1.0], "y": [1.0], "width": [1.0], "height": [1.0]}
    )  # fmt: skip
    obj = labels_payload(df, "P")["labels"][0]["answer"]["objects"][0]
    assert obj["objectId"] == "T1/o1"


# -- one asset, one label ------------------------------------------------------------------


def _rows(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {"schema_id": ["s"] * n, "x": [1.0] * n, "y": [1.0] * n, "width": [2.0] * n,
            "height": [2.0] * n}  # fmt: skip
    return pd.DataFrame({**cols, **base})


def test_rows_naming_one_asset_both_ways_merge_when_the_mapping_is_known():
    df = _rows(
        asset_id=["A1", None, "A1", "A2"],
        external_id=["a.jpg", "a.jpg", None, None],
    )
    batch = build_labels(df, "P")
    assert batch.keys == [("assetId", "A1"), ("assetId", "A2")]
    assert [len(lb["answer"]["objects"]) for lb in batch.labels] == [3, 1]


def test_the_tasks_table_gives_the_mapping(tables):
    objects = _rows(asset_id=["A1"], external_id=[None])
    more = _rows(asset_id=[None], external_id=["a.jpg"])
    tables.objects = pd.concat([objects, more], ignore_index=True)
    tables.classifications = tables.classifications.iloc[0:0]
    tables.relations = tables.relations.iloc[0:0]
    batch = build_labels(tables, "P")
    assert batch.keys == [("assetId", "A1"), ("externalId", "b.jpg")]
    assert len(batch.labels[0]["answer"]["objects"]) == 2


def test_without_the_mapping_it_is_conflicting_asset_key():
    df = _rows(asset_id=["A1", None], external_id=[None, "a.jpg"])
    with pytest.raises(PayloadError) as info:
        labels_payload(df, "P")
    fc = info.value.failure_cases
    assert fc[["row", "column", "reason", "value"]].values.tolist() == [
        [1, "external_id", "conflicting_asset_key", "a.jpg"]
    ]
    skipped = build_labels(df, "P", on_error="skip")
    assert skipped.keys == [("assetId", "A1")] and list(skipped.rejected.index) == [1]


def test_one_asset_id_with_two_external_ids_is_conflicting():
    df = _rows(asset_id=["A1", "A1"], external_id=["a.jpg", "b.jpg"])
    assert set(validate_labels(df)["reason"]) == {"conflicting_asset_key"}


def test_external_ids_alone_or_asset_ids_alone_are_fine():
    assert validate_labels(_rows(external_id=["a", "b", "a"])).empty
    assert validate_labels(_rows(asset_id=["A", "B"])).empty
    # every asset_id's external id is known, and c.jpg is none of them: a different asset
    df = _rows(asset_id=["A1", None], external_id=["a.jpg", "c.jpg"])
    assert validate_labels(df).empty
    assert build_labels(df, "P").keys == [("assetId", "A1"), ("externalId", "c.jpg")]
