"""The deterministic demo project: every tool, classification and relation type, in one project.

``build_demo(store, seed)`` fills a store with a street-scene project: 300 images (two batches,
some with contextData, tasks spread over Start / Label / Review / Complete), one 48-frame video
with two tracks stored as key frames, one three-page asset and one text asset with NER spans.
Completed tasks carry a stage history Start -> Label -> Review in which reviewers moved boxes,
changed answers and deleted objects. Image assets and the pages of the multi-page asset are
served by the hub itself (``/assets/demo/...``: a generated PNG showing the labelled objects, see
``ango_frames.testing.pictures``); the video and text assets point at a fake host, never fetched.

Encodings chosen where the real format is undocumented: ``boolean`` answers are JSON booleans,
``rank`` answers are the option values in rank order (best first).
"""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from ango_frames.testing.copying import tree_copy
from ango_frames.testing.demo_answers import AnswerMaker
from ango_frames.testing.demo_ontology import TEXT, build_ontology
from ango_frames.testing.store import Store, iso

__all__ = ["IMAGE_COUNT", "build_demo", "demo_store"]

IMAGE_COUNT = 300
HOST = "https://assets.example.org/demo"
PICTURES = "/assets/demo"  # served by the hub: exports show them under its base URL
BASE = datetime(2024, 11, 1, 8, 0, tzinfo=timezone.utc)
ANNOTATORS = ("ana@example.org", "ben@example.org", "chen@example.org")
REVIEWERS = ("rita@example.org", "sam@example.org")
SIZES = ((1920, 1080), (1280, 720), (640, 480))


def _history(
    maker: AnswerMaker,
    stage: str,
    start: datetime,
    label: dict[str, Any],
    final: dict[str, Any],
    annotator: str,
    reviewer: str,
) -> tuple[list[dict[str, Any]], datetime, str | None, int]:
    """Stage-history snapshots for a task now in ``stage``; (history, updated, by, total ms)."""
    empty: dict[str, list[Any]] = {"tools": [], "classifications": [], "relations": []}
    snaps: list[dict[str, Any]] = [
        {
            "stage": "Start",
            "stageId": "Start",
            "duration": 0,
            "completedAt": iso(start),
            "answer": empty,
        }
    ]
    t, total = start, 0
    order = ["Label", "Review"] if stage == "Complete" else (["Label"] if stage == "Review" else [])
    for name in order:
        ms = maker.rng.randint(20_000, 600_000)
        t += timedelta(milliseconds=ms, hours=maker.rng.randint(1, 30))
        total += ms
        snaps.append(
            {
                "stage": name,
                "stageId": maker.o["stage_ids"][name],
                "duration": ms,
                "completedAt": iso(t),
                "completedBy": annotator if name == "Label" else reviewer,
                "answer": tree_copy(label if name == "Label" else final),
            }
        )
    if stage == "Start":
        return [], start, None, 0
    return snaps, t, snaps[-1].get("completedBy"), total


def build_demo(store: Store, seed: int = 0) -> str:
    """Add the demo project to ``store``; returns its id. Same seed, same project, byte for byte."""
    rng = random.Random(f"ango-frames-demo:{seed}")
    onto = build_ontology(rng)
    project = store.add_project(
        "Demo: street scenes",
        ontology=onto["schema"],
        stages=onto["stages"],
        batches=[{"_id": f"{rng.getrandbits(96):024x}", "name": n} for n in ("batch-a", "batch-b")],
        project_id=f"{rng.getrandbits(96):024x}",
        created_at=iso(BASE - timedelta(days=1)),
        description="Deterministic demo project of the local Ango Hub",
    )
    maker = AnswerMaker(rng, store, onto)
    for i in range(IMAGE_COUNT):
        w, h = rng.choice(SIZES)
        created = BASE + timedelta(minutes=7 * i)
        stage = rng.choices(["Start", "Label", "Review", "Complete"], weights=[1, 2, 2, 5])[0]
        annotator, reviewer = rng.choice(ANNOTATORS), rng.choice(REVIEWERS)
        label = drawn = maker.image_answer(w, h, created + timedelta(hours=2), annotator)
        if stage == "Start" or (stage == "Label" and rng.random() < 0.5):
            label = {"tools": [], "classifications": [], "relations": []}
        final = (
            maker.review(label, created + timedelta(hours=40), reviewer)
            if stage == "Complete"
            else label
        )
        history, updated, by, total = _history(
            maker, stage, created + timedelta(minutes=1), label, final, annotator, reviewer
        )
        if stage == "Label":
            history = history[:1]
        batches = rng.choice([["batch-a"], ["batch-b"], ["batch-a", "batch-b"], []])
        context = (
            {
                "site": rng.choice(["north-gate", "harbour", "ring-road"]),
                "camera": rng.randint(1, 8),
            }
            if i % 7 == 0
            else None
        )
        asset = store.add_asset(
            project.id,
            f"img-{i:04d}.jpg",
            url=f"{PICTURES}/img-{i:04d}.png",
            metadata={"width": w, "height": h},
            context_data=context,
            batches=batches,
            stage=onto["stage_ids"][stage],
            answer=final,
            stage_history=history,
            created_at=iso(created),
            updated_at=iso(updated),
            updated_by=by,
            total_duration=total,
        )
        # the picture shows the scene: the reviewed labels, or what an annotator would label
        store.pictures[f"{PICTURES}/img-{i:04d}.png"] = (w, h, (final["tools"] or drawn["tools"]))
        asset.task.assignee = annotator if stage != "Start" else None
        if stage == "Complete":
            asset.task.completed_at = iso(updated)
    _special_assets(maker, project.id)
    _issues(maker, project)
    return project.id


def _complete(
    maker: AnswerMaker, pid: str, external_id: str, answer: dict[str, Any], n: int, **kw: Any
) -> Any:
    created = BASE + timedelta(days=3, minutes=n)
    history, updated, by, total = _history(
        maker, "Complete", created, answer, answer, ANNOTATORS[n % 3], REVIEWERS[n % 2]
    )
    asset = maker.store.add_asset(
        pid,
        external_id,
        answer=answer,
        stage="Complete",
        stage_history=history,
        created_at=iso(created),
        updated_at=iso(updated),
        updated_by=by,
        total_duration=total,
        **kw,
    )
    asset.task.completed_at = iso(updated)
    asset.task.assignee = ANNOTATORS[n % 3]
    return asset


def _special_assets(maker: AnswerMaker, pid: str) -> None:
    meta = maker.meta(BASE + timedelta(days=3), ANNOTATORS[0])
    # Video: tracks as key frames; the car stops at frame 30, the person leaves at 20 and returns.
    car_id, person_id = maker.store.new_id(), maker.store.new_id()
    tools = []
    for page, x in ((0, 100.0), (12, 220.0), (30, 400.0)):
        tools.append(
            maker.car(
                {"x": x, "y": 300.0, "width": 160.0, "height": 90.0},
                meta,
                objectId=car_id,
                page=page,
            )
        )
    for page, y in ((5, 200.0), (20, 260.0), (30, 180.0), (47, 240.0)):
        tools.append(
            maker.obj(
                "person",
                {"x": 800.0, "y": y, "width": 60.0, "height": 150.0},
                meta,
                objectId=person_id,
                page=page,
            )
        )
    for t in tools:
        if (t["title"], t["page"]) in {("car", 30), ("person", 20), ("person", 47)}:
            t["interpolationStopped"] = True  # the last frame of each track segment
    drives = maker.o["relations"]["drives"]
    video = {
        "tools": tools,
        "classifications": [maker.cls("weather", "rain", meta)],
        "relations": [
            {
                "objectId": maker.store.new_id(),
                "schemaId": drives["schemaId"],
                "title": "drives",
                "from": person_id,
                "to": car_id,
                "direction": "straight",
                "page": 12,
            }
        ],
    }
    _complete(
        maker,
        pid,
        "clip-01.mp4",
        video,
        1,
        url=f"{HOST}/clip-01.mp4",
        metadata={"width": 1280, "height": 720, "frameTotal": 48, "frameRate": 24},
        batches=["batch-a"],
    )
    # Multi-page: three images, objects carry their 0-based page.
    pages = [f"{PICTURES}/scan-01/page-{n}.png" for n in (1, 2, 3)]
    multi = {
        "tools": [
            maker.car({"x": 40.0, "y": 60.0, "width": 120.0, "height": 80.0}, meta, page=0),
            maker.obj("building", maker.ring(400, 500, 120, 5), meta, page=1),
            maker.car({"x": 300.0, "y": 420.0, "width": 90.0, "height": 70.0}, meta, page=2),
        ],
        "classifications": [maker.cls("lighting", "day", meta)],
        "relations": [],
    }
    for n, url in enumerate(pages):
        on_page = [t for t in multi["tools"] if t["page"] == n]
        maker.store.pictures[url] = (1000, 1400, on_page)
    _complete(
        maker,
        pid,
        "scan-01",
        multi,
        2,
        dataset=pages,
        metadata={"width": 1000, "height": 1400},
        batches=["batch-b"],
    )
    # Text: NER spans with their selected text.
    spans = [
        maker.obj("entity", {"start": s, "end": e, "selection": TEXT[s:e]}, meta)
        for s, e in ((0, 8), (15, 23), (27, 33))
    ]
    text = {
        "tools": spans,
        "classifications": [maker.cls("caption", "hiring news", meta)],
        "relations": [],
    }
    _complete(
        maker,
        pid,
        "doc-01.txt",
        text,
        3,
        url=f"{HOST}/doc-01.txt",
        metadata={"characters": len(TEXT)},
        context_data={"language": "en"},
    )


def _issues(maker: AnswerMaker, project: Any) -> None:
    assets = list(project.assets.values())
    # three labeled images and the video
    picks = [*[a for a in assets if a.task.answer["tools"]][:3], assets[-3]]
    for n, asset in enumerate(picks):
        created = BASE + timedelta(days=4, hours=n)
        tool = asset.task.answer["tools"][0]
        issue: dict[str, Any] = {
            "_id": maker.store.new_id(),
            "title": ["Box too loose", "Wrong class", "Missed object", "Track drifts"][n],
            "content": [
                "Tighten the box",
                "This is a truck",
                "A person is missing",
                "Box drifts after frame 12",
            ][n],
            "labelTask": asset.task.id,
            "stage": "Review",
            "stageId": maker.o["stage_ids"]["Review"],
            "asset": {
                "externalId": asset.external_id,
                "batches": project.batch_names(asset.batches),
            },
            "status": ["Open", "Resolved", "Open", "Closed"][n],
            "objectId": tool["objectId"],
            "position": f"[{100 + 10 * n:.1f}, {96 + n:.1f}]",
            "errorType": "annotation",
            "errorCode": ["E-LOOSE", "E-CLASS", "E-MISSED", "E-DRIFT"][n],
            "createdBy": REVIEWERS[n % 2],
            "createdAt": iso(created),
            "updatedBy": REVIEWERS[n % 2],
            "updatedAt": iso(created + timedelta(hours=1)),
            "comments": [
                {
                    "createdBy": ANNOTATORS[n % 3],
                    "content": "Will fix",
                    "createdAt": iso(created + timedelta(minutes=30)),
                }
            ],
        }
        if asset.is_video:
            issue.update(page=12, pageEnd=20)
        if issue["status"] != "Open":
            issue.update(resolvedBy=REVIEWERS[n % 2], resolvedAt=iso(created + timedelta(hours=1)))
        project.issues.append(issue)


#: seed -> the store right after build_demo (never handed out, only cloned), the project's id
_BUILT: dict[int, tuple[Store, str]] = {}
_BUILT_LOCK = threading.Lock()


def demo_store(seed: int = 0) -> tuple[Store, str]:
    """A new store holding only the demo project, and the project's id.

    Each call returns a store of its own, equal in every field to ``build_demo(Store(seed),
    seed)`` (its id generator included, so later ids match too). The demo is built once per
    seed and process, then cloned for every further hub: a test suite makes a fresh hub for
    most tests, and building costs several times as much as a clone.
    """
    with _BUILT_LOCK:
        if seed not in _BUILT:
            store = Store(seed)
            _BUILT[seed] = (store, build_demo(store, seed))
        store, project_id = _BUILT[seed]
        return store.clone(), project_id
