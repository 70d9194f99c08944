"""Write a deterministic synthetic Ango Hub v3 export, for benchmarks and test fixtures.

Usage::

    python benchmarks/make_export.py OUT --mb 300 [--format ndjson|json|split|zip] [--seed 0]

``--mb`` is the size of the JSON text (for ``zip`` and ``split`` the uncompressed size of the
members). Output is streamed record by record with orjson, so memory stays constant whatever the
size. The same ``--seed`` always gives the same bytes, and a smaller ``--mb`` gives a prefix of the
records of a larger one.

The content follows docs/format.md §1-§4: image assets with 1-30 boxes, polygons and points (some
with a nested radio that has a nested text), global radio / checkbox / tree-dropdown
classifications, single and group relations, a three-snapshot ``stageHistory`` (Start, Label,
Review) whose snapshots have their own tools, annotation ``metadata`` whose timestamps are ISO
strings or epoch-ms integers, ``contextData`` and asset ``metadata`` keys, and about 2% video assets
whose tracks are exported one entry per frame (``page``, ``interpolationStopped`` on the last
frame).

Importable: ``make_records(n, seed)`` yields the first ``n`` records, for small test fixtures.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson

__all__ = ["generate_records", "main", "make_records", "write_export"]

_EPOCH = datetime(2024, 11, 1, 8, 0, 0, tzinfo=timezone.utc)
_USERS = [f"annotator{i}@example.org" for i in range(1, 9)] + ["qa@example.org"]
_STAGES = ("Start", "Label", "Review")
_SPLIT_MEMBER_BYTES = 64 * 2**20

# A fixed ontology: schema ids are constants so that every export of every seed agrees.
_BOX_CLASSES = [("c0ffee00112233445566778", "car"), ("c0ffee00112233445566779", "pedestrian")]
_POLYGON_CLASS = ("a1a1a1a1a1a1a1a1a1a1a1a", "road")
_POINT_CLASS = ("b2b2b2b2b2b2b2b2b2b2b2b", "keypoint")
_OCCLUDED = ("0dd0dd0dd0dd0dd0dd0dd0d", "occluded", ["yes", "no", "partly"])
_OCCLUDED_NOTE = ("0dd0dd0dd0dd0dd0dd0dd0e", "note")
_WEATHER = ("9a9a9a9a9a9a9a9a9a9a9a9", "Weather", ["Sun", "Rain", "Fog", "Snow"])
_WEATHER_NOTE = ("8b8b8b8b8b8b8b8b8b8b8b8", "Notes")
_VISIBLE = ("1c1c1c1c1c1c1c1c1c1c1c1", "Visible", ["headlights", "plates", "signs", "faces"])
_TAXONOMY = (
    "3e3e3e3e3e3e3e3e3e3e3e3",
    "Taxonomy",
    ["Vehicle / Car / Sedan", "Vehicle / Car / SUV", "Vehicle / Truck", "Person / Adult"],
)
_LIGHTING = ("5a5a5a5a5a5a5a5a5a5a5a5", "Lighting", ["Day", "Dusk", "Night"])
_DRIVES = ("s1s1s1s1s1s1s1s1s1s1s12", "drives")
_FAMILY = ("s2s2s2s2s2s2s2s2s2s2s23", "same-family")
_NOTES = ["light drizzle", "glare on lens", "partly hidden by a tree", "", "see ticket #4411"]


class _Gen:
    """State of one deterministic generator: a seeded RNG and a counter for ids."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.count = 0

    def oid(self) -> str:
        # 24 hex digits like Mongo ObjectIds; a counter keeps them unique within the export.
        self.count += 1
        return f"{self.seed & 0xFFFF:04x}{self.count:010x}{self.rng.getrandbits(40):010x}"

    def when(self, base: datetime, spread_s: float) -> datetime:
        return base + timedelta(seconds=self.rng.uniform(0, spread_s))

    def audit(self, at: datetime, stage: str) -> dict[str, Any]:
        # §1.5: documented as epoch-ms ints, printed as ISO strings; produce both.
        created: Any = _iso(at) if self.rng.random() < 0.8 else int(at.timestamp() * 1000)
        meta: dict[str, Any] = {
            "createdAt": created,
            "createdBy": self.rng.choice(_USERS),
            "createdIn": stage,
        }
        if self.rng.random() < 0.2:
            later = at + timedelta(seconds=self.rng.uniform(1, 600))
            meta["updatedAt"] = _iso(later)
            meta["updatedBy"] = self.rng.choice(_USERS)
            meta["updatedIn"] = "Review"
        return meta


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _r(x: float) -> float:
    return round(x, 3)


def _nested_radio(g: _Gen, at: datetime, stage: str) -> dict[str, Any]:
    schema, title, options = _OCCLUDED
    answer = g.rng.choice(options)
    nested = []
    if answer != "no":
        nested.append(
            {
                "objectId": g.oid(),
                "schemaId": _OCCLUDED_NOTE[0],
                "tool": "text",
                "title": _OCCLUDED_NOTE[1],
                "answer": g.rng.choice(_NOTES),
                "classifications": [],
                "metadata": g.audit(at, stage),
            }
        )
    return {
        "objectId": g.oid(),
        "schemaId": schema,
        "tool": "radio",
        "title": title,
        "answer": answer,
        "classifications": nested,
        "metadata": g.audit(at, stage),
    }


def _image_tool(g: _Gen, w: int, h: int, at: datetime, stage: str) -> dict[str, Any]:
    rng = g.rng
    kind = rng.random()
    tool: dict[str, Any]
    if kind < 0.55:
        schema, title = rng.choice(_BOX_CLASSES)
        bw, bh = rng.uniform(5, w / 3), rng.uniform(5, h / 3)
        x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
        if rng.random() < 0.1:  # §2.2: x/y is the first-clicked corner; sizes may be negative
            x, bw = x + bw, -bw
        box = {"x": _r(x), "y": _r(y), "width": _r(bw), "height": _r(bh)}
        tool = {"bounding-box": box, "schemaId": schema, "title": title}
    elif kind < 0.85:
        cx, cy, rad = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(10, min(w, h) / 4)
        n = rng.randint(3, 24)
        ring = [
            [_r(cx + rad * rng.uniform(0.6, 1.0) * c), _r(cy + rad * rng.uniform(0.6, 1.0) * s)]
            for c, s in _CIRCLE[n]
        ]
        tool = {"polygon": ring, "schemaId": _POLYGON_CLASS[0], "title": _POLYGON_CLASS[1]}
    else:
        point = [_r(rng.uniform(0, w)), _r(rng.uniform(0, h))]
        tool = {"point": point, "schemaId": _POINT_CLASS[0], "title": _POINT_CLASS[1]}
    tool["objectId"] = g.oid()
    tool["classifications"] = [_nested_radio(g, at, stage)] if rng.random() < 0.4 else []
    tool["metadata"] = g.audit(at, stage)
    return tool


def _circle(n: int) -> list[tuple[float, float]]:
    import math

    return [(math.cos(2 * math.pi * i / n), math.sin(2 * math.pi * i / n)) for i in range(n)]


_CIRCLE = {n: _circle(n) for n in range(3, 25)}


def _global_classifications(g: _Gen, at: datetime, stage: str, video_frames: int) -> list[dict]:
    rng = g.rng
    out: list[dict[str, Any]] = []
    schema, title, options = _WEATHER
    weather = rng.choice(options)
    out.append(
        {
            "objectId": g.oid(),
            "schemaId": schema,
            "tool": "radio",
            "title": title,
            "answer": weather,
            "classifications": [
                {
                    "objectId": g.oid(),
                    "schemaId": _WEATHER_NOTE[0],
                    "tool": "text",
                    "title": _WEATHER_NOTE[1],
                    "answer": rng.choice(_NOTES),
                    "classifications": [],
                }
            ]
            if weather != "Sun"
            else [],
            "metadata": g.audit(at, stage),
        }
    )
    schema, title, options = _VISIBLE
    out.append(
        {
            "objectId": g.oid(),
            "schemaId": schema,
            "tool": "checkbox",
            "title": title,
            "answer": rng.sample(options, rng.randint(1, len(options))),
            "classifications": [],
            "metadata": g.audit(at, stage),
        }
    )
    if rng.random() < 0.7:
        schema, title, options = _TAXONOMY
        out.append(
            {
                "objectId": g.oid(),
                "schemaId": schema,
                "tool": "tree-dropdown",
                "title": title,
                "answer": rng.sample(options, rng.randint(1, 2)),
                "classifications": [],
            }
        )
    if video_frames:  # frame-specific classifications carry a page (§2.3)
        schema, title, options = _LIGHTING
        for page in sorted(rng.sample(range(video_frames), min(3, video_frames))):
            out.append(
                {
                    "objectId": g.oid(),
                    "schemaId": schema,
                    "tool": "single-dropdown",
                    "title": title,
                    "answer": rng.choice(options),
                    "page": page,
                    "classifications": [],
                }
            )
    return out


def _relations(g: _Gen, tools: list[dict], page: bool) -> list[dict]:
    ids = list(dict.fromkeys(t["objectId"] for t in tools))
    rels: list[dict[str, Any]] = []
    if len(ids) >= 2 and g.rng.random() < 0.5:
        a, b = g.rng.sample(ids, 2)
        rel = {
            "objectId": g.oid(),
            "schemaId": _DRIVES[0],
            "title": _DRIVES[1],
            "from": a,
            "to": b,
            "direction": g.rng.choice(["straight", "reverse", "bidirectional"]),
        }
        if page:
            rel["page"] = 0
        rels.append(rel)
    if len(ids) >= 3 and g.rng.random() < 0.3:
        rels.append(
            {
                "objectId": g.oid(),
                "schemaId": _FAMILY[0],
                "title": _FAMILY[1],
                "group": g.rng.sample(ids, g.rng.randint(2, min(5, len(ids)))),
            }
        )
    return rels


def _video_tools(g: _Gen, w: int, h: int, frames: int, at: datetime, stage: str) -> list[dict]:
    rng = g.rng
    tools: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 4)):
        schema, title = rng.choice(_BOX_CLASSES)
        track = g.oid()
        start = rng.randrange(frames - 1)  # frames >= 60, so every track has 2+ frames
        length = rng.randint(2, min(60, frames - start))
        x, y = rng.uniform(0, w * 0.7), rng.uniform(0, h * 0.7)
        bw, bh = rng.uniform(20, w * 0.2), rng.uniform(20, h * 0.2)
        meta = g.audit(at, stage)
        for i in range(length):
            x, y = x + rng.uniform(-3, 3), y + rng.uniform(-2, 2)
            entry: dict[str, Any] = {
                "bounding-box": {"x": _r(x), "y": _r(y), "width": _r(bw), "height": _r(bh)},
                "objectId": track,
                "schemaId": schema,
                "title": title,
                "page": start + i,
                "classifications": [],
                "metadata": meta,
            }
            if i == length - 1:
                entry["interpolationStopped"] = True
            tools.append(entry)
    return tools


def _answer(g: _Gen, w: int, h: int, frames: int, at: datetime, stage: str) -> dict[str, Any]:
    if frames:
        tools = _video_tools(g, w, h, frames, at, stage)
    else:
        tools = [_image_tool(g, w, h, at, stage) for _ in range(g.rng.randint(1, 30))]
    return {
        "tools": tools,
        "classifications": _global_classifications(g, at, stage, frames),
        "relations": _relations(g, tools, page=bool(frames)),
    }


def generate_records(seed: int = 0) -> Iterator[dict[str, Any]]:
    """Yield synthetic v3 asset records forever, deterministically for ``seed``."""
    g = _Gen(seed)
    rng = g.rng
    for n in itertools.count():
        video = rng.random() < 0.02
        w, h = rng.choice([(1920, 1080), (1280, 720), (640, 480), (4000, 3000)])
        frames = rng.randint(60, 600) if video else 0
        start = g.when(_EPOCH, 30 * 86400)
        name = f"clip-{n:07d}.mp4" if video else f"img-{n:07d}.jpg"
        metadata: dict[str, Any] = {"width": w, "height": h}
        if video:
            metadata.update(frameTotal=frames, frameRate=rng.choice([24, 25, 30]))
        history = []
        at = start
        for stage in _STAGES:
            duration = 0 if stage == "Start" else rng.randint(2_000, 600_000)
            at = at + timedelta(milliseconds=duration)
            snap: dict[str, Any] = {
                "stage": stage,
                "stageId": stage,
                "duration": duration,
                "completedAt": _iso(at),
            }
            if stage != "Start":
                snap["completedBy"] = rng.choice(_USERS)
            if stage == "Start" and rng.random() < 0.7:
                snap.update(tools=[], classifications=[], relations=[])
            else:
                snap.update(_answer(g, w, h, frames, at, stage))
            if rng.random() < 0.1:
                snap["brushDataUrl"] = f"https://bucket.example.org/brush/{g.oid()}.png?X-Sig=abc"
            history.append(snap)
        updated = at + timedelta(seconds=rng.uniform(1, 3600))
        task: dict[str, Any] = {
            "taskId": g.oid(),
            "stage": "Complete",
            "stageId": "Complete",
            "updatedAt": _iso(updated),
            "updatedBy": rng.choice(_USERS),
            "totalDuration": sum(s["duration"] for s in history),
            **_answer(g, w, h, frames, updated, "Review"),
            "stageHistory": history,
        }
        if rng.random() < 0.1:
            task["consensusAverage"] = rng.randint(0, 100)
        record: dict[str, Any] = {
            "asset": f"https://files.example.org/p{seed}/{name}",
            "externalId": name,
            "metadata": metadata,
            "batches": rng.sample(["pilot", "batch-1", "batch-2", "night"], rng.randint(0, 2)),
            "contextData": {"site": rng.choice(["north-gate", "depot", "lab"]), "run": n // 100},
            "task": task,
        }
        yield record


def make_records(n: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """Yield the first ``n`` records of ``generate_records(seed)`` (small test fixtures)."""
    return itertools.islice(generate_records(seed), n)


def _count_objects(record: dict[str, Any]) -> int:
    return len(record["task"]["tools"])


class _Stats:
    def __init__(self) -> None:
        self.bytes = 0
        self.assets = 0
        self.objects = 0


def _write_json_array(fh: Any, records: Iterator[dict], limit: int, stats: _Stats) -> None:
    # Compact, no newlines: the hardest case for a streaming reader (one 300 MB line).
    fh.write(b"[")
    written = 1
    first = True
    for rec in records:
        data = orjson.dumps(rec)
        if not first:
            fh.write(b",")
            written += 1
        fh.write(data)
        first = False
        written += len(data)
        stats.assets += 1
        stats.objects += _count_objects(rec)
        if written + 1 >= limit:
            break
    fh.write(b"]")
    stats.bytes += written + 1


def _write_ndjson(fh: Any, records: Iterator[dict], limit: int, stats: _Stats) -> None:
    written = 0
    for rec in records:
        data = orjson.dumps(rec, option=orjson.OPT_APPEND_NEWLINE)
        fh.write(data)
        written += len(data)
        stats.assets += 1
        stats.objects += _count_objects(rec)
        if written >= limit:
            break
    stats.bytes += written


def write_export(out: str | Path, mb: float, fmt: str = "ndjson", seed: int = 0) -> dict[str, int]:
    """Write at least ``mb`` MiB of JSON text to ``out``; return bytes, assets, objects, members."""
    limit = max(1, int(mb * 2**20))
    records = generate_records(seed)
    stats = _Stats()
    members = 0
    out = Path(out)
    if fmt == "ndjson":
        with out.open("wb") as fh:
            _write_ndjson(fh, records, limit, stats)
    elif fmt == "json":
        with out.open("wb") as fh:
            _write_json_array(fh, records, limit, stats)
    elif fmt in ("zip", "split"):
        # zip: what GET /export delivers for format=json (one member); split: several members.
        per_member = limit if fmt == "zip" else min(limit, _SPLIT_MEMBER_BYTES)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            while stats.bytes < limit:
                name = "export.json" if fmt == "zip" else f"export-{members + 1:05d}.json"
                with zf.open(name, "w", force_zip64=True) as fh:
                    _write_json_array(fh, records, min(per_member, limit - stats.bytes), stats)
                members += 1
    else:
        raise ValueError(f"unknown format {fmt!r}: use ndjson, json, split or zip")
    return {
        "bytes": stats.bytes,
        "file_bytes": out.stat().st_size,
        "assets": stats.assets,
        "objects": stats.objects,
        "members": members,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="file to write")
    parser.add_argument("--mb", type=float, default=100, help="MiB of JSON text to write")
    parser.add_argument("--format", default="ndjson", choices=["ndjson", "json", "split", "zip"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    stats = write_export(args.out, args.mb, args.format, args.seed)
    took = time.perf_counter() - t0
    print(
        f"wrote {args.out}: {stats['bytes']:,} bytes of JSON ({stats['file_bytes']:,} on disk), "
        f"{stats['assets']:,} assets, {stats['objects']:,} objects, format={args.format}"
        + (f", {stats['members']} member(s)" if stats["members"] else "")
        + f" in {took:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
