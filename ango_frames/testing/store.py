"""The local hub's state: projects, assets, tasks, attachments and issues, behind one lock.

Answers are stored the way the hub stores them: annotations under ``tools`` (an import's
``objects`` are renamed on the way in), classification answers as option values, annotation
``metadata`` kept on each entry (the exporter drops it unless ``includeMetadata=true``), and video
tracks as key frames only (the exporter interpolates the frames between them).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ango_frames.errors import ConfigError
from ango_frames.testing.copying import tree_copy

__all__ = [
    "Asset",
    "Project",
    "Store",
    "Task",
    "default_stages",
    "iso",
    "normalize_answer",
    "now_iso",
    "parse_iso",
]

HUB_USER = "localhub@example.org"  # who imports and API annotations are attributed to


def iso(dt: datetime) -> str:
    """``2024-11-01T08:00:00.000Z``: the millisecond UTC form real exports use."""
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def now_iso() -> str:
    return iso(datetime.now(timezone.utc))


def parse_iso(text: str) -> datetime:
    """Parse an ISO-8601 timestamp; a trailing ``Z`` and naive values mean UTC.

    Raises ValueError on anything else, so callers can turn it into a 400.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected an ISO-8601 string, got {type(text).__name__}")
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # Python 3.10's fromisoformat accepts only 3 or 6 fractional digits; pad or cut to 6.
    head, sep, frac = value.partition(".")
    if sep:
        digits = len(frac) - len(frac.lstrip("0123456789"))
        frac = frac[:digits][:6].ljust(6, "0") + frac[digits:]
        value = f"{head}.{frac}"
    dt = datetime.fromisoformat(value)
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def default_stages() -> list[dict[str, Any]]:
    """Start -> Label -> Complete, with stage ids equal to their names (as the hub creates them)."""
    return [
        {"id": "Start", "name": "Start", "type": "start", "next": ["Label"]},
        {"id": "Label", "name": "Label", "type": "label", "next": ["Complete"]},
        {"id": "Complete", "name": "Complete", "type": "complete", "next": []},
    ]


def normalize_answer(answer: dict[str, Any] | None) -> dict[str, Any]:
    """A deep copy of ``answer`` as ``{tools, classifications, relations}`` (and mask URLs).

    Imports and ``/annotate`` send annotations under ``objects``; the stored answer and v3 exports
    call them ``tools``. Either key is accepted here.
    """
    answer = answer or {}
    tools = answer.get("objects", answer.get("tools", []))
    out: dict[str, Any] = {
        "tools": tree_copy(list(tools or [])),
        "classifications": tree_copy(list(answer.get("classifications") or [])),
        "relations": tree_copy(list(answer.get("relations") or [])),
    }
    for key in ("brushDataUrl", "medicalBrushDataUrl"):  # mask URLs beside the objects
        if isinstance(answer.get(key), str):
            out[key] = answer[key]
    return out


@dataclass
class Task:
    """One label task (v3: exactly one per asset)."""

    id: str
    asset_id: str
    stage_id: str
    answer: dict[str, Any]
    created_at: str
    updated_at: str
    updated_by: str | None = None
    total_duration: int = 0
    stage_history: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None
    assignee: str | None = None
    priority: int = 0
    completed_at: str | None = None


@dataclass
class Asset:
    """One asset and its task. ``batches`` holds batch ids; exports show their names."""

    id: str
    external_id: str
    url: str
    metadata: dict[str, Any]
    context_data: dict[str, Any]
    batches: list[str]
    created_at: str
    task: Task
    dataset: list[str] | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_video(self) -> bool:
        return "frameTotal" in self.metadata


@dataclass
class Project:
    """A project: ontology (``categorySchema``), workflow stages, batches, assets and issues."""

    id: str
    name: str
    ontology: dict[str, list[Any]]
    stages: list[dict[str, Any]]
    batches: list[dict[str, Any]]
    created_at: str
    description: str = ""
    assets: dict[str, Asset] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)
    # externalId -> assets, rebuilt when the asset count changes (imports of 10k labels against
    # 10k assets were quadratic without it)
    _by_external: dict[str, list[Asset]] = field(default_factory=dict, repr=False, compare=False)
    _indexed: int = field(default=-1, repr=False, compare=False)

    def by_external_id(self, external_id: str) -> list[Asset]:
        """Every asset with that externalId, in insertion order."""
        if self._indexed != len(self.assets):
            index: dict[str, list[Asset]] = {}
            for asset in self.assets.values():
                index.setdefault(asset.external_id, []).append(asset)
            self._by_external, self._indexed = index, len(self.assets)
        return list(self._by_external.get(external_id, ()))

    def stage(self, id_or_name: str) -> dict[str, Any] | None:
        """The stage with that id or, failing that, that name."""
        for stage in self.stages:
            if stage["id"] == id_or_name:
                return stage
        return next((s for s in self.stages if s["name"] == id_or_name), None)

    def batch_ids(self, ids_or_names: list[str]) -> list[str]:
        """Batch ids for ids or names; unknown ones raise ConfigError."""
        out = []
        for key in ids_or_names:
            match = next((b for b in self.batches if key in (b["_id"], b["name"])), None)
            if match is None:
                raise ConfigError(f"project {self.id}: no batch {key!r}")
            out.append(match["_id"])
        return out

    def batch_names(self, ids: list[str]) -> list[str]:
        names = {b["_id"]: b["name"] for b in self.batches}
        return [names.get(i, i) for i in ids]

    def resource(self) -> dict[str, Any]:
        """The ``data.project`` object of ``GET /project/{id}``."""
        return {
            "_id": self.id,
            "name": self.name,
            "description": self.description,
            "type": "ango",
            "categorySchema": tree_copy(self.ontology),
            "stages": tree_copy(self.stages),
            "batches": tree_copy(self.batches),
            "consensusCount": 1,
            "deleted": False,
            "assetCount": len(self.assets),
            "createdAt": self.created_at,
            "assignedTo": [],
            "role": "Manager",
        }


class Store:
    """Every project of one hub, guarded by ``lock`` (re-entrant; take it for multi-step reads).

    Ids come from a seeded generator, so the same sequence of calls yields the same ids.
    """

    def __init__(self, seed: int = 0) -> None:
        self.lock = threading.RLock()
        self.projects: dict[str, Project] = {}
        self.tasks: dict[str, tuple[str, str]] = {}  # task id -> (project id, asset id)
        self.applications: Counter[str] = Counter()  # asset id -> labels applied
        self._rng = random.Random(f"ango-frames-store:{seed}")  # apart from the demo data
        # pictures the hub serves: URL path -> (width, height, tools drawn); asset URLs that
        # start with "/" are paths on the hub, exported under ``asset_base`` (its base URL)
        self.pictures: dict[str, tuple[int, int, list[dict[str, Any]]]] = {}
        self.asset_base = ""

    def clone(self) -> Store:
        """A store equal to this one in every field that shares no mutable part with it.

        Its id generator stands where this one's does, so both give the same ids from here on.
        """
        with self.lock:
            new = Store.__new__(Store)
            for name, value in vars(self).items():
                if name == "lock":
                    value = threading.RLock()
                elif name == "_rng":
                    value = random.Random()
                    value.setstate(self._rng.getstate())
                else:
                    value = tree_copy(value)
                setattr(new, name, value)
        return new

    def new_id(self) -> str:
        """A 24-hex-digit id, shaped like the hub's Mongo ObjectIds."""
        with self.lock:
            return f"{self._rng.getrandbits(96):024x}"

    def project(self, project_id: str) -> Project:
        with self.lock:
            try:
                return self.projects[project_id]
            except KeyError:
                raise KeyError(f"no project {project_id!r} on this hub") from None

    def add_project(
        self,
        name: str = "Local project",
        *,
        ontology: dict[str, list[Any]] | None = None,
        stages: list[dict[str, Any]] | None = None,
        batches: list[str | dict[str, Any]] = (),  # type: ignore[assignment]
        project_id: str | None = None,
        created_at: str | None = None,
        description: str = "",
    ) -> Project:
        """Create a project; batches may be names (ids are generated) or ``{_id, name}`` dicts."""
        with self.lock:
            pid = project_id or self.new_id()
            if pid in self.projects:
                raise ConfigError(f"project {pid!r} already exists")
            schema: dict[str, list[Any]] = {"tools": [], "classifications": [], "relations": []}
            schema.update(tree_copy(ontology or {}))
            batch_list = [
                dict(b) if isinstance(b, dict) else {"_id": self.new_id(), "name": b}
                for b in batches
            ]
            project = Project(
                id=pid,
                name=name,
                ontology=schema,
                stages=tree_copy(stages) if stages else default_stages(),
                batches=batch_list,
                created_at=created_at or now_iso(),
                description=description,
            )
            self.projects[pid] = project
            return project

    def add_asset(
        self,
        project_id: str,
        external_id: str,
        *,
        url: str | None = None,
        metadata: dict[str, Any] | None = None,
        context_data: dict[str, Any] | None = None,
        batches: list[str] = (),  # type: ignore[assignment]
        stage: str = "Start",
        answer: dict[str, Any] | None = None,
        dataset: list[str] | None = None,
        stage_history: list[dict[str, Any]] | None = None,
        created_at: str | None = None,
        updated_at: str | None = None,
        updated_by: str | None = None,
        total_duration: int = 0,
        asset_id: str | None = None,
        task_id: str | None = None,
    ) -> Asset:
        """Add an asset and its task. ``stage`` and ``batches`` take ids or names."""
        with self.lock:
            project = self.project(project_id)
            stage_obj = project.stage(stage)
            if stage_obj is None:
                raise ConfigError(f"project {project_id}: no stage {stage!r}")
            aid = asset_id or self.new_id()
            tid = task_id or self.new_id()
            if aid in project.assets or tid in self.tasks:
                raise ConfigError(f"asset {aid!r} or task {tid!r} already exists")
            created = created_at or now_iso()
            task = Task(
                id=tid,
                asset_id=aid,
                stage_id=stage_obj["id"],
                answer=normalize_answer(answer),
                created_at=created,
                updated_at=updated_at or created,
                updated_by=updated_by,
                total_duration=total_duration,
                stage_history=tree_copy(stage_history or []),
            )
            asset = Asset(
                id=aid,
                external_id=external_id,
                url=url or (dataset[0] if dataset else f"https://assets.example.org/{external_id}"),
                metadata=tree_copy(metadata or {}),
                context_data=tree_copy(context_data or {}),
                batches=project.batch_ids(list(batches)),
                created_at=created,
                task=task,
                dataset=list(dataset) if dataset else None,
            )
            project.assets[aid] = asset
            self.tasks[tid] = (project_id, aid)
            return asset

    def find_assets(
        self, project: Project, asset_id: str | None, external_id: str | None
    ) -> list[Asset]:
        """The asset with ``asset_id``, else all assets with ``external_id`` (as the hub does)."""
        if asset_id is not None:
            asset = project.assets.get(asset_id)
            return [asset] if asset is not None else []
        return project.by_external_id(external_id) if external_id is not None else []

    def task(self, task_id: str) -> tuple[Project, Asset]:
        with self.lock:
            pid, aid = self.tasks[task_id]
            project = self.projects[pid]
            return project, project.assets[aid]

    def counted(self, key: str) -> int:
        """Labels applied to the asset with id ``key``, or to all assets with externalId ``key``."""
        with self.lock:
            if key in self.applications:
                return self.applications[key]
            return sum(
                self.applications[a.id]
                for p in self.projects.values()
                for a in p.assets.values()
                if a.external_id == key
            )
