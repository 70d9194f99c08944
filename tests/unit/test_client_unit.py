"""Client and transport behaviour at the transport seam: a fake requests adapter, no sockets."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
import requests
from requests.adapters import BaseAdapter

from ango_frames import errors
from ango_frames.api.client import REGIONS, Client
from ango_frames.api.export_request import encode_export_params
from ango_frames.api.transport import RateLimiter, RetryPolicy

KEY = "sk-test-0123456789abcdef"


class ScriptedAdapter(BaseAdapter):
    """Answers requests from a script of (status, body, headers) or exceptions; records requests."""

    def __init__(self, script):
        super().__init__()
        self.script = list(script)
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):
        self.requests.append(request)
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, Exception):
            raise step
        status, body, headers = step
        resp = requests.Response()
        resp.status_code = status
        resp._content = json.dumps(body).encode() if not isinstance(body, bytes) else body
        resp.headers.update(headers or {})
        resp.url = request.url
        resp.request = request
        return resp

    def close(self):
        pass


def make_client(script, **kw):
    kw.setdefault("retry", RetryPolicy(backoff_base=0.0, jitter=False))
    kw.setdefault("rate_limit", None)
    client = Client(api_key=KEY, base_url="https://hub.example.org/v2", **kw)
    adapter = ScriptedAdapter(script)
    client.transport.session.mount("https://", adapter)
    return client, adapter


OK = (200, {"status": "success", "data": {"project": {"_id": "p1"}}}, None)


def test_no_api_key_is_a_config_error_before_any_request(monkeypatch):
    monkeypatch.delenv("ANGO_API_KEY", raising=False)
    with pytest.raises(errors.ConfigError, match="ANGO_API_KEY"):
        Client()


def test_api_key_from_environment(monkeypatch):
    monkeypatch.setenv("ANGO_API_KEY", KEY)
    client = Client(base_url="https://hub.example.org/v2")
    adapter = ScriptedAdapter([OK])
    client.transport.session.mount("https://", adapter)
    client.get_project("p1")
    assert adapter.requests[0].headers["apikey"] == KEY


def test_regions_map_to_the_spec_servers():
    with open(_spec_path()) as f:
        servers = [s["url"] for s in json.load(f)["servers"]]
    assert sorted(REGIONS.values()) == sorted(servers)
    assert Client(api_key=KEY).base_url == REGIONS["eu"]
    assert Client(api_key=KEY, region="us").base_url == REGIONS["us"]
    with pytest.raises(errors.ConfigError, match="region"):
        Client(api_key=KEY, region="mars")


def _spec_path():
    from importlib.resources import files

    return str(files("ango_frames") / "spec" / "openapi.json")


def test_key_never_in_repr_or_errors(caplog):
    client, _ = make_client([(401, {"status": "fail", "message": f"bad key {KEY}"}, None)])
    assert KEY not in repr(client)
    assert KEY not in repr(client.transport)
    caplog.set_level(logging.DEBUG, logger="ango_frames")
    with pytest.raises(errors.AuthError) as info:
        client.get_project("p1")
    assert KEY not in str(info.value) and "***" in str(info.value)
    assert KEY not in caplog.text


def test_plain_http_refused_except_loopback():
    with pytest.raises(errors.ConfigError, match="plain http"):
        Client(api_key=KEY, base_url="http://hub.example.org/v2")
    Client(api_key=KEY, base_url="http://127.0.0.1:9/v2")
    Client(api_key=KEY, base_url="http://localhost:9/v2")
    Client(api_key=KEY, base_url="http://hub.example.org/v2", allow_insecure_http=True)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequest),
        (401, errors.AuthError),
        (403, errors.AuthError),
        (404, errors.NotFound),
        (409, errors.ApiError),
    ],
)
def test_client_errors_are_typed_and_not_retried(status, cls):
    client, adapter = make_client([(status, {"status": "fail", "message": "nope"}, None), OK])
    with pytest.raises(cls) as info:
        client.get_project("p1")
    assert info.value.status == status
    assert info.value.message == "nope"
    assert info.value.method == "GET" and info.value.path == "/v2/project/p1"
    assert len(adapter.requests) == 1


def test_5xx_and_429_are_retried_then_succeed():
    client, adapter = make_client([(503, {}, None), (429, {}, {"Retry-After": "0"}), OK])
    assert client.get_project("p1") == {"_id": "p1"}
    assert len(adapter.requests) == 3


def test_retries_bounded_by_attempts():
    client, adapter = make_client(
        [(500, {"message": "boom"}, None)], retry=RetryPolicy(max_attempts=3, backoff_base=0)
    )
    with pytest.raises(errors.ServerError, match="boom"):
        client.get_project("p1")
    assert len(adapter.requests) == 3


def test_retries_bounded_by_total_time():
    # a Retry-After longer than the remaining budget is not waited for
    client, adapter = make_client(
        [(429, {"message": "slow down"}, {"Retry-After": "60"})],
        retry=RetryPolicy(max_attempts=10, max_total_seconds=5),
    )
    with pytest.raises(errors.RateLimited) as info:
        client.get_project("p1")
    assert info.value.retry_after == 60
    assert len(adapter.requests) == 1


def test_connection_errors_retried_and_translated():
    client, adapter = make_client(
        [requests.exceptions.ConnectionError("reset")],
        retry=RetryPolicy(max_attempts=2, backoff_base=0),
    )
    with pytest.raises(errors.TransportError) as info:
        client.get_project("p1")
    assert isinstance(info.value.__cause__, requests.exceptions.ConnectionError)
    assert len(adapter.requests) == 2


def test_read_timeout_of_unkeyed_post_is_not_repeated():
    client, adapter = make_client([requests.exceptions.ReadTimeout("slow"), OK])
    with pytest.raises(errors.RequestTimeout):
        client.post("import/labels", {"project": "p", "labels": []})
    assert len(adapter.requests) == 1
    client, adapter = make_client([requests.exceptions.ReadTimeout("slow"), OK])
    client.post("import/labels", {"project": "p", "labels": []}, idempotency_key="k1")
    assert len(adapter.requests) == 2
    assert adapter.requests[1].headers["Idempotency-Key"] == "k1"


def test_retry_sends_identical_bytes():
    client, adapter = make_client([(502, {}, None), OK])
    client.post("import/labels", {"project": "p", "labels": [{"externalId": "é", "answer": {}}]})
    assert adapter.requests[0].body == adapter.requests[1].body
    assert json.loads(adapter.requests[1].body)["labels"][0]["externalId"] == "é"


def test_non_json_answer_is_an_api_error():
    client, _ = make_client([(200, b"<html>", None)])
    with pytest.raises(errors.ApiError, match="not JSON"):
        client.get_project("p1")


def test_rate_limiter_spaces_requests_after_the_burst():
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    assert limiter.acquire() == 0 and limiter.acquire() == 0
    assert limiter.acquire() == pytest.approx(1.0)  # 60/min = one a second once the burst is used


def test_retry_backoff_grows_and_is_capped():
    policy = RetryPolicy(backoff_base=1, backoff_max=5, jitter=False)
    assert [policy.backoff(n, None) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 5, 5]
    assert policy.backoff(3, 7.5) == 7.5
    jittered = RetryPolicy(backoff_base=1, backoff_max=5)
    assert all(0 <= jittered.backoff(3, None) <= 4 for _ in range(50))


# -- export parameters ---------------------------------------------------------------------


def test_export_params_follow_the_spec_encoding():
    utc = dt.timezone.utc
    params = encode_export_params(
        "p1",
        format="ndjson",
        stage=["Complete", "Review"],
        batches="b1",
        include_history=True,
        notify=False,
        updated_at=(dt.datetime(2020, 8, 19, 7, 37, 15, tzinfo=utc), None),
        created_at={
            "$lt": dt.datetime(2020, 8, 26, 9, 37, 15, tzinfo=dt.timezone(dt.timedelta(hours=2)))
        },
        filters={"externalId": {"$regex": "^prefix_"}},
    )
    assert params["stage"] == '["Complete","Review"]'
    assert params["batches"] == '["b1"]'
    assert params["includeHistory"] == "true" and params["includeMetadata"] == "false"
    assert params["doNotNotify"] == "true" and params["sendEmail"] == "false"
    assert json.loads(params["updatedAt"]) == {"$gt": "2020-08-19T07:37:15.000000Z"}
    assert json.loads(params["createdAt"]) == {"$lt": "2020-08-26T07:37:15.000000Z"}
    assert json.loads(params["filters"]) == {"externalId": {"$regex": "^prefix_"}}
    assert all(isinstance(v, str) for v in params.values())


def test_export_params_refuse_what_cannot_work():
    with pytest.raises(errors.ConfigError, match="naive"):
        encode_export_params("p", updated_at=(dt.datetime(2020, 1, 1), None))
    with pytest.raises(errors.ConfigError, match="format"):
        encode_export_params("p", format="csv")
    with pytest.raises(errors.ConfigError, match="operator"):
        encode_export_params("p", created_at={"$foo": "x"})
    with pytest.raises(errors.ConfigError, match="project"):
        encode_export_params("")
