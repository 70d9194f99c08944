"""Relation rows -> the import's relation dicts (docs/format.md §4), with their ends checked.

A ``single`` relation links ``from_object_id`` -> ``to_object_id`` (with an optional
``direction``); a ``group`` relation lists ``group_object_ids``. An end may name an object by its
``object_id`` or by the ``track_id`` whose generated id it got; an end that is no object of the
same asset is a ``dangling_relation``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ango_frames.errors import ConfigError
from ango_frames.imports.asset_keys import as_int, id_column, made_up_ids, object_column
from ango_frames.imports.ontology import Ontology
from ango_frames.imports.problems import Problems

__all__ = ["DIRECTIONS", "build_relations"]

DIRECTIONS = frozenset({"straight", "reverse", "bidirectional"})


def _resolve_classes(
    sid: np.ndarray, title: np.ndarray, onto: Ontology | None, problems: Problems
) -> tuple[np.ndarray, np.ndarray]:
    """schemaId and ontology kind per row (titles resolved; unknown / ambiguous recorded)."""
    n = len(sid)
    schema = sid.copy()
    kinds = np.full(n, None, dtype=object)
    need = pd.isna(schema) & pd.notna(title)
    if need.any() and onto is None:
        raise ConfigError("relations named by title need ontology= to find their schemaIds")
    if onto is None:
        problems.add(pd.isna(schema), "schema_id", "unknown_class")
        return schema, kinds
    titles = onto.titles("relations")
    for i in np.flatnonzero(need).tolist():
        found = titles.get(title[i], [])
        if len(found) == 1:
            schema[i] = found[0]
        else:
            problems.one(i, "title", "ambiguous_title" if found else "unknown_class", title[i])
    for i in range(n):
        if schema[i] is None:
            if not need[i]:
                problems.one(i, "schema_id", "unknown_class", None)
            continue
        cls = onto.relations.get(schema[i])
        if cls is None:
            problems.one(i, "schema_id", "unknown_class", schema[i])
        else:
            kinds[i] = cls.kind
    return schema, kinds


def build_relations(
    frame: pd.DataFrame,
    codes: np.ndarray,
    onto: Ontology | None,
    problems: Problems,
    objects: Mapping[int, set[str]],
    tracks: Mapping[tuple[int, str], str],
) -> dict[int, list[tuple[int, dict[str, Any]]]]:
    """Relation dicts per asset code, each with its row position.

    ``objects`` holds the object ids of each asset; ``tracks`` maps (asset code, track_id or an
    id the export reader made up) to the object id sent. Rows with problems are recorded and
    left out. A real ``relation_id`` is sent as the relation's ``objectId``.
    """
    n = len(frame)
    schema, onto_kind = _resolve_classes(
        id_column(frame, "schema_id"), id_column(frame, "title"), onto, problems
    )
    kind = id_column(frame, "kind")
    src, dst = id_column(frame, "from_object_id"), id_column(frame, "to_object_id")
    direction = id_column(frame, "direction")
    rid = id_column(frame, "relation_id")
    real_rid = pd.notna(rid) & ~made_up_ids(rid, id_column(frame, "task_id"), "r")
    groups = object_column(frame, "group_object_ids")
    page = as_int(frame, "page")
    out: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    for i in range(n):
        code = int(codes[i])
        if code < 0 or problems.bad[i]:
            continue
        k = kind[i] or onto_kind[i] or ("group" if groups[i] is not None else "single")
        if k not in ("single", "group") or (onto_kind[i] and k != onto_kind[i]):
            problems.one(i, "kind", "tool_mismatch", k)
            continue
        known = objects.get(code, set())

        def end(value: Any, _code: int = code, _known: set[str] = known) -> str | None:
            value = None if value is None else str(value)
            if value in _known:
                return value
            return tracks.get((_code, value)) if value is not None else None

        body: dict[str, Any] = {"schemaId": schema[i]}
        if real_rid[i]:
            body["objectId"] = rid[i]
        if k == "single":
            a, b = end(src[i]), end(dst[i])
            if a is None or b is None:
                column = "from_object_id" if a is None else "to_object_id"
                problems.one(i, column, "dangling_relation", src[i] if a is None else dst[i])
                continue
            body["from"], body["to"] = a, b
            if direction[i] is not None:
                if direction[i] not in DIRECTIONS:
                    problems.one(i, "direction", "wrong_type", direction[i])
                    continue
                body["direction"] = direction[i]
        else:
            members = groups[i]
            if isinstance(members, np.ndarray):
                members = members.tolist()
            if not isinstance(members, (list, tuple)) or len(members) < 2:
                problems.one(i, "group_object_ids", "wrong_arity", members)
                continue
            resolved = [end(m) for m in members]
            missing = [m for m, r in zip(members, resolved, strict=True) if r is None]
            if missing:
                problems.one(i, "group_object_ids", "dangling_relation", missing)
                continue
            body["group"] = resolved
        if page is not None and page[1][i]:
            body["page"] = int(page[0][i])
        out.setdefault(code, []).append((i, body))
    return out
