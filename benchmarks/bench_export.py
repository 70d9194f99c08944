"""Time export_to_parquet and read_export against a bare parse and pandas.json_normalize.

    python benchmarks/bench_export.py EXPORT.ndjson            # an existing ndjson export
    python benchmarks/bench_export.py --generate 50            # write a ~50 MB synthetic one first
    python benchmarks/bench_export.py --generate 50 --scale    # also 2x the size: is RSS flat?

Each measured step runs in its own child process, which reports its wall time and peak RSS, so
steps do not share caches or heap. ``--generate`` uses ``benchmarks/make_export.py`` when it is
there (the records helper's generator) and a small built-in generator otherwise.
Targets: to_parquet <= 2x the bare orjson parse, >= 25x faster than json_normalize, and the
peak RSS of export_to_parquet flat in the input size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
STEPS = ("orjson_parse", "export_to_parquet", "read_export", "json_normalize")


def _box(rng: random.Random, n: int, page: int | None = None) -> dict:
    tool = {
        "objectId": f"{n:023x}",
        "schemaId": "c0ffee00112233445566778",
        "title": "car",
        "bounding-box": {
            "x": rng.uniform(0, 600),
            "y": rng.uniform(0, 400),
            "width": rng.uniform(-50, 50),
            "height": rng.uniform(5, 50),
        },
        "classifications": [
            {
                "objectId": f"{n + 1:023x}",
                "schemaId": "0dd0dd0dd0dd0dd0dd0dd0d",
                "tool": "radio",
                "title": "occluded",
                "answer": rng.choice(["yes", "no"]),
                "classifications": [
                    {"objectId": f"{n + 2:023x}", "tool": "text", "title": "n", "answer": "x"}
                ],
            }
        ],
        "metadata": {"createdAt": "2024-11-01T08:03:12.551Z", "createdBy": "a@example.org"},
    }
    if page is not None:
        tool["page"] = page
    return tool


def _record(rng: random.Random, i: int) -> dict:
    tools = [_box(rng, i * 1000 + 10 * k) for k in range(rng.randint(1, 30))]
    tools.append(
        {
            "objectId": f"p{i}",
            "polygon": [[rng.random() * 100, rng.random() * 100] for _ in range(8)],
        }
    )
    history = [
        {
            "stage": s,
            "stageId": s,
            "duration": 100,
            "completedAt": 1730448192551,
            "tools": tools[:3],
        }
        for s in ("Start", "Label", "Review")
    ]
    return {
        "asset": f"https://files.example.org/{i}.jpg",
        "externalId": f"{i}.jpg",
        "metadata": {"width": 640, "height": 480},
        "contextData": {"site": rng.choice(["north", "south"])},
        "batches": ["pilot"],
        "task": {
            "taskId": f"{i:024x}",
            "stage": "Complete",
            "stageId": "Complete",
            "updatedAt": "2024-11-02T09:14:07.120Z",
            "totalDuration": 51230,
            "tools": tools,
            "classifications": [
                {"objectId": f"g{i}", "tool": "checkbox", "title": "v", "answer": ["a", "b"]},
                {"objectId": f"t{i}", "tool": "tree-dropdown", "answer": ["Vehicle / Car / Sedan"]},
            ],
            "relations": [{"objectId": f"r{i}", "group": [tools[0]["objectId"], f"p{i}"]}],
            "stageHistory": history,
        },
    }


def generate(path: Path, mb: float) -> None:
    """Write a synthetic ndjson export of at least ``mb`` megabytes."""
    maker = HERE / "make_export.py"
    if maker.exists():
        subprocess.run([sys.executable, str(maker), str(path), "--mb", str(mb)], check=True)
        return
    rng, target, written, i = random.Random(0), mb * 2**20, 0, 0
    with path.open("wb") as out:
        while written < target:
            line = orjson.dumps(_record(rng, i)) + b"\n"
            out.write(line)
            written += len(line)
            i += 1
    print(f"wrote {path} ({written / 2**20:.1f} MB, {i} assets)")


def _step(name: str, src: str) -> None:
    """Run one step in this (child) process and print its time and peak RSS as JSON."""
    sys.path.insert(0, str(HERE.parent))
    import pandas as pd

    from ango_frames.parquet import export_to_parquet
    from ango_frames.tables import read_export

    start = time.perf_counter()
    if name == "orjson_parse":
        with open(src, "rb") as f:
            for line in f:
                orjson.loads(line)
    elif name == "export_to_parquet":
        with tempfile.TemporaryDirectory() as tmp:
            export_to_parquet(src, tmp)
    elif name == "read_export":
        read_export(src)
    elif name == "json_normalize":
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
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"step": name, "seconds": seconds, "peak_mb": peak_kb / 1024}))


def _measure(name: str, src: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--step", name, str(src)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(src: Path, steps: tuple[str, ...]) -> dict[str, dict]:
    size = src.stat().st_size / 2**20
    results = {name: _measure(name, src) for name in steps}
    print(f"\n{src.name}: {size:.1f} MB")
    for name, r in results.items():
        print(f"  {name:<18} {r['seconds']:8.2f} s   peak RSS {r['peak_mb']:8.1f} MB")
    parse = results["orjson_parse"]["seconds"]
    to_pq = results["export_to_parquet"]["seconds"]
    print(f"  to_parquet / orjson parse: {to_pq / parse:5.2f}x  (target <= 2x)")
    if "json_normalize" in results:
        ratio = results["json_normalize"]["seconds"] / to_pq
        print(f"  json_normalize / to_parquet: {ratio:5.2f}x  (target >= 25x)")
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("export", nargs="?", help="an ndjson export to measure")
    parser.add_argument("--generate", type=float, metavar="MB", help="generate a synthetic export")
    parser.add_argument("--scale", action="store_true", help="also measure 2x the size (RSS flat?)")
    parser.add_argument("--skip-normalize", action="store_true", help="skip json_normalize (slow)")
    parser.add_argument("--steps", help=f"comma-separated subset of {','.join(STEPS)}")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        _step(args.step, args.export)
        return
    chosen = args.steps.split(",") if args.steps else STEPS
    steps = tuple(
        s for s in STEPS if s in chosen and not (args.skip_normalize and s == "json_normalize")
    )
    if "orjson_parse" not in steps or "export_to_parquet" not in steps:
        parser.error("orjson_parse and export_to_parquet are always measured")
    with tempfile.TemporaryDirectory() as tmp:
        if args.generate:
            src = Path(tmp) / "export.ndjson"
            generate(src, args.generate)
        elif args.export:
            src = Path(args.export)
        else:
            parser.error("give an export file or --generate MB")
        small = run(src, steps)
        if args.scale and args.generate:
            big = Path(tmp) / "export2.ndjson"
            generate(big, 2 * args.generate)
            large = run(big, ("orjson_parse", "export_to_parquet"))
            a, b = small["export_to_parquet"]["peak_mb"], large["export_to_parquet"]["peak_mb"]
            print(
                f"\nexport_to_parquet peak RSS: {a:.0f} MB at 1x, {b:.0f} MB at 2x ({b / a:.2f}x)"
            )


if __name__ == "__main__":
    main()
