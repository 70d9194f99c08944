"""Time export_to_parquet and read_export against a bare orjson parse and pandas.json_normalize.

    python benchmarks/bench_export.py --generate 300      # the issue's benchmark, one command
    python benchmarks/bench_export.py --generate 50 --quick
    python benchmarks/bench_export.py EXPORT.ndjson       # an existing ndjson export

``--generate MB`` writes ``benchmarks/data/export-<MB>.{ndjson,json,split.zip}`` with
``make_export.py`` (same seed, so the same records in each format) when they are missing, then
measures, on the same files in one run:

* ``orjson_parse``: ``orjson.loads`` of every line of the ndjson file (the baseline);
* ``json_normalize``: ``pandas.json_normalize`` of the tools and classifications (nested ones
  included), after the same parse;
* ``export_to_parquet`` (all tables) for ndjson, json and split inputs, with ``workers=1`` and
  ``workers=2``; ``read_export`` of the ndjson file with ``workers=1`` and ``workers=2``;
* memory flatness: ``export_to_parquet`` (ndjson, workers=1 and 2) on a file of 1/3 the size;
  ``--big 1000`` alone measures the default (one process) on a 1000 MB export.

Each step runs in a fresh child process, which reports its wall time and the peak resident
memory of its whole process tree (itself and its worker processes, sampled from /proc every
50 ms; ``ru_maxrss`` where /proc is missing). Targets of the issue: to_parquet <= 2x the parse,
>= 25x faster than json_normalize, peak RSS flat in the input size.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
FORMATS = {"ndjson": ".ndjson", "json": ".json", "split": ".split.zip"}


# ----------------------------------------------------------------------------- child side
def _tree_rss_mb(root: int) -> float:
    """Resident MB of ``root`` and all its descendants (Linux /proc/<pid>/stat)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()  # after "pid (comm) "
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21])
    total = 0
    for pid, pages in rss.items():
        p = pid
        while p and p != root:
            p = parents.get(p, 0)
        if p == root:
            total += pages
    return total * _PAGE / 2**20


class _PeakSampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.is_set():
            self.peak = max(self.peak, _tree_rss_mb(me))
            self.stop.wait(0.05)


def _normalize(src: str) -> None:
    import orjson
    import pandas as pd

    tools, classes = [], []
    with open(src, "rb") as f:
        for line in f:
            task = orjson.loads(line)["task"]
            tools.extend(task.get("tools") or [])
            classes.extend(task.get("classifications") or [])
    nested = [c for t in tools for c in t.get("classifications") or []]
    pd.json_normalize(nested)
    pd.json_normalize(tools)
    pd.json_normalize(classes)


def _step(name: str, src: str, workers: int) -> None:
    """Run one step in this (child) process; print its time and peak RSS as JSON."""
    import warnings

    import orjson

    sys.path.insert(0, str(HERE.parent))
    from ango_frames.export.parquet import export_to_parquet
    from ango_frames.export.tables import read_export

    warnings.simplefilter("ignore")
    sampler = _PeakSampler() if os.path.isdir("/proc") else None
    if sampler is not None:
        sampler.start()
    start = time.perf_counter()
    if name == "orjson_parse":
        with open(src, "rb") as f:
            for line in f:
                orjson.loads(line)
    elif name == "export_to_parquet":
        with tempfile.TemporaryDirectory() as tmp:
            export_to_parquet(src, tmp, workers=workers)
    elif name == "read_export":
        read_export(src, workers=workers)
    elif name == "json_normalize":
        _normalize(src)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if sampler is not None:
        sampler.stop.set()
        sampler.join()
        peak = max(peak, sampler.peak)
    print(json.dumps({"seconds": seconds, "peak_mb": peak}))


# ---------------------------------------------------------------------------- parent side
def _measure(name: str, src: Path, workers: int = 1) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--step", name, "--workers", str(workers), str(src)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def generate(mb: float, fmt: str) -> Path:
    """``benchmarks/data/export-<mb>.<fmt>``, written by make_export.py unless it exists."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"export-{mb:g}{FORMATS[fmt]}"
    if not path.exists():
        tmp = path.with_name(path.name + ".part")
        maker = [sys.executable, str(HERE / "make_export.py"), str(tmp), "--mb", f"{mb:g}"]
        subprocess.run([*maker, "--format", fmt], check=True)
        tmp.rename(path)
    return path


def _row(label: str, r: dict, parse: float, normalize: float | None) -> str:
    ratio = f"{r['seconds'] / parse:6.2f}x"
    vs_norm = f"{normalize / r['seconds']:6.2f}x" if normalize else "     - "
    return f"  {label:<34} {r['seconds']:8.2f} s  {ratio}  {vs_norm}  {r['peak_mb']:8.0f} MB"


def run(files: dict[str, Path], quick: bool, scale_src: Path | None) -> None:
    ndjson = files["ndjson"]
    size = ndjson.stat().st_size / 2**20
    results: list[tuple[str, dict]] = []
    parse = _measure("orjson_parse", ndjson)
    results.append(("orjson_parse (ndjson)", parse))
    normalize = None
    if not quick:
        norm = _measure("json_normalize", ndjson)
        normalize = norm["seconds"]
        results.append(("json_normalize (ndjson)", norm))
    for fmt, path in files.items():
        for workers in (1, 2):
            label = f"export_to_parquet {fmt} workers={workers}"
            results.append((label, _measure("export_to_parquet", path, workers)))
    for workers in (1, 2):
        label = f"read_export ndjson workers={workers}"
        results.append((label, _measure("read_export", ndjson, workers)))
    print(f"\n{ndjson.stem}: {size:.0f} MB of JSON text per format, {os.cpu_count()} cores")
    print(f"  {'step':<34} {'time':>10}  {'/parse':>7}  {'norm/x':>7}  {'peak RSS':>11}")
    for label, r in results:
        print(_row(label, r, parse["seconds"], normalize))
    print("  (/parse: time / orjson parse, target <= 2x; norm/x: json_normalize / time, >= 25x)")
    if scale_src is not None:
        small_mb = scale_src.stat().st_size / 2**20
        print()
        for workers in (1, 2):
            small = _measure("export_to_parquet", scale_src, workers)
            label = f"export_to_parquet ndjson workers={workers}"
            big = next(r for name, r in results if name == label)
            print(
                f"memory flatness, {label}: peak RSS {small['peak_mb']:.0f} MB at "
                f"{small_mb:.0f} MB, {big['peak_mb']:.0f} MB at {size:.0f} MB "
                f"({big['peak_mb'] / small['peak_mb']:.2f}x for {size / small_mb:.1f}x the input)"
            )


def run_big(mb: float) -> None:
    """Peak RSS of the default export_to_parquet (one process) on an ``mb`` MB ndjson export."""
    path = generate(mb, "ndjson")
    r = _measure("export_to_parquet", path, 1)
    size = path.stat().st_size / 2**20
    print(
        f"export_to_parquet ndjson workers=1 on {size:.0f} MB: {r['seconds']:.1f} s, "
        f"peak RSS {r['peak_mb']:.0f} MB"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("export", nargs="?", help="an existing ndjson export to measure")
    parser.add_argument("--generate", type=float, metavar="MB", help="generate (or reuse) exports")
    parser.add_argument("--quick", action="store_true", help="skip json_normalize")
    parser.add_argument("--no-scale", action="store_true", help="skip the memory-flatness run")
    parser.add_argument(
        "--big", type=float, metavar="MB", help="only: peak RSS on an MB-sized export"
    )
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        _step(args.step, args.export, args.workers)
        return
    if args.big:
        run_big(args.big)
        return
    if args.generate:
        files = {fmt: generate(args.generate, fmt) for fmt in FORMATS}
        scale = None if args.no_scale else generate(round(args.generate / 3, 1), "ndjson")
        run(files, args.quick, scale)
    elif args.export:
        run({"ndjson": Path(args.export)}, args.quick, None)
    else:
        parser.error("give an ndjson export or --generate MB")


if __name__ == "__main__":
    main()
