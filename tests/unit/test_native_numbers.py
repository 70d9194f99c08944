"""Numbers as any JSON writer spells them: the native parser reads each to the very double (or
int) that orjson reads, bit for bit, or leaves the record to the Python engine."""

from __future__ import annotations

import random
import struct

import orjson
import pytest

from ango_frames.export.flatten.flattener import Flattener, flatten_to_tables
from ango_frames.export.records import iter_records
from tests.engines import NATIVE, assert_engines_agree

needs_native = pytest.mark.skipif(not NATIVE, reason="the native core is not built")

SPELLINGS = [
    "0", "-0", "0.0", "-0.0", "1.50", "1E5", "1e+05", "1e-5", "2.5E-3", "-7.25e2", "0.1",
    "0.30000000000000004", "3.14159265358979323846", "1e22", "1e23", "1e-22", "1e-23",
    "123456789012345678", "999999999999999999", "1234567890123456789", "9007199254740992",
    "9007199254740993.0", "9007199254740992.5", "90071992547409.93", "12345678901234567e-22",
    "0.000000000000000000001", "0.0000000000000000000000123", "1.7976931348623157e308",
    "4.9e-324", "2.2250738585072014e-308", "123.456e-20", "1e0000", "5e0010", "-1.0E-0",
    "100000000000000000000000", "0.5e1", "17.000000000000000001", "0.3", "0.7", "2.675",
]  # fmt: skip


def _lines(x: str, page: str = "1") -> bytes:
    """Two records (one alone would be read as a whole-object file), ``x`` and ``page`` as
    given."""
    return b"".join(
        b'{"externalId": "e", "task": {"taskId": "t%d", "tools": [{"objectId": "o1", "page": ' % i
        + page.encode()
        + b', "bounding-box": {"x": '
        + x.encode()
        + b', "y": 0, "width": 1, "height": 1}}]}}\n'
        for i in (1, 2)
    )


def _native(raw: bytes, tmp_path) -> tuple:
    path = tmp_path / "export.ndjson"
    path.write_bytes(raw)
    flat = Flattener(None, engine="native")
    return flatten_to_tables(iter_records(str(path), raw=True), flat), flat


def _bits(values: list) -> list:
    return [None if v is None else struct.pack("<d", v) for v in values]


@needs_native
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_float_spelled_any_way_reads_as_orjson_reads_it(spelling, tmp_path):
    raw = _lines(spelling)
    ref = assert_engines_agree(raw)[0]["objects"]
    got, flat = _native(raw, tmp_path)
    x = orjson.loads(spelling)
    integer = not any(c in spelling for c in ".eE")
    if integer and abs(int(spelling)) > 2**53:  # not exactly a float64: Python's records
        assert flat.python_records == 2
        assert got["objects"].equals(ref)
        return
    assert flat.python_records == 0  # read natively, not handed to Python
    for column in (ref.column("x").to_pylist(), got["objects"].column("x").to_pylist()):
        assert _bits(column) == _bits([float(x)] * 2)  # bit for bit: -0.0 stays -0.0


@needs_native
@pytest.mark.parametrize("spelling", ["0", "-0", "7", "-2147483647", "2147483647", "2147483648"])
def test_an_int_spelled_any_way_reads_as_orjson_reads_it(spelling, tmp_path):
    raw = _lines("1", page=spelling)
    ref = assert_engines_agree(raw)[0]["objects"]
    got, flat = _native(raw, tmp_path)
    assert got["objects"].equals(ref)
    assert flat.python_records == (2 if abs(int(spelling)) >= 2**31 else 0)
    page = orjson.loads(spelling)
    assert ref.column("page").to_pylist() == [page if abs(page) < 2**31 else None] * 2


def _decimal(rng: random.Random) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 19)))
    cut = rng.randint(0, len(digits))
    head, tail = digits[:cut].lstrip("0") or "0", digits[cut:]
    text = head + ("." + tail if tail else ".0")
    if rng.random() < 0.3:
        text += f"e{rng.randint(-30, 30)}"
    return ("-" if rng.random() < 0.5 else "") + text


@needs_native
def test_many_decimals_read_bit_for_bit_as_python_reads_them(tmp_path):
    rng = random.Random(13)
    spellings = [_decimal(rng) for _ in range(3000)]
    raw = b"".join(
        b'{"task": {"taskId": "t%d", "tools": [{"objectId": "o", "point": [%s, 0]}]}}\n'
        % (i, s.encode())
        for i, s in enumerate(spellings)
    )
    got, flat = _native(raw, tmp_path)
    assert flat.python_records == 0
    assert _bits(got["objects"].column("x").to_pylist()) == _bits([float(s) for s in spellings])
