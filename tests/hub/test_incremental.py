"""Incremental export: a saved watermark brings only what changed since the last run."""

from __future__ import annotations

import json

import pytest

from ango_frames import ConfigError, export_since_last, read_export
from ango_frames.api.incremental import read_watermark


def test_second_run_brings_only_the_changed_tasks(hub, client, tmp_path):
    state = str(tmp_path / "watermark.json")
    assert read_watermark(state, hub.project_id) is None
    first = read_export(export_since_last(client, hub.project_id, state, format="ndjson"))
    assert len(first.tasks) == hub.counts()["tasks"]
    saved = json.loads((tmp_path / "watermark.json").read_text())
    assert hub.project_id in saved and "watermark" in saved[hub.project_id]
    assert hub.api_key not in (tmp_path / "watermark.json").read_text()

    target = first.tasks.external_id.iloc[5]
    client.import_labels_request(
        hub.project_id, [{"externalId": target, "answer": {"objects": [], "classifications": []}}]
    )
    second = read_export(export_since_last(client, hub.project_id, state, format="ndjson"))
    assert target in set(second.tasks.external_id)
    assert len(second.tasks) < len(first.tasks)


def test_updated_at_is_owned_by_the_watermark(hub, client, tmp_path):
    with pytest.raises(ConfigError, match="updated_at"):
        export_since_last(client, hub.project_id, str(tmp_path / "s.json"), updated_at=None)
