"""Answers for the demo project, drawn from one seeded generator.

Geometry stays inside the image; a few boxes are drawn from the right (negative width, as real
exports show them); segmentations carry no annotation metadata (the hub never exports it); the
reviewer's pass moves boxes, changes answers and deletes objects (with their relations).
"""

from __future__ import annotations

import math
import random
from datetime import datetime
from typing import Any

from ango_frames.testing.copying import tree_copy
from ango_frames.testing.store import Store, iso

__all__ = ["AnswerMaker"]


class AnswerMaker:
    """Builds answers from one seeded generator, so the demo is the same on every run."""

    def __init__(self, rng: random.Random, store: Store, onto: dict[str, Any]) -> None:
        self.rng, self.store, self.o = rng, store, onto

    def r(self, lo: float, hi: float) -> float:
        return round(self.rng.uniform(lo, hi), 2)

    def meta(self, when: datetime, who: str, stage: str = "Label") -> dict[str, Any]:
        return {"createdAt": iso(when), "createdBy": who, "createdIn": stage}

    def obj(self, title: str, geometry: Any, meta: dict[str, Any], **extra: Any) -> dict[str, Any]:
        entry = self.o["tools"][title]
        key = entry["tool"]
        item = {key: geometry, "objectId": self.store.new_id(), "schemaId": entry["schemaId"]}
        item.update(title=title, classifications=[], metadata=dict(meta), **extra)
        return item

    def cls(
        self,
        title: str,
        answer: Any,
        meta: dict[str, Any],
        nested: list[Any] | None = None,
        entry: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        entry = entry or self.o["classifications"][title]
        return {
            "objectId": self.store.new_id(),
            "schemaId": entry["schemaId"],
            "tool": entry["tool"],
            "title": title,
            "answer": answer,
            "metadata": dict(meta),
            "classifications": nested or [],
        }

    def box(self, w: int, h: int) -> dict[str, float]:
        bw, bh = self.r(20, min(260, w / 3)), self.r(20, min(260, h / 3))
        x, y = self.r(0, w - bw), self.r(0, h - bh)
        if self.rng.random() < 0.08:  # drawn from the right: the exported origin is that corner
            return {"x": round(x + bw, 2), "y": y, "width": -bw, "height": bh}
        return {"x": x, "y": y, "width": bw, "height": bh}

    def ring(self, cx: float, cy: float, radius: float, n: int) -> list[list[float]]:
        step = 2 * math.pi / n
        return [
            [
                round(cx + radius * self.rng.uniform(0.6, 1) * math.cos(i * step), 2),
                round(cy + radius * self.rng.uniform(0.6, 1) * math.sin(i * step), 2),
            ]
            for i in range(n)
        ]

    def car(self, box: dict[str, float], meta: dict[str, Any], **extra: Any) -> dict[str, Any]:
        occluded = self.o["car_occluded"]
        yes = self.rng.random() < 0.3
        nested = (
            [
                self.cls(
                    "note",
                    f"behind {self.rng.choice(['a van', 'a tree', 'a sign'])}",
                    meta,
                    entry=self.o["car_note"],
                )
            ]
            if yes
            else []
        )
        item = self.obj("car", box, meta, **extra)
        item["classifications"] = [
            self.cls("occluded", "yes" if yes else "no", meta, nested, occluded)
        ]
        return item

    def image_answer(self, w: int, h: int, when: datetime, who: str) -> dict[str, list[Any]]:
        rng, meta = self.rng, self.meta(when, who)
        tools = [self.car(self.box(w, h), meta) for _ in range(rng.randint(0, 3))]
        persons = [self.obj("person", self.box(w, h), meta) for _ in range(rng.randint(0, 3))]
        tools += persons
        if rng.random() < 0.35:
            x, y, bw, bh = self.r(50, w / 2), self.r(50, h / 2), self.r(20, 120), self.r(10, 60)
            rot = self.r(-179, 180)
            corners = [[x, y], [x + bw, y], [x + bw, y + bh], [x, y + bh]]
            c, s = math.cos(math.radians(rot)), math.sin(math.radians(rot))
            corners = [
                [
                    round(x + (px - x) * c - (py - y) * s, 2),
                    round(y + (px - x) * s + (py - y) * c, 2),
                ]
                for px, py in corners
            ]
            geo = {"x": x, "y": y, "width": bw, "height": bh, "rotation": rot, "corners": corners}
            tools.append(self.obj("sign", geo, meta))
        if rng.random() < 0.35:
            tools.append(
                self.obj(
                    "building", self.ring(w / 2, h / 2, min(w, h) / 4, rng.randint(3, 8)), meta
                )
            )
        if rng.random() < 0.3:
            line = [[self.r(0, w), self.r(0, h)] for _ in range(rng.randint(2, 5))]
            tools.append(self.obj("lane", line, meta))
        if rng.random() < 0.3:
            tools.append(self.obj("landmark", [self.r(0, w), self.r(0, h)], meta))
        if rng.random() < 0.25:
            zones = [
                {
                    "region": self.ring(w / 3, h / 3, 80, 5),
                    "holes": [self.ring(w / 3, h / 3, 15, 3)] if rng.random() < 0.5 else [],
                }
                for _ in range(rng.randint(1, 2))
            ]
            road = self.obj("road", {"zones": zones}, meta)
            road.pop("metadata")  # the hub never exports metadata on segmentations
            tools.append(road)
        return {
            "tools": tools,
            "classifications": self.globals(meta),
            "relations": self.relations(tools, persons),
        }

    def globals(self, meta: dict[str, Any]) -> list[dict[str, Any]]:
        rng, o = self.rng, self.o
        out = [self.cls("weather", rng.choice(o["values"]["weather"]), meta)]
        if rng.random() < 0.8:
            out.append(
                self.cls(
                    "visible", sorted(rng.sample(o["values"]["visible"], rng.randint(1, 3))), meta
                )
            )
        if rng.random() < 0.5:
            out.append(
                self.cls("caption", rng.choice(["busy street", "quiet road", "parking lot"]), meta)
            )
        out.append(self.cls("lighting", rng.choice(o["values"]["lighting"]), meta))
        if rng.random() < 0.6:
            out.append(
                self.cls("surfaces", rng.sample(o["values"]["surfaces"], rng.randint(1, 2)), meta)
            )
        if rng.random() < 0.7:
            out.append(
                self.cls("taxonomy", rng.sample(o["values"]["taxonomy"], rng.randint(1, 2)), meta)
            )
        out.append(self.cls("blurry", rng.random() < 0.2, meta))
        if rng.random() < 0.5:
            out.append(self.cls("priority", rng.sample(o["values"]["priority"], 3), meta))
        return out

    def relations(self, tools: list[Any], persons: list[Any]) -> list[dict[str, Any]]:
        cars = [t for t in tools if t["title"] == "car"]
        out = []
        if persons and cars and self.rng.random() < 0.6:
            entry = self.o["relations"]["drives"]
            out.append(
                {
                    "objectId": self.store.new_id(),
                    "schemaId": entry["schemaId"],
                    "title": "drives",
                    "from": persons[0]["objectId"],
                    "to": cars[0]["objectId"],
                    "direction": self.rng.choice(
                        ["straight", "straight", "reverse", "bidirectional"]
                    ),
                }
            )
        if len(persons) >= 2:
            entry = self.o["relations"]["same-family"]
            out.append(
                {
                    "objectId": self.store.new_id(),
                    "schemaId": entry["schemaId"],
                    "title": "same-family",
                    "group": [p["objectId"] for p in persons],
                }
            )
        return out

    def review(
        self, answer: dict[str, list[Any]], when: datetime, who: str
    ) -> dict[str, list[Any]]:
        """What a reviewer leaves: a moved box, a changed answer, a deleted object (a few each)."""
        out = tree_copy(answer)
        upd = {"updatedAt": iso(when), "updatedBy": who, "updatedIn": "Review"}
        boxes = [t for t in out["tools"] if "bounding-box" in t]
        if boxes and self.rng.random() < 0.5:
            moved = self.rng.choice(boxes)
            moved["bounding-box"]["x"] = round(moved["bounding-box"]["x"] + self.r(2, 15), 2)
            moved["metadata"].update(upd)
        if self.rng.random() < 0.3:
            weather = out["classifications"][0]
            weather["answer"] = self.rng.choice(
                [v for v in self.o["values"]["weather"] if v != weather["answer"]]
            )
            weather["metadata"].update(upd)
        if out["tools"] and self.rng.random() < 0.3:
            gone = out["tools"].pop(self.rng.randrange(len(out["tools"])))["objectId"]
            out["relations"] = [
                r
                for r in out["relations"]
                if gone not in (r.get("from"), r.get("to"), *r.get("group", []))
            ]
        return out
