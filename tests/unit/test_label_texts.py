"""The label texts the importers send are ``orjson.dumps`` of the label dicts, byte for byte.

:meth:`LabelBatch.texts` writes each label's JSON without making its dicts; these tests compare
it with ``orjson.dumps`` of :meth:`LabelBatch.items` (the dict path, the reference) on every
streamed-import case, on every shape the writer has a branch for, and on fuzzed frames.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ango_frames.errors import ConfigError, PayloadError
from ango_frames.imports.import_file import build_import_file
from ango_frames.imports.label_stream import BLOCK
from ango_frames.imports.labels import build_labels
from tests.unit.stream_cases import ONTOLOGY, boxes, cases
from tests.unit.test_fuzz_payloads import ONTOLOGY as FUZZ_ONTOLOGY
from tests.unit.test_fuzz_payloads import frames

BUILDERS = {"labels": build_labels, "import-file": build_import_file}


def _same(batch: Any, *parts: bytes) -> int:
    texts = list(batch.texts())
    dumped = [orjson.dumps(item) for item in batch.items()]
    assert texts == dumped
    for part in parts:  # the branches meant are taken
        assert any(part in text for text in texts), part
    return len(texts)


def _options(kw: dict[str, Any]) -> dict[str, Any]:
    drop = ("chunk_rows", "chunk_bytes", "journal", "progress", "verify", "body")
    return {k: v for k, v in kw.items() if k not in drop}


@pytest.mark.parametrize("body", sorted(BUILDERS))
@pytest.mark.parametrize("name", sorted(cases()))
def test_every_stream_case_writes_the_dumps_of_its_labels(name, body):
    kw = dict(cases()[name])
    data = kw.pop("data")
    try:
        batch = BUILDERS[body](data, "proj-1", ONTOLOGY, **_options(kw))
    except ConfigError:
        assert body == "import-file"  # status / assignee have no place in an import file
        return
    assert _same(batch) == len(batch) > 0


def _shapes(n: int = 2 * BLOCK + 50) -> pd.DataFrame:
    """Boxes, rotated boxes, polygons, points, pages, flags, given ids that need escaping."""
    df = boxes(n, per_asset=5, seed=3)
    kinds = np.array(["bounding-box", "rotated-bounding-box", "polygon", "point"])[np.arange(n) % 4]
    df["tool"] = kinds
    df["rotation"] = np.where(kinds == "rotated-bounding-box", 12.5, np.nan)
    df["points"] = [[[1.0, 2.0], [3.0, 1e-7], [5e16, 9.0]] if k == "polygon" else None
                    for k in kinds]  # fmt: skip
    df.loc[kinds == "point", ["width", "height"]] = np.nan
    df["page"] = np.where(np.arange(n) % 3 == 0, np.nan, np.arange(n) % 7)
    df["lock"] = np.where(np.arange(n) % 5 == 0, None, np.arange(n) % 2 == 0)
    df["interpolation_stopped"] = np.where(np.arange(n) % 4 == 0, "yes", "")
    df["object_id"] = [f'o"{i}\\é\n' if i % 9 else None for i in range(n)]
    df["external_id"] = [f'im"g\\{i // 5}—ü.jpg' for i in range(n)]
    df["x"] = df["x"] * np.where(np.arange(n) % 11 == 0, 1e-9, 1.0)
    return df


@pytest.mark.parametrize("body", sorted(BUILDERS))
def test_every_branch_of_the_writer_writes_the_dumps(body):
    df = _shapes()
    more = {"status": "Completed", "assignee": "a@b.c"} if body == "labels" else {}
    parts = [b'"page":', b'"lock":false', b'"interpolationStopped":true', b'"rotation":12.5',
             b"1e-7", '\\\\é'.encode(), b'\\"']  # fmt: skip
    assert _same(BUILDERS[body](df, "p", **more), *parts) == -(-len(df) // 5)
    # the same frame with nested answers on some objects
    df["occ"] = np.where(np.arange(len(df)) % 6 == 0, "yes", None)
    onto = {
        "tools": [
            {"tool": t, "title": t, "schemaId": "t-car",
             "classifications": [{"tool": "text", "title": "occluded", "schemaId": "n-occ"}]}
            for t in ("bounding-box",)
        ]
    }  # fmt: skip
    df["tool"] = None
    df = df[df["rotation"].isna() & df["points"].isna() & df["width"].notna()]
    nested = b'"classifications":[{"schemaId":"n-occ"'
    assert _same(BUILDERS[body](df, "p", onto, nested={"occluded": "occ"}), nested) > 0


def test_generated_ids_and_asset_keys_of_every_kind_write_the_dumps():
    df = boxes(40, per_asset=4, seed=5)
    df["asset_id"] = [f"A{i // 4}" if i % 8 < 4 else None for i in range(40)]
    df["track_id"] = [f"t{i % 3}" if i % 5 == 0 else None for i in range(40)]
    _same(build_labels(df, "p"))
    _same(build_import_file(df.assign(asset_id=None), "p"))


def test_texts_sliced_anywhere_are_the_whole_texts():
    batch = build_labels(_shapes(), "p")
    whole = list(batch.texts())
    for start, stop in [(0, None), (BLOCK - 3, BLOCK + 5), (len(whole) - 1, None)]:
        assert list(batch.texts(start, stop)) == whole[start:stop]


def test_a_brush_label_writes_the_dumps():
    df = boxes(6, per_asset=2, seed=7)
    masks = pd.DataFrame(
        {
            "external_id": ["img_00000.jpg", "m.png"],
            "brush_data_url": ["https://m.example.org/1.png", "https://m/2.png"],
        }
    )
    _same(build_import_file(pd.concat([df, masks], ignore_index=True), "p"))


@settings(max_examples=60, deadline=None)
@given(frame=frames(), ontology=st.booleans(), body=st.sampled_from(sorted(BUILDERS)))
def test_fuzzed_frames_write_the_dumps_of_their_labels(frame, ontology, body):
    try:
        batch = BUILDERS[body](frame, "p", FUZZ_ONTOLOGY if ontology else None, on_error="skip")
    except (ConfigError, PayloadError):
        return
    try:
        dumped = [orjson.dumps(item) for item in batch.items()]
    except TypeError as exc:  # what the dict path cannot serialise, the writer refuses too
        with pytest.raises(type(exc)):
            list(batch.texts())
        return
    assert list(batch.texts()) == dumped


def test_label_keys_are_written_when_read_and_equal_the_listed_keys():
    df = boxes(12, per_asset=3, seed=9)
    df["asset_id"] = ["A0", "A0", "A0"] + [None] * 9
    batch = build_labels(df, "p")
    lazy = batch.label_keys
    assert not isinstance(lazy, list) and len(lazy) == len(batch) == 4
    want = [("assetId", "A0")] + [("externalId", f"img_{a:05d}.jpg") for a in (1, 2, 3)]
    assert lazy == want and list(lazy) == want
    assert lazy[1:3] == want[1:3] and lazy[-1] == want[-1]
    with pytest.raises(IndexError):
        lazy[4]
    assert batch.keys == want and isinstance(batch.keys, list)  # the list, made once
    assert batch.keys is batch.keys
    # the import file names the asset by its external id when rows give both
    df.loc[0, "external_id"], df.loc[1, "external_id"] = "e0.jpg", "e0.jpg"
    df.loc[2, "external_id"] = "e0.jpg"
    assert build_import_file(df, "p").label_keys[0] == ("externalId", "e0.jpg")
