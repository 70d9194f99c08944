"""The demo project's ontology (``categorySchema``) and workflow stages.

Every tool type the hub exports as geometry, every classification type (radio, checkbox, text,
single-dropdown, multi-dropdown, tree-dropdown, boolean, rank), a classification nested under an
option of another one (``parentOptionId``), and both relation kinds.
"""

from __future__ import annotations

import random
from typing import Any

__all__ = ["TEXT", "build_ontology"]

TEXT = "Acme Inc hired Jane Doe in Berlin on Monday."
TREE = {"Vehicle": {"Car": {"Sedan": {}, "SUV": {}}, "Truck": {}}, "Animal": {"Dog": {}, "Cat": {}}}


def build_ontology(rng: random.Random) -> dict[str, Any]:
    """The schema plus lookups the demo builder uses (entries by title, answer values, stages)."""

    def sid() -> str:
        return f"{rng.getrandbits(92):023x}"  # schemaIds are 23 hex digits in real projects

    def options(values: list[str]) -> list[dict[str, str]]:
        return [{"value": v, "schemaId": sid()} for v in values]

    def entry(tool: str, title: str, values: list[str] = (), **extra: Any) -> dict[str, Any]:  # type: ignore[assignment]
        out = {
            "tool": tool,
            "title": title,
            "schemaId": sid(),
            "required": False,
            "columnField": False,
            "options": options(list(values)),
            "classifications": [],
        }
        out.update(extra)
        return out

    note = entry("text", "note")
    occluded = entry("radio", "occluded", ["yes", "no"], frameSpecific=True)
    note["parentOptionId"] = occluded["options"][0]["schemaId"]  # shown only when "yes"
    occluded["classifications"] = [note]
    tools = [
        entry("bounding-box", "car", color="#3366FF", classifications=[occluded]),
        entry("bounding-box", "person", color="#FF9900"),
        entry("rotated-bounding-box", "sign", color="#AA00FF"),
        entry("polygon", "building", color="#00AA55"),
        entry("polyline", "lane", color="#FFDD00"),
        entry("point", "landmark", color="#FF0055"),
        entry("segmentation", "road", color="#777777"),
        entry("ner", "entity", color="#00CCCC"),
    ]

    paths: list[str] = []
    tree_options: list[dict[str, Any]] = []

    def walk(node: dict[str, Any], prefix: str, into: list[dict[str, Any]]) -> None:
        for name, children in node.items():
            path = f"{prefix} / {name}" if prefix else name
            key = sid()
            paths.append(path)
            child: dict[str, Any] = {"title": name, "key": key, "value": key, "children": []}
            into.append(child)
            walk(children, path, child["children"])

    walk(TREE, "", tree_options)
    values = {
        "weather": ["sunny", "rain", "fog", "snow"],
        "visible": ["headlights", "taillights", "plate"],
        "lighting": ["day", "dusk", "night"],
        "surfaces": ["asphalt", "gravel", "dirt"],
        "taxonomy": [p for p in paths if " / " in p],
        "priority": ["safety", "speed", "comfort"],
    }
    taxonomy = entry("tree-dropdown", "taxonomy", treeOptions=tree_options)
    taxonomy["options"] = [
        {"value": p, "schemaId": t} for p, t in zip(paths, _keys(tree_options), strict=True)
    ]
    classifications = [
        entry("radio", "weather", values["weather"]),
        entry("checkbox", "visible", values["visible"]),
        entry("text", "caption"),
        entry("single-dropdown", "lighting", values["lighting"]),
        entry("multi-dropdown", "surfaces", values["surfaces"]),
        taxonomy,
        entry("boolean", "blurry"),
        entry("rank", "priority", values["priority"]),
    ]
    relations = [entry("one-to-one", "drives"), entry("group", "same-family")]
    review = (
        f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-"
        f"a{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}"
    )
    stages = [
        {"id": "Start", "name": "Start", "type": "start", "next": ["Label"]},
        {"id": "Label", "name": "Label", "type": "label", "next": [review]},
        {"id": review, "name": "Review", "type": "review", "next": ["Complete"]},
        {"id": "Complete", "name": "Complete", "type": "complete", "next": []},
    ]
    return {
        "schema": {"tools": tools, "classifications": classifications, "relations": relations},
        "tools": {t["title"]: t for t in tools},
        "classifications": {c["title"]: c for c in classifications},
        "relations": {r["title"]: r for r in relations},
        "car_occluded": occluded,
        "car_note": note,
        "values": values,
        "stages": stages,
        "stage_ids": {s["name"]: s["id"] for s in stages},
    }


def _keys(nodes: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for node in nodes:
        out.append(node["key"])
        out.extend(_keys(node["children"]))
    return out
