"""Benchmark: build and serialise the labels payload for 1,000,000 box rows.

Compares ``build_labels`` + ``orjson.dumps`` against ``df.to_dict("records")`` + ``orjson.dumps``
of the same frame, in the same run (target: at most 2x), and prints peak memory.

    python benchmarks/bench_payload.py [rows]
"""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc

import numpy as np
import orjson
import pandas as pd

from ango_frames.imports.labels import build_labels


def make_frame(rows: int, per_asset: int = 8, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    assets = np.arange(rows) // per_asset
    return pd.DataFrame(
        {
            "external_id": pd.Series([f"img_{a:07d}.jpg" for a in assets.tolist()]),
            "schema_id": rng.choice(["cls-car", "cls-bus", "cls-person"], rows),
            "x": rng.uniform(0, 500, rows),
            "y": rng.uniform(0, 500, rows),
            "width": rng.uniform(1, 100, rows),
            "height": rng.uniform(1, 100, rows),
            "score": rng.uniform(0, 1, rows),
        }
    )


def timed(fn):
    gc.collect()
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(rows: int = 1_000_000) -> None:
    df = make_frame(rows)
    print(f"{rows:,d} box rows, {df['external_id'].nunique():,d} assets")
    base_t, base = timed(lambda: orjson.dumps(df.to_dict("records")))
    ours_t, ours = timed(lambda: orjson.dumps(build_labels(df, "bench-project").body))
    print(f"to_dict('records') + orjson : {base_t:6.2f} s  ({len(base) / 1e6:,.0f} MB)")
    print(f"build_labels + orjson       : {ours_t:6.2f} s  ({len(ours) / 1e6:,.0f} MB)")
    print(f"ratio                       : {ours_t / base_t:6.2f}x  (target <= 2x)")
    del base, ours
    tracemalloc.start()
    orjson.dumps(build_labels(df, "bench-project").body)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"peak memory while building  : {peak / 1e6:,.0f} MB (tracemalloc, beyond the input frame)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
