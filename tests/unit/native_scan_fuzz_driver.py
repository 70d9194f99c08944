"""Fuzz loop for the native JSON-array scanner (``scan_array``) of a sanitizer-instrumented core.

Usage: python native_scan_fuzz_driver.py CORE_SO SEED ITERATIONS. Loads the core from CORE_SO,
scans mutated JSON arrays (compact and pretty-printed, see native_fuzz_driver.mutate) cut into
chunks of random sizes, straight and through the reader (``jsonscan.iter_array`` with ``raw``),
checking that every cut and stop lies inside its chunk. Prints "ok <scans>" at the end;
AddressSanitizer or UBSan abort the process on the first fault.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from make_export import make_records

from ango_frames.errors import AngoError
from ango_frames.export import jsonscan
from ango_frames.export.jsonstream import Ctx
from tests.unit.native_fuzz_driver import mutate


def main(path: str, seed: int, iterations: int) -> None:
    spec = importlib.util.spec_from_file_location("_core", path)
    core = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(core)
    jsonscan._core = core  # the reader's raw mode on the instrumented scanner
    rng = random.Random(seed)
    records = list(make_records(4, seed=seed))
    docs = [orjson.dumps(records[:2]), json.dumps(records[2:], indent=2).encode()]
    scans = 0
    for _ in range(iterations):
        doc = mutate(rng, rng.choice(docs))
        size = rng.choice([1, 2, 3, 16, 17, 64, 1000, 1 << 16])
        chunks = [doc[i : i + size] for i in range(0, len(doc), size)]
        for chunk in chunks[:50]:
            depth, ceiling = rng.randint(1, 5), rng.randint(1, 70)
            cuts, stop, kind, _d, _s, out = core.scan_array(
                chunk, depth, rng.random() < 0.5, ceiling, rng.random() < 0.5
            )
            scans += 1
            assert all(0 <= c < len(chunk) for c in cuts) and cuts == sorted(cuts)
            assert (stop, kind) == (-1, 0) or (0 <= stop < len(chunk) and kind in (1, 2))
            assert out is None or len(out) == len(chunk)
        jsonscan.RAW_BLOCK_BYTES = rng.choice([1, 100, 1 << 20])
        try:
            for block in jsonscan.iter_array(iter(chunks), Ctx("fuzz"), raw=True):
                scans += 1
                for _record in block:  # the Python reading of the lines, as the fallback does
                    pass
        except AngoError:
            pass
    print("ok", scans)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
