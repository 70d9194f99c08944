"""Benchmark: semantic + instance masks for 10,000 assets of 1024x768 with ~10 objects each.

Compares ``ango_frames.look.masking.iter_masks`` (numpy scanline fill) with a plain per-object
PIL ``ImageDraw`` loop written the usual way (``groupby`` per asset, ``itertuples`` per object,
``rectangle`` / ``polygon`` per shape, holes drawn over with 0), on the same tables. Each run is a
fresh process that reads the tables from Parquet and reports its time (masks only) and peak RSS;
the two sides run interleaved, ``--reps`` times each; min and median are printed. Objects: 50%
boxes, 20% rotated boxes, 20% polygons, 10% segmentation zones with a hole.

    python benchmarks/bench_masks.py [--assets 10000] [--reps 3] [--width 1024 --height 768]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd


def _ring(rng: np.random.Generator, cx: float, cy: float, r: float, n: int) -> list[list[float]]:
    angles = np.sort(rng.uniform(0, 2 * math.pi, n))
    radii = r * rng.uniform(0.6, 1.0, n)
    return [
        [float(cx + a * math.cos(t)), float(cy + a * math.sin(t))] for a, t in zip(radii, angles)
    ]


def make_tables(
    assets: int, width: int, height: int, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    rows = []
    classes = ["car", "person", "sign", "building", "road"]
    for a in range(assets):
        for k in range(int(rng.integers(8, 13))):
            kind = rng.choice(4, p=[0.5, 0.2, 0.2, 0.1])
            w, h = float(rng.uniform(20, 300)), float(rng.uniform(20, 300))
            x, y = float(rng.uniform(0, width - w)), float(rng.uniform(0, height - h))
            row = {"task_id": f"t{a:06d}", "object_id": f"o{a:06d}-{k}", "page": None,
                   "title": str(rng.choice(classes)), "x": x, "y": y, "width": w, "height": h,
                   "rotation": None, "corners": None, "points": None, "zones": None}  # fmt: skip
            if kind == 0:
                row["tool"] = "bounding-box"
            elif kind == 1:
                row.update(tool="rotated-bounding-box", rotation=float(rng.uniform(0, 90)))
            elif kind == 2:
                row.update(
                    tool="polygon",
                    points=_ring(
                        rng, x + w / 2, y + h / 2, min(w, h) / 2, int(rng.integers(6, 13))
                    ),
                )
            else:
                cx, cy, r = x + w / 2, y + h / 2, min(w, h) / 2
                row.update(
                    tool="segmentation",
                    zones=[
                        {
                            "region": _ring(rng, cx, cy, r, 10),
                            "holes": [_ring(rng, cx, cy, r / 3, 5)],
                        }
                    ],
                )
            rows.append(row)
    objects = pd.DataFrame(rows)
    objects["page"] = objects["page"].astype("Int64")
    tasks = pd.DataFrame(
        {
            "task_id": [f"t{a:06d}" for a in range(assets)],
            "external_id": [f"img-{a:06d}.jpg" for a in range(assets)],
            "metadata_width": float(width),
            "metadata_height": float(height),
        }
    )
    return objects, tasks


def _rotated(x: float, y: float, w: float, h: float, deg: float) -> list[tuple[float, float]]:
    cx, cy, t = x + w / 2, y + h / 2, math.radians(deg)
    c, s = math.cos(t), math.sin(t)
    pts = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    return [(cx + px * c - py * s, cy + px * s + py * c) for px, py in pts]


def pil_masks(objects: pd.DataFrame, tasks: pd.DataFrame, index: dict[str, int]):
    """The usual way: one PIL image per mask, one ImageDraw call per object."""
    from PIL import Image, ImageDraw

    sizes = tasks.set_index("task_id")[["metadata_width", "metadata_height"]]
    for task_id, group in objects.groupby("task_id", sort=False):
        w, h = (int(v) for v in sizes.loc[task_id])
        semantic, instance = Image.new("L", (w, h), 0), Image.new("I", (w, h), 0)
        ds, di = ImageDraw.Draw(semantic), ImageDraw.Draw(instance)
        for k, obj in enumerate(group.itertuples(index=False), start=1):
            c = index[obj.title] + 1
            if obj.tool == "bounding-box":
                box = [obj.x, obj.y, obj.x + obj.width - 1, obj.y + obj.height - 1]
                ds.rectangle(box, fill=c)
                di.rectangle(box, fill=k)
            elif obj.tool == "rotated-bounding-box":
                pts = _rotated(obj.x, obj.y, obj.width, obj.height, obj.rotation)
                ds.polygon(pts, fill=c)
                di.polygon(pts, fill=k)
            elif obj.tool == "polygon":
                pts = [tuple(p) for p in obj.points]
                ds.polygon(pts, fill=c)
                di.polygon(pts, fill=k)
            else:
                for zone in obj.zones:
                    ds.polygon([tuple(p) for p in zone["region"]], fill=c)
                    di.polygon([tuple(p) for p in zone["region"]], fill=k)
                    for hole in zone["holes"]:
                        ds.polygon([tuple(p) for p in hole], fill=0)
                        di.polygon([tuple(p) for p in hole], fill=0)
        yield task_id, np.asarray(semantic), np.asarray(instance).astype(np.uint16)


def ours_masks(objects: pd.DataFrame, tasks: pd.DataFrame, index: dict[str, int]):
    from ango_frames.look.masking import iter_masks

    for m in iter_masks(objects, tasks, class_index=index):
        yield m.task_id, m.semantic, m.instance


def child(side: str, folder: str) -> None:
    objects = pd.read_parquet(os.path.join(folder, "objects.parquet"))
    tasks = pd.read_parquet(os.path.join(folder, "tasks.parquet"))
    index = {c: i for i, c in enumerate(sorted(objects["title"].unique()))}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fn = ours_masks if side == "ours" else pil_masks
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage0.ru_utime + usage0.ru_stime
    start = time.perf_counter()
    pixels = images = 0
    for _, semantic, _instance in fn(objects, tasks, index):
        pixels += int(np.count_nonzero(semantic))
        images += 1
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rss_mb": peak / 1024, "tables_mb": before / 1024,
                      "images": images, "pixels": pixels}))  # fmt: skip


def agreement(objects: pd.DataFrame, tasks: pd.DataFrame, n: int = 50) -> float:
    """Share of equal semantic pixels between the two sides on the first ``n`` assets."""
    index = {c: i for i, c in enumerate(sorted(objects["title"].unique()))}
    keep = tasks["task_id"].head(n)
    o, t = objects[objects["task_id"].isin(keep)], tasks[tasks["task_id"].isin(keep)]
    same = total = 0
    for (_, a, _), (_, b, _) in zip(ours_masks(o, t, index), pil_masks(o, t, index)):
        same += int((a == b).sum())
        total += a.size
    return same / total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=768)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--child", choices=["ours", "pil"])
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.folder)
        return
    with tempfile.TemporaryDirectory(prefix="bench-masks-") as folder:
        objects, tasks = make_tables(args.assets, args.width, args.height)
        objects.to_parquet(os.path.join(folder, "objects.parquet"))
        tasks.to_parquet(os.path.join(folder, "tasks.parquet"))
        print(f"{len(tasks):,d} assets of {args.width}x{args.height}, {len(objects):,d} objects")
        print(f"semantic pixels equal to PIL's (first 50 assets): {agreement(objects, tasks):.4%}")
        del objects, tasks
        runs: dict[str, list[dict]] = {"ours": [], "pil": []}
        for rep in range(args.reps):
            for side in ("ours", "pil"):  # interleaved: both see the same machine load
                cmd = [sys.executable, __file__, "--child", side, "--folder", folder]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True)
                runs[side].append(json.loads(out.stdout.strip().splitlines()[-1]))
                r = runs[side][-1]
                print(
                    f"  rep {rep + 1} {side:4s}: {r['seconds']:7.2f} s ({r['cpu']:.2f} s CPU), "
                    f"peak RSS {r['rss_mb']:6.0f} MB"
                )
    for side, label in (("ours", "ango_frames iter_masks"), ("pil", "PIL ImageDraw loop")):
        t = [r["seconds"] for r in runs[side]]
        rss = [r["rss_mb"] for r in runs[side]]
        cpu = [r["cpu"] for r in runs[side]]
        print(f"{label:24s}: min {min(t):7.2f} s, median {statistics.median(t):7.2f} s (CPU min {min(cpu):.2f} s); "
              f"peak RSS median {statistics.median(rss):5.0f} MB "
              f"(tables alone {runs[side][0]['tables_mb']:.0f} MB)")  # fmt: skip
    ratio = min(r["seconds"] for r in runs["ours"]) / min(r["seconds"] for r in runs["pil"])
    cpu_ratio = min(r["cpu"] for r in runs["ours"]) / min(r["cpu"] for r in runs["pil"])
    print(f"time ratio (min / min)  : {ratio:.2f}x of the PIL loop ({cpu_ratio:.2f}x in CPU time)")


if __name__ == "__main__":
    main()
