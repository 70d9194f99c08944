"""Fuzz loop for a sanitizer-instrumented build of the native core (run by test_native_asan).

Usage: python native_fuzz_driver.py CORE_SO SEED ITERATIONS. Loads the core from CORE_SO,
feeds it mutated export lines (bytes flipped, cut, duplicated, odd tokens spliced in) and every
exported column to pyarrow, validated in full. Prints "ok <runs>" at the end; AddressSanitizer
or UBSan abort the process on the first fault.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import orjson
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from make_export import make_records

from ango_frames.schemas import SCHEMAS, TABLE_NAMES

TOKENS = [b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"\\u", b"\\ud800", b"-", b"1e999",
          b"9223372036854775808", b"null", b"true", b"\xff", b"\xe2\x82", b"\x00", b"\n", b" / ",
          b'"2024-02-29T23:59:59.999+23:59"', b"[[1,2]]", b'{"x":-1,"width":-2}']  # fmt: skip


def mutate(rng: random.Random, line: bytes) -> bytes:
    data = bytearray(line)
    for _ in range(rng.randint(1, 6)):
        op = rng.random()
        at = rng.randrange(len(data) + 1)
        if op < 0.3 and data:
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif op < 0.5:
            data[at:at] = rng.choice(TOKENS)
        elif op < 0.65:
            del data[at : at + rng.randint(1, 40)]
        elif op < 0.8:
            end = min(len(data), at + rng.randint(1, 200))
            data[at:at] = data[at:end]
        else:
            data = data[:at]
    return bytes(data)


def main(path: str, seed: int, iterations: int) -> None:
    spec = importlib.util.spec_from_file_location("_core", path)
    core_mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(core_mod)
    rng = random.Random(seed)
    lines = [orjson.dumps(r) for r in make_records(12, seed=seed)]
    core = core_mod.new_core()
    runs = 0
    for _ in range(iterations):
        block = b"\n".join(mutate(rng, rng.choice(lines)) for _ in range(rng.randint(1, 4)))
        pos = 0
        while pos < len(block):
            pos, _lines, _records, status, columns, _dyn, _counts, owner = core_mod.run(
                core, block, pos, [0] * 9, 511, rng.choice([1, 50, 4096]), 64
            )
            runs += 1
            for i, name in enumerate(TABLE_NAMES):
                if columns[i] is None or rng.random() < 0.3:  # the rest: freed by the owner
                    continue
                mask, address = columns[i]
                kind = pa.struct([f for f, m in zip(SCHEMAS[name], mask, strict=True) if m])
                pa.Array._import_from_c(address, kind).validate(full=True)
            del owner
            if status == 2:  # the record Python would read: skip its line
                nl = block.find(b"\n", pos)
                pos = len(block) if nl < 0 else nl + 1
    print("ok", runs)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
