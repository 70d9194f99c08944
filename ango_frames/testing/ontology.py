"""Completing imported annotations from the ontology, as the hub does on import.

A pre-label may name its class by ``schemaId`` or by ``title`` and may omit ``objectId``; the hub
fills in the rest, so that the next export carries ``objectId``, ``schemaId``, ``title`` and, for
classifications, ``tool`` on every entry. Unknown classes are kept as given (never dropped).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["complete_answer", "schema_index"]


def schema_index(ontology: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
    """Every ontology entry (nested ones included) by ``schemaId``."""
    index: dict[str, dict[str, Any]] = {}

    def walk(entries: list[Any]) -> None:
        for entry in entries or []:
            if isinstance(entry, dict):
                if entry.get("schemaId") is not None:
                    index[str(entry["schemaId"])] = entry
                walk(entry.get("classifications", []))

    for key in ("tools", "classifications", "relations"):
        walk(ontology.get(key, []))
    return index


def _entry(
    item: dict[str, Any], level: list[Any], index: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    if item.get("schemaId") is not None:
        return index.get(str(item["schemaId"]))
    title = item.get("title")
    # Ango picks an arbitrary class when titles collide; the first one is as good and repeatable.
    return next((e for e in level or [] if isinstance(e, dict) and e.get("title") == title), None)


def _fill(
    items: list[Any],
    level: list[Any],
    index: dict[str, dict[str, Any]],
    new_id: Callable[[], str],
    metadata: dict[str, Any],
    kind: str,
) -> None:
    for item in items:
        if not isinstance(item, dict):
            continue
        entry = _entry(item, level, index)
        if entry is not None:
            item.setdefault("schemaId", entry.get("schemaId"))
            item.setdefault("title", entry.get("title"))
            if kind == "classification":
                item.setdefault("tool", entry.get("tool"))
        item.setdefault("objectId", new_id())
        if kind != "relation":
            if "segmentation" not in item:  # the hub never keeps metadata on segmentations
                item.setdefault("metadata", dict(metadata))
            nested = item.get("classifications")
            children = entry.get("classifications", []) if entry else []
            if isinstance(nested, list):
                _fill(nested, children, index, new_id, metadata, "classification")
            else:
                item["classifications"] = []


def complete_answer(
    answer: dict[str, list[Any]],
    ontology: dict[str, list[Any]],
    new_id: Callable[[], str],
    metadata: dict[str, Any],
) -> dict[str, list[Any]]:
    """Fill ``objectId``, ``schemaId``/``title``/``tool`` and annotation ``metadata`` in place.

    Video entries of one track share an ``objectId`` given by the client; only entries without
    one get a new id. Returns ``answer`` for convenience.
    """
    index = schema_index(ontology)
    _fill(answer["tools"], ontology.get("tools", []), index, new_id, metadata, "tool")
    _fill(
        answer["classifications"],
        ontology.get("classifications", []),
        index,
        new_id,
        metadata,
        "classification",
    )
    _fill(answer["relations"], ontology.get("relations", []), index, new_id, metadata, "relation")
    return answer
