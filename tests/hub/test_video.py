"""Key frames made visible: a full export's frames marked from a key-frames-only export."""

from __future__ import annotations

import pytest

from ango_frames import MissingColumnsError, mark_key_frames, read_export
from tests.conftest import make_client


def test_key_frames_are_marked_and_interpolated_frames_are_not(shared_hub):
    client = make_client(shared_hub)
    full = read_export(client.export(shared_hub.project_id, format="ndjson"))
    keys = read_export(
        client.export(shared_hub.project_id, format="ndjson", include_only_key_frames=True)
    )
    marked = mark_key_frames(full.objects, keys.objects)
    video = marked[marked.page.notna()]
    assert video.key_frame.notna().all()
    n_key = len(keys.objects[keys.objects.page.notna()])
    assert int(video.key_frame.sum()) == n_key and 0 < n_key < len(video)
    still = marked[marked.page.isna()]
    assert still.key_frame.isna().all()  # single images: nothing to say
    assert full.objects.key_frame.isna().all()  # the input is not changed
    assert str(marked.key_frame.dtype) == str(full.objects.key_frame.dtype)


def test_missing_columns_are_named(shared_hub):
    client = make_client(shared_hub)
    full = read_export(client.export(shared_hub.project_id, format="ndjson"))
    with pytest.raises(MissingColumnsError, match="page"):
        mark_key_frames(full.objects, full.objects.drop(columns=["page"]))
