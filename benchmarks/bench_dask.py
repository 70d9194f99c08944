"""Time ango_frames.dask on a LocalCluster with 1 and 2 worker processes; print the speed-up.

    python benchmarks/bench_dask.py --mb 100                 # writes a synthetic ndjson export
    python benchmarks/bench_dask.py --src EXPORT.ndjson      # an existing export
    python benchmarks/bench_dask.py --mb 100 --workers 1 2 4 --part-mb 16

The export comes from ``benchmarks/make_export.py`` (the same generator as bench_export.py). Per
worker count, one fresh cluster (its start-up not timed) runs ``read_export`` (each part
flattened once, kept on the workers), a ``compute`` of a per-table row count, and
``to_parquet`` of every table. The single-process ``ango_frames.export_to_parquet`` is timed
too, as the baseline a cluster has to beat, and so is the speed-up the machine itself allows
(the same pure-Python loop in 1 and in N processes at once).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _make_export(path: Path, mb: float) -> dict[str, int]:
    spec = importlib.util.spec_from_file_location("make_export", HERE / "make_export.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stats: dict[str, int] = module.write_export(path, mb, "ndjson")
    return stats


def _spin(_: int) -> float:
    t0 = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - t0


def _ceiling(workers: int) -> float:
    """The speed-up this machine allows pure-Python work in ``workers`` processes at best.

    Shared or throttled vCPUs often give far less than ``workers`` x; the cluster cannot beat it.
    """
    import multiprocessing

    one = _spin(0)
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        t0 = time.perf_counter()
        pool.map(_spin, range(workers))
        many = time.perf_counter() - t0
    return workers * one / many


def _baseline(src: str, out: Path) -> float:
    from ango_frames import export_to_parquet

    t0 = time.perf_counter()
    export_to_parquet(src, out)
    return time.perf_counter() - t0


def _on_cluster(src: str, out: Path, workers: int, part_bytes: int) -> dict[str, float]:
    import dask
    from dask.distributed import Client, LocalCluster

    import ango_frames.dask as afd

    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            worker_dashboard_address=None,
        ) as cluster,
        Client(cluster),
    ):
        t0 = time.perf_counter()
        tables = afd.read_export(src, target_bytes=part_bytes)
        t1 = time.perf_counter()
        counts = dask.compute(*(frame.shape[0] for _, frame in tables.items()))
        t2 = time.perf_counter()
        afd.to_parquet(tables, out, overwrite=True)
        t3 = time.perf_counter()
    assert list(counts) == [tables.rows[name] for name in tables.names()]
    return {
        "parts": len(tables.parts),
        "read_export": t1 - t0,
        "count rows": t2 - t1,
        "to_parquet": t3 - t2,
        "read + parquet": (t1 - t0) + (t3 - t2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", help="an existing ndjson export (default: generate one)")
    parser.add_argument("--mb", type=float, default=100, help="MiB of JSON to generate")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--part-mb", type=float, default=8, help="target MiB per part")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # unknown-key warnings are not what is measured
    tmp = Path(tempfile.mkdtemp(prefix="bench_dask_"))
    try:
        src = args.src
        if src is None:
            src = str(tmp / "export.ndjson")
            stats = _make_export(Path(src), args.mb)
            print(
                f"export: {stats['bytes'] / 2**20:.0f} MiB, {stats['assets']:,} assets, "
                f"{stats['objects']:,} objects"
            )
        part_bytes = int(args.part_mb * 2**20)
        base = _baseline(src, tmp / "single")
        print(f"single process export_to_parquet: {base:.2f}s")
        results = {w: _on_cluster(src, tmp / f"w{w}", w, part_bytes) for w in args.workers}
        steps = ["read_export", "count rows", "to_parquet", "read + parquet"]
        print(f"{'workers':>8} {'parts':>6} " + " ".join(f"{s:>15}" for s in steps))
        for w, r in results.items():
            print(f"{w:>8} {r['parts']:>6.0f} " + " ".join(f"{r[s]:>14.2f}s" for s in steps))
        first = results[args.workers[0]]["read + parquet"]
        for w in args.workers[1:]:
            print(
                f"speed-up read + parquet, {w} vs {args.workers[0]} worker(s): "
                f"{first / results[w]['read + parquet']:.2f}x "
                f"(this machine's ceiling for {w} processes vs 1: {_ceiling(w):.2f}x)"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
