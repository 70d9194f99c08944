"""``annotate``'s task id is one path segment on the wire: it never reaches another endpoint."""

from __future__ import annotations

import pytest

from ango_frames import errors


@pytest.mark.parametrize(
    "task_id", ["../import/labels", "t1?isPlugin=true", "t1#x", "../../v2/export"]
)
def test_task_id_never_reaches_another_endpoint_or_task(hub, client, task_id):
    before = hub.counts()
    with pytest.raises(errors.NotFound) as info:
        client.annotate_request(task_id, {"objects": []})
    assert task_id in info.value.message  # the hub looked up exactly that task id
    (record,) = [r for r in hub.requests if r.method == "POST"]
    assert record.path == f"/v2/annotate/{task_id}" and record.query == {"isPlugin": "false"}
    assert hub.counts() == before and hub.applications(task_id) == 0


def test_a_real_task_id_still_works(hub, client):
    asset = next(iter(hub.project().assets.values()))
    reply = client.annotate_request(asset.task.id, {"objects": []})
    assert reply["data"]["label"]["_id"] == asset.task.id
