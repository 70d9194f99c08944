"""Benchmark: build and serialise the import payloads of 1,000,000 box rows.

Three steps, each in a fresh process, interleaved, 3 repetitions:

* baseline: ``orjson.dumps(df.to_dict("records"))`` of the same frame;
* stream: what ``import_labels`` does without a journal: ``build_labels`` (every row checked),
  then each chunk cut from the label stream, its bytes, sha256 and key made, and dropped (as
  after its reply), one at a time;
* journal: the same with a journal: a first pass that makes every chunk once (the plan's
  fingerprint) and spools its bytes to an anonymous temporary file, then a send pass that reads
  each chunk back (``spool.planned``, as ``delivery.send_chunks`` does).

Printed: time as a ratio to the baseline (min and median of the repetitions), and the peak RSS
of the measuring process during the step (reset after the frame is made) above the RSS it had
with just the frame built (goal of issue 13: <= 0.6x the baseline's time, <= frame + 100 MB).

    python benchmarks/bench_payload.py [rows] [reps]
"""

from __future__ import annotations

import gc
import json
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import pandas as pd


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


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    """The process's peak RSS since :func:`_reset_peak` (VmHWM), else since it started."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _reset_peak() -> None:
    """Start the peak anew, so that making the frame does not count (Linux: clear_refs 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def child(step: str, rows: int) -> None:
    """One measurement in this process; prints a JSON line."""
    import orjson

    from ango_frames.imports.chunks import ChunkPlan, plan_fingerprint
    from ango_frames.imports.labels import build_labels
    from ango_frames.imports.spool import planned

    df = make_frame(rows)
    gc.collect()
    frame_rss = _rss_mb()
    _reset_peak()
    start = time.perf_counter()
    if step == "baseline":
        size = len(orjson.dumps(df.to_dict("records")))
    else:
        batch = build_labels(df, "bench-project")
        # the plan import_labels makes (send.import_labels)
        plan = ChunkPlan.stream("labels", "bench-project", batch.label_keys, "labels",
                                "import/labels", batch.items, texts=batch.texts,
                                spill=True)  # fmt: skip
        size = 0
        if step == "stream":
            for chunk in plan.cut():  # what send_chunks does without a journal
                size += len(chunk.raw)
                del chunk
        else:  # what send_chunks does with one: every chunk made once, its bytes spooled
            with planned(plan) as made:
                plan_fingerprint("labels", "bench-project", made.outlines)
                for outline in made.outlines:
                    chunk = made.chunk(outline)
                    assert chunk.sha256 == outline.sha256
                    size += len(chunk.raw)
                    del chunk
    took = time.perf_counter() - start
    print(json.dumps({"step": step, "seconds": took, "bytes": size, "frame_mb": frame_rss,
                      "peak_mb": _peak_mb()}))  # fmt: skip


STEPS = {
    "baseline": 'to_dict("records") + orjson',
    "stream": "import_labels, no journal",
    "journal": "import_labels, journal (spooled)",
}


def main(rows: int = 1_000_000, reps: int = 3) -> None:
    runs: dict[str, list[dict]] = {step: [] for step in STEPS}
    for _ in range(reps):
        for step in STEPS:  # interleaved: noise hits both alike
            out = subprocess.run(
                [sys.executable, __file__, "--child", step, str(rows)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            runs[step].append(json.loads(out.stdout.strip().splitlines()[-1]))
    base = [r["seconds"] for r in runs["baseline"]]
    print(f"{rows:,d} box rows, {reps} interleaved repetitions, one fresh process each")
    for step, label in STEPS.items():
        secs = [r["seconds"] for r in runs[step]]
        ratios = [s / b for s, b in zip(secs, base, strict=True)]
        above = [r["peak_mb"] - r["frame_mb"] for r in runs[step]]
        print(
            f"{label:34s} {min(secs):6.2f} s min {statistics.median(secs):6.2f} s median | "
            f"ratio {min(ratios):.2f}x min {statistics.median(ratios):.2f}x median | "
            f"peak RSS {max(r['peak_mb'] for r in runs[step]):,.0f} MB, "
            f"{statistics.median(above):,.0f} MB above the frame "
            f"({runs[step][0]['frame_mb']:,.0f} MB) | {runs[step][0]['bytes'] / 1e6:,.0f} MB out"
        )
    print("goal (issue 13): <= 0.60x, <= frame + 100 MB")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        args = [int(a) for a in sys.argv[1:3]]
        main(*args)
