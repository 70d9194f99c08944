"""The native flattening core against its baselines, in one run on the same ndjson export.

    python benchmarks/bench_native.py --generate 300          # the issue's figures (~10 min)
    python benchmarks/bench_native.py EXPORT.ndjson --reps 3
    python benchmarks/bench_native.py EXPORT.ndjson --steps "export_to_parquet json native"
    python benchmarks/bench_native.py --generate 1000 --steps "export_to_parquet native"
        # the 1 GB check: memory flat (peak RSS as at 300 MB), time linear (the same ratio)

Steps, each in a fresh child process (time and peak RSS of its process tree, see
bench_export.py), repeated ``--reps`` times, interleaved (every step once, then again):

* ``orjson_parse``: ``orjson.loads`` of every line (the baseline of every ratio);
* ``duckdb_objects``: DuckDB ``read_ndjson_auto`` + ``unnest`` of the tools into one Parquet
  file, the objects table only (needs ``pip install duckdb``; skipped with a note otherwise);
* ``json_normalize``: ``pandas.json_normalize`` of the tools and classifications;
* ``export_to_parquet`` and ``read_export`` (all tables, default settings) with
  ``engine="python"`` and ``engine="native"``;
* ``export_to_parquet`` and ``read_export`` (native engine: the core reads the records of JSON
  arrays too) of the same records as a JSON array (``X.json``) and as a split zip
  (``X.split.zip``), when those files sit beside the ndjson file ``X.ndjson``
  (``--generate`` writes all three; or ``make_export.py --format json|split``).

Printed per step: min and median time, min and median ratio to the parse of the same
repetition, and the median peak RSS. Goals (issue 13): export_to_parquet <= 1.5x, peak RSS
<= 350 MB; read_export <= 2x.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_export import _normalize, _PeakSampler, generate  # noqa: E402

STEPS = [
    ("orjson_parse", None),
    ("duckdb_objects", None),
    ("json_normalize", None),
    ("export_to_parquet", "python"),
    ("export_to_parquet", "native"),
    ("read_export", "python"),
    ("read_export", "native"),
    ("export_to_parquet json", "native"),
    ("export_to_parquet split", "native"),
    ("read_export json", "native"),
    ("read_export split", "native"),
]
SIBLINGS = {
    "export_to_parquet json": ".json",
    "export_to_parquet split": ".split.zip",
    "read_export json": ".json",
    "read_export split": ".split.zip",
}


def _duckdb_objects(src: str, out: str) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute(
        "COPY (SELECT task.taskId AS task_id, unnest(task.tools, recursive := true) "
        "FROM read_ndjson_auto(?, maximum_object_size=104857600)) "
        f"TO '{out}/objects.parquet' (FORMAT parquet)",
        [src],
    )


def _step(name: str, engine: str | None, src: str) -> None:
    import warnings

    import orjson

    sys.path.insert(0, str(HERE.parent))
    from ango_frames.export.parquet import export_to_parquet
    from ango_frames.export.tables import read_export

    warnings.simplefilter("ignore")
    sampler = _PeakSampler()
    sampler.start()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if name == "orjson_parse":
            with open(src, "rb") as f:
                for line in f:
                    orjson.loads(line)
        elif name == "duckdb_objects":
            _duckdb_objects(src, tmp)
        elif name == "json_normalize":
            _normalize(src)
        elif name.startswith("export_to_parquet"):
            export_to_parquet(src, tmp, engine=engine)
        elif name.startswith("read_export"):
            read_export(src, engine=engine)
        seconds = time.perf_counter() - start
    sampler.stop.set()
    sampler.join()
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, sampler.peak)
    print(json.dumps({"seconds": seconds, "peak_mb": peak}))


def _measure(name: str, engine: str | None, src: Path) -> dict | None:
    if name in SIBLINGS:
        src = src.with_name(src.name.removesuffix(".ndjson") + SIBLINGS[name])
    cmd = [sys.executable, __file__, "--step", name, "--engine", engine or "-", str(src)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        print(f"  {name} {engine or ''}: failed: {out.stderr.strip().splitlines()[-1]}")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def _label(step: tuple) -> str:
    return f"{step[0]} {step[1] or ''}".strip()


def _chosen(names: str | None) -> list[tuple]:
    """The steps named in ``names`` (comma-separated labels as printed), always with the parse."""
    if not names:
        return STEPS
    wanted = {n.strip() for n in names.split(",")} | {"orjson_parse"}
    unknown = wanted - {_label(s) for s in STEPS}
    if unknown:
        raise SystemExit(f"unknown steps {sorted(unknown)}; known: {[_label(s) for s in STEPS]}")
    return [s for s in STEPS if _label(s) in wanted]


def run(src: Path, reps: int, names: str | None = None) -> None:
    steps = _chosen(names)
    try:
        import duckdb  # noqa: F401
    except ImportError:
        if any(s[0] == "duckdb_objects" for s in steps):
            print("duckdb is not installed (pip install duckdb): the DuckDB baseline is skipped")
        steps = [s for s in steps if s[0] != "duckdb_objects"]
    stem = src.name.removesuffix(".ndjson")
    steps = [
        s for s in steps if s[0] not in SIBLINGS or src.with_name(stem + SIBLINGS[s[0]]).exists()
    ]
    runs: dict[tuple, list[dict]] = {s: [] for s in steps}
    ratios: dict[tuple, list[float]] = {s: [] for s in steps}
    for rep in range(reps):
        parse = None
        for step in steps:
            r = _measure(*step, src)
            if r is None:
                continue
            if step[0] == "orjson_parse":
                parse = r["seconds"]
            runs[step].append(r)
            ratios[step].append(r["seconds"] / parse)
            label = _label(step)
            print(f"  rep {rep + 1}: {label:<28} {r['seconds']:7.2f} s {r['peak_mb']:7.0f} MB")
    size = src.stat().st_size / 2**20
    print(f"\n{src.name}: {size:.0f} MB ndjson, {os.cpu_count()} cores, {reps} interleaved reps")
    print(f"  {'step':<28} {'min s':>7} {'med s':>7} {'min /parse':>10} {'med /parse':>10} "
          f"{'med peak RSS':>12}")  # fmt: skip
    for step in steps:
        if not runs[step]:
            continue
        secs = [r["seconds"] for r in runs[step]]
        peak = statistics.median(r["peak_mb"] for r in runs[step])
        label = _label(step)
        print(
            f"  {label:<28} {min(secs):7.2f} {statistics.median(secs):7.2f} "
            f"{min(ratios[step]):9.2f}x {statistics.median(ratios[step]):9.2f}x {peak:9.0f} MB"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("export", nargs="?", help="an existing ndjson export")
    parser.add_argument("--generate", type=float, metavar="MB", help="generate (or reuse) one")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "--steps",
        metavar="LABELS",
        help='only these steps, comma-separated as printed (e.g. "export_to_parquet json native");'
        " orjson_parse always runs (default: all)",
    )
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        _step(args.step, None if args.engine == "-" else args.engine, args.export)
        return
    if args.generate:
        src = generate(args.generate, "ndjson")
        for fmt in ("json", "split"):  # the same records, beside it
            generate(args.generate, fmt)
    elif args.export:
        src = Path(args.export)
    else:
        parser.error("give an ndjson export or --generate MB")
    run(src, args.reps, args.steps)


if __name__ == "__main__":
    main()
