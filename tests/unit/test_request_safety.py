"""Secrets and request safety at the transport seam (a fake adapter, no sockets), the export
request object, the rate limit, the error pickling base and the retry-wait switch."""

from __future__ import annotations

import dataclasses
import logging
import math
import pickle
import time
import traceback
from urllib.parse import quote, quote_plus

import pandas as pd
import pytest
import requests

from ango_frames import errors
from ango_frames.api.client import Client
from ango_frames.api.export_request import OPTION_NAMES, ExportRequest
from ango_frames.api.ratelimit import TokenBucket
from ango_frames.api.transport import RetryPolicy, Transport, set_retry_waits
from ango_frames.dask._send import TokenBucket as ClusterBucket
from ango_frames.export_file import ExportFile
from tests.unit.test_client_unit import KEY, OK, make_client


def _chain(exc: BaseException) -> str:
    """Every message, repr and attribute reachable through __cause__ / __context__."""
    out = []
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        out.append(repr(exc) + str(exc) + repr(vars(exc)))
        for name in ("request", "response"):
            obj = getattr(exc, name, None)
            if obj is not None:
                out.append(repr(getattr(obj, "headers", "")) + repr(getattr(obj, "url", "")))
        exc = exc.__cause__ or exc.__context__
    return "\n".join(out)


@pytest.mark.parametrize("where", [495, 498, 500, 503])
def test_key_is_scrubbed_before_the_body_is_cut(where):
    body = ("x" * where + KEY + "y" * 200).encode()
    client, _ = make_client([(400, body, {"Content-Type": "text/plain"})])
    with pytest.raises(errors.BadRequest) as info:
        client.get_project("p1")
    text = str(info.value)
    for part in (KEY[:8], KEY[-8:], KEY[4:12]):
        assert part not in text
    assert "***" in text or len(text) < where + 40


@pytest.mark.parametrize("form", [quote(KEY + "/+ ", safe=""), quote_plus(KEY + "/+ ")])
def test_url_encoded_key_is_scrubbed(form):
    key = KEY + "/+ "
    client = Client(api_key=key, base_url="https://hub.example.org/v2", rate_limit=None)
    from tests.unit.test_client_unit import ScriptedAdapter

    client.transport.session.mount(
        "https://", ScriptedAdapter([(401, {"message": f"bad key {form} in ?apikey={form}"}, None)])
    )
    with pytest.raises(errors.AuthError) as info:
        client.get_project("p1")
    assert form not in str(info.value) and "***" in str(info.value)


def test_key_is_not_reachable_through_the_cause_chain():
    err = requests.exceptions.ConnectionError(f"reset while sending apikey={KEY}")
    client, adapter = make_client([err], retry=RetryPolicy(max_attempts=1))
    with pytest.raises(errors.TransportError) as info:
        client.get_project("p1")
    assert adapter.requests[0].headers["apikey"] == KEY  # the key was sent ...
    cause = info.value.__cause__
    assert isinstance(cause, requests.exceptions.ConnectionError)  # still the type it was
    assert getattr(cause, "request", None) is None  # ... but no prepared request hangs on it
    text = _chain(info.value) + "".join(traceback.format_exception(info.value))
    assert KEY not in text and quote(KEY) not in text


def test_url_credentials_and_signatures_are_redacted_everywhere(caplog):
    secret_url = "https://alice:hunter2@proxy.example.org/v2"
    client = Client(api_key=KEY, base_url=secret_url, rate_limit=None)
    assert "hunter2" not in repr(client)
    signed = "https://bucket.example.org/e.zip?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA1"
    export = ExportFile(signed, "json", "p", {}, pd.Timestamp.now(tz="UTC"), 1)
    shown = repr(export) + str(export.provenance())
    assert "deadbeef" not in shown and "AKIA1" not in shown and "X-Amz-Signature=***" in shown
    err = requests.exceptions.ConnectionError(f"Max retries exceeded with url: {signed}")
    client, _ = make_client([err], retry=RetryPolicy(max_attempts=2))
    with (
        caplog.at_level(logging.DEBUG, logger="ango_frames"),
        pytest.raises(errors.AngoError) as info,
    ):
        client.transport.send("GET", signed, auth=False)
    text = _chain(info.value) + caplog.text
    assert "deadbeef" not in text and "AKIA1" not in text
    assert "bucket.example.org" in str(info.value)  # still says where
    with pytest.raises(errors.ConfigError) as info:
        Client(api_key=KEY, base_url="ftp://bob:pw@example.org/v2")
    assert "pw@" not in str(info.value)


@pytest.mark.parametrize("task_id", ["../import/labels", "t1?isPlugin=true", "t1#x", "a/b"])
def test_annotate_task_id_is_one_path_segment(task_id):
    client, adapter = make_client([OK])
    client.annotate_request(task_id, {"objects": []})
    url = requests.utils.urlparse(adapter.requests[0].url)
    assert url.path == "/v2/annotate/" + quote(task_id, safe="")
    assert url.query == "isPlugin=false" and not url.fragment


@pytest.mark.parametrize("task_id", ["", ".", "..", None])
def test_annotate_refuses_non_ids(task_id):
    client, adapter = make_client([OK])
    with pytest.raises(errors.ConfigError, match="task_id"):
        client.annotate_request(task_id, {"objects": []})
    assert adapter.requests == []


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0, -5, True, "100"])
def test_rate_limit_must_be_a_finite_positive_number(value):
    with pytest.raises(errors.ConfigError, match=r"rate_limit=None"):
        Client(api_key=KEY, rate_limit=value)
    with pytest.raises(errors.ConfigError, match="requests_per_minute"):
        ClusterBucket(value, 5)


def test_one_token_bucket_for_the_transport_and_the_cluster():
    assert isinstance(Transport(api_key=KEY, rate_limit=60).limiter, TokenBucket)
    bucket = ClusterBucket(60, 2)
    assert isinstance(bucket, TokenBucket)
    assert [bucket.reserve() == 0 for _ in range(2)] == [True, True]
    assert bucket.reserve() == pytest.approx(1.0, abs=0.05) and bucket.count() == 3


def test_export_request_is_frozen_validated_once_and_encoded_once():
    req = ExportRequest(stage="Complete", include_history=True, notify=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.format = "ndjson"  # type: ignore[misc]
    assert req.params("p1") == {
        "project": "p1", "format": "json", "type": "task", "stage": '["Complete"]',
        "sendEmail": "false", "doNotNotify": "false", "includeMetadata": "false",
        "includeHistory": "true", "includeOnlyKeyFrames": "false",
        "includeIdleBlurDurations": "false",
    }  # fmt: skip
    assert ExportRequest.of(req, format="ndjson").params("p1")["format"] == "ndjson"
    assert len(OPTION_NAMES) == 13
    with pytest.raises(errors.ConfigError, match="format"):
        ExportRequest(format="xml")
    with pytest.raises(errors.ConfigError, match="unknown export option"):
        ExportRequest.of(stages=["x"])


def test_client_export_takes_a_request_or_its_keywords():
    zipped = _zip()
    script = [
        (200, {"status": "success", "data": {"exportPath": "https://b.example.org/e.zip"}}, None),
        (200, zipped, {"Content-Length": str(len(zipped))}),
    ]
    client, _ = make_client(script * 2)
    with client.export("p1", ExportRequest(stage=["S"]), format="ndjson") as a:
        assert a.format == "ndjson" and a.params["stage"] == '["S"]'
    with client.export("p1", format="ndjson", stage=["S"]) as b:
        assert b.params == a.params


def _zip() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("p.json", "[]")
    return buf.getvalue()


ERRORS = [
    errors.ApiError(500, "boom", "GET", "/v2/x"),
    errors.RateLimited(429, "slow", "GET", "/v2/x", retry_after=2.5),
    errors.TransportError("reset", never_sent=True),
    errors.RequestTimeout("read timeout"),
    errors.MissingColumnsError(["a"], "building labels", ["b"]),
    errors.ExportFormatError("bad line", "f.ndjson", "line 3"),
    errors.ExportDownloadError("cut"),
    errors.ConfigError("no"),
    errors.ImportIncomplete("2 chunks", pd.DataFrame({"row": [1]})),
    errors.PayloadError(pd.DataFrame({"row": [1], "column": ["x"], "reason": ["r"], "value": [1]})),
]


@pytest.mark.parametrize("exc", ERRORS, ids=lambda e: type(e).__name__)
def test_every_error_pickles_through_the_one_base(exc):
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is type(exc) and str(back) == str(exc)
    for name, value in vars(exc).items():
        if name == "_made_with":
            continue
        other = getattr(back, name)
        assert other.equals(value) if hasattr(value, "equals") else other == value
    assert "__reduce__" not in type(exc).__dict__  # no subclass writes its own


def test_retry_waits_switch_skips_only_the_sleep():
    slow = RetryPolicy(max_attempts=3, backoff_base=2.0, jitter=False)
    client, adapter = make_client([(503, {"message": "busy"}, None), OK], retry=slow)
    started = time.monotonic()
    client.get_project("p1")  # the suite runs with waits off: 2 s of back-off not slept
    assert time.monotonic() - started < 1.0 and len(adapter.requests) == 2
    set_retry_waits(True)
    try:
        quick = RetryPolicy(max_attempts=3, backoff_base=0.3, jitter=False)
        client, adapter = make_client([(503, {"message": "busy"}, None), OK], retry=quick)
        started = time.monotonic()
        client.get_project("p1")
        assert time.monotonic() - started >= 0.3
    finally:
        set_retry_waits(None)
