"""Exports downloaded from the local hub become the same tidy tables in every format."""

from __future__ import annotations

import pandas as pd
import pytest

from ango_frames import ExportTables, export_to_parquet, read_export
from tests.conftest import make_client

CORE = ("tasks", "objects", "classifications", "relations")


def _sorted(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


KEYS = {
    "tasks": ["task_id"],
    "objects": ["task_id", "object_id", "page"],
    "classifications": ["task_id", "classification_id", "answer_index"],
    "relations": ["task_id", "relation_id"],
    "stage_history": ["task_id", "history_order"],
    "history_objects": ["task_id", "history_order", "object_id", "page"],
}


@pytest.fixture(scope="module")
def exports(shared_hub, tmp_path_factory):
    client = make_client(shared_hub)
    out = tmp_path_factory.mktemp("exports")
    result = {}
    for fmt in ("json", "ndjson", "split"):
        for rich in (False, True):
            result[fmt, rich] = client.export(
                shared_hub.project_id,
                format=fmt,
                include_history=rich,
                include_metadata=rich,
                dest=str(out / f"{fmt}-{rich}.zip"),
            )
    return result


def test_counts_match_the_hubs_own_state(shared_hub, exports):
    tables = read_export(exports["ndjson", False])
    counts = shared_hub.counts()
    assert len(tables.tasks) == counts["tasks"]
    assert len(tables.objects) == counts["objects"]
    assert len(tables.classifications) == counts["answers"]
    assert len(tables.relations) == counts["relations"]
    assert tables.tasks.task_id.is_unique


@pytest.mark.parametrize("rich", [False, True])
def test_all_three_formats_give_identical_tables(exports, rich):
    base = read_export(exports["json", rich])
    for fmt in ("ndjson", "split"):
        other = read_export(exports[fmt, rich])
        for name in base.names():
            keys = KEYS.get(name)
            a, b = base[name], other[name]
            if keys and len(a):
                a, b = _sorted(a, keys), _sorted(b, keys)
            pd.testing.assert_frame_equal(a, b, obj=f"{fmt} {name}")


def test_history_and_metadata_only_add(exports):
    plain, rich = read_export(exports["json", False]), read_export(exports["json", True])
    assert len(plain.stage_history) == 0 and len(rich.stage_history) > 0
    assert plain.objects.created_at.isna().all()
    assert rich.objects.loc[rich.objects.tool != "segmentation", "created_at"].notna().all()
    cols = [c for c in plain.objects.columns if not c.startswith(("created_", "updated_"))]
    pd.testing.assert_frame_equal(
        _sorted(plain.objects[cols], KEYS["objects"]), _sorted(rich.objects[cols], KEYS["objects"])
    )


def test_reviewers_changes_are_visible_between_label_and_review(exports):
    tables = read_export(exports["ndjson", True])
    hist = tables.stage_history
    label = hist[hist.stage == "Label"][["task_id", "history_order"]]
    review = hist[hist.stage == "Review"][["task_id", "history_order"]]
    objs = tables.history_objects
    lab = objs.merge(label, on=["task_id", "history_order"])
    rev = objs.merge(review, on=["task_id", "history_order"])
    both = lab.merge(rev, on=["task_id", "object_id"], how="outer", suffixes=("_l", "_r"))
    changed = both[(both.x_l != both.x_r) | both.x_l.isna() | both.x_r.isna()]
    assert len(changed) > 0  # moved or deleted boxes


def test_parquet_of_a_hub_export_reads_back_equal(exports, tmp_path):
    src = exports["split", True]
    export_to_parquet(src, str(tmp_path / "pq"))
    back = ExportTables.from_parquet(str(tmp_path / "pq"))
    direct = read_export(src)
    for name in direct.names():
        pd.testing.assert_frame_equal(back[name], direct[name], obj=name)


def test_only_key_frames_reads_the_same_way(shared_hub):
    client = make_client(shared_hub)
    full = read_export(client.export(shared_hub.project_id, format="ndjson"))
    keys = read_export(
        client.export(shared_hub.project_id, format="ndjson", include_only_key_frames=True)
    )
    video = full.objects[full.objects.page.notna()]
    key_video = keys.objects[keys.objects.page.notna()]
    assert 0 < len(key_video) < len(video)
    # every key frame is one of the full export's frames, same geometry
    merged = key_video.merge(video, on=["task_id", "object_id", "page"], suffixes=("", "_full"))
    assert len(merged) == len(key_video)
    assert (merged.x == merged.x_full).all()
