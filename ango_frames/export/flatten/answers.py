"""Classification and relation entries to rows of the ``classifications`` / ``relations`` tables.

Rows are plain tuples in the column order of ``schemas.CLASSIFICATIONS`` / ``schemas.RELATIONS``
(the Flattener transposes them into columns); the last value is the row's ``extra`` dict or None.
docs/format.md §3 (answers) and §4 (relations).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import orjson

from ango_frames.export.flatten.timestamps import NO_AUDIT, audit

__all__ = ["add_classifications", "add_relations", "json_text"]

CLASSIFICATION_KEYS = frozenset(
    (
        "objectId",
        "schemaId",
        "title",
        "tool",
        "answer",
        "classifications",
        "page",
        "interpolationStopped",
        "columnField",
        "lock",
        "metadata",
    )
)
RELATION_KEYS = frozenset(
    (
        "objectId",
        "schemaId",
        "title",
        "from",
        "to",
        "direction",
        "group",
        "page",
        "metadata",
        "classifications",
    )
)
_TREE = "tree-dropdown"
_PATH_SEP = " / "


def json_text(value: Any) -> str:
    """Compact JSON text of ``value`` (keys in their original order).

    orjson refuses ints beyond 64 bits: those (rare) values go through the stdlib instead, so
    that a huge number kept in ``extra`` keeps all its digits.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _unknown_keys(
    item: dict, known: frozenset, ctx: str, extra: dict | None, unknown: Counter
) -> dict | None:
    for key in item:
        if key not in known:
            extra = {} if extra is None else extra
            extra[key] = item[key]
            unknown[f"{ctx}.{key}"] += 1
    return extra


def add_classifications(
    items: Any,
    task_id: str,
    object_id: str | None,
    parent_id: str | None,
    id_prefix: str,
    counter: list[int],
    sink: Any,
    order: int | None,
    unknown: Counter,
) -> None:
    """Append one row per answer value of every classification in ``items``, recursively.

    ``object_id`` is the owning object (None for global classifications) and is inherited by
    nested classifications; ``parent_id`` is the parent classification's id. A classification
    without ``objectId`` gets ``<id_prefix>/c<n>`` (``counter[0]`` counts per task, depth first;
    ``counter[1]`` counts the ids made up, of every kind).
    """
    if type(items) is not list:
        items = [items]
    append = sink.append
    lead = (task_id,) if order is None else (task_id, order)
    extra: dict | None
    cid: Any
    for item in items:
        if type(item) is not dict:
            # not a classification at all: keep it, visibly, as a row of its own
            cid = f"{id_prefix}/c{counter[0]}"
            counter[0] += 1
            counter[1] += 1
            unknown["classification(not a dict)"] += 1
            append(
                (
                    *lead,
                    object_id,
                    cid,
                    parent_id,
                    *(None,) * 12,
                    *NO_AUDIT,
                    {"classification": item},
                )
            )
            continue
        get = item.get
        cid = get("objectId")
        if cid is None:
            cid = f"{id_prefix}/c{counter[0]}"
            counter[1] += 1
        counter[0] += 1
        kind = get("tool")
        meta = get("metadata")
        extra = None
        values, extra = audit(meta, None, unknown)
        if not CLASSIFICATION_KEYS.issuperset(item):
            extra = _unknown_keys(item, CLASSIFICATION_KEYS, "classification", extra, unknown)
        head = (*lead, object_id, cid, parent_id, get("schemaId"), get("title"), kind)
        tail = (
            get("page"),
            get("interpolationStopped"),
            get("columnField"),
            get("lock"),
            *values,
            extra,
        )
        answer = get("answer")
        if type(answer) is list:
            if not answer:
                append((*head, None, None, True, False, None, *tail))
            for i, value in enumerate(answer):
                if type(value) is str:
                    path = value.split(_PATH_SEP) if kind == _TREE else None
                    append((*head, value, i, True, False, path, *tail))
                elif value is None:  # a null in a list stays a null, not the text "null"
                    append((*head, None, i, True, False, None, *tail))
                else:
                    append((*head, json_text(value), i, True, True, None, *tail))
        elif answer is None or type(answer) is str:
            path = answer.split(_PATH_SEP) if kind == _TREE and answer is not None else None
            append((*head, answer, None, False, False, path, *tail))
        else:
            append((*head, json_text(answer), None, False, True, None, *tail))
        children = get("classifications")
        if children is not None and children != []:
            add_classifications(
                children, task_id, object_id, cid, id_prefix, counter, sink, order, unknown
            )


def add_relations(
    items: Any,
    task_id: str,
    id_prefix: str,
    sink: Any,
    csink: Any,
    ccounter: list[int],
    order: int | None,
    unknown: Counter,
) -> None:
    """Append one row per relation: kind ``group`` when it has ``group``, else ``single``.

    A relation without ``objectId`` gets ``<id_prefix>/r<n>`` (n = its position). Classifications
    nested in a relation (not documented, accepted) go to ``classifications`` with ``object_id``
    set to the relation's id.
    """
    if type(items) is not list:
        items = [items]
    append = sink.append
    for n, item in enumerate(items):
        if type(item) is not dict:
            row = (task_id, f"{id_prefix}/r{n}") + (None,) * 8 + NO_AUDIT + ({"relation": item},)
            ccounter[1] += 1
            unknown["relation(not a dict)"] += 1
            append(row if order is None else (row[0], order, *row[1:]))
            continue
        get = item.get
        rid = get("objectId")
        if rid is None:
            rid = f"{id_prefix}/r{n}"
            ccounter[1] += 1
        extra: dict | None = None
        values, extra = audit(get("metadata"), extra, unknown)
        if not RELATION_KEYS.issuperset(item):
            extra = _unknown_keys(item, RELATION_KEYS, "relation", extra, unknown)
        group = get("group")
        kind = "group" if group is not None else "single"
        row = (
            task_id,
            rid,
            get("schemaId"),
            get("title"),
            kind,
            get("from"),
            get("to"),
            get("direction"),
            group,
            get("page"),
            *values,
            extra,
        )
        append(row if order is None else (row[0], order, *row[1:]))
        nested = get("classifications")
        if nested is not None and nested != []:
            add_classifications(
                nested, task_id, rid, None, id_prefix, ccounter, csink, order, unknown
            )
