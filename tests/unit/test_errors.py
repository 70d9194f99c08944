"""Every error survives pickling (Dask and process pools carry them between processes)."""

from __future__ import annotations

import pickle

import pandas as pd
import pytest

from ango_frames import errors

CASES = [
    errors.ConfigError("bad"),
    errors.MissingColumnsError(["x"], "boxes", ["y"]),
    errors.ApiError(409, "conflict", "POST", "/v2/x"),
    errors.BadRequest(400, "bad", "GET", "/v2/export"),
    errors.RateLimited(429, "slow", "GET", "/v2/export", retry_after=2.0),
    errors.ServerError(503, "down", "GET", "/v2/export"),
    errors.TransportError("reset", never_sent=True),
    errors.RequestTimeout("read timeout"),
    errors.ExportDownloadError("truncated"),
    errors.ExportFormatError("bad JSON", "e.zip (member 'a.json')", "line 3, column 4"),
    errors.PayloadError(
        pd.DataFrame({"row": [1], "column": ["x"], "reason": ["not_finite"], "value": [None]})
    ),
    errors.ImportIncomplete(
        "1 of 2 requests failed", pd.DataFrame({"key": ["a"], "status": ["failed"]})
    ),
]


@pytest.mark.parametrize("error", CASES, ids=lambda e: type(e).__name__)
def test_errors_pickle_round_trip(error):
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error) and str(back) == str(error)
    for attr in ("status", "message", "retry_after", "source", "position", "missing", "never_sent"):
        if hasattr(error, attr):
            assert getattr(back, attr) == getattr(error, attr)
    for attr in ("failure_cases", "results"):
        if hasattr(error, attr):
            pd.testing.assert_frame_equal(getattr(back, attr), getattr(error, attr))
