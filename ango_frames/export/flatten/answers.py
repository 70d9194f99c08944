"""Classification and relation entries to rows of the ``classifications`` / ``relations`` tables.

Rows are plain tuples in the column order of ``schemas.CLASSIFICATIONS`` / ``schemas.RELATIONS``
(the Flattener transposes them into columns); the last value is the row's ``extra`` dict or None.
docs/format.md §3 (answers) and §4 (relations).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from ango_frames.export.flatten.keys import CLASSIFICATION_KEYS, RELATION_KEYS, keep_unknown
from ango_frames.export.flatten.scope import Scope
from ango_frames.export.flatten.timestamps import NO_AUDIT, audit

__all__ = ["add_classifications", "add_relations", "json_text"]

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


def add_classifications(
    items: Any, scope: Scope, object_id: str | None, parent_id: str | None
) -> None:
    """Append one row per answer value of every classification in ``items``, recursively.

    ``object_id`` is the owning object (None for global classifications) and is inherited by
    nested classifications; ``parent_id`` is the parent classification's id. A classification
    without ``objectId`` gets ``<prefix>/c<n>`` (n: ``scope.counter[0]``, counting per task,
    depth first).
    """
    if type(items) is not list:
        items = [items]
    append = scope.classifications.append
    lead, counter, unknown = scope.lead, scope.counter, scope.unknown
    extra: dict | None
    cid: Any
    for item in items:
        if type(item) is not dict:
            # not a classification at all: keep it, visibly, as a row of its own
            cid = scope.made_id("c", counter[0])
            counter[0] += 1
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
            cid = scope.made_id("c", counter[0])
        counter[0] += 1
        kind = get("tool")
        meta = get("metadata")
        extra = None
        values, extra = audit(meta, None, unknown)
        if not CLASSIFICATION_KEYS.issuperset(item):
            extra = keep_unknown(item, CLASSIFICATION_KEYS, extra, unknown, "classification.")
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
            add_classifications(children, scope, object_id, cid)


def add_relations(items: Any, scope: Scope) -> None:
    """Append one row per relation: kind ``group`` when it has ``group``, else ``single``.

    A relation without ``objectId`` gets ``<prefix>/r<n>`` (n = its position). Classifications
    nested in a relation (not documented, accepted) go to ``classifications`` with ``object_id``
    set to the relation's id.
    """
    if type(items) is not list:
        items = [items]
    append = scope.relations.append
    lead, unknown = scope.lead, scope.unknown
    for n, item in enumerate(items):
        if type(item) is not dict:
            made = scope.made_id("r", n)
            unknown["relation(not a dict)"] += 1
            append((*lead, made, *(None,) * 8, *NO_AUDIT, {"relation": item}))
            continue
        get = item.get
        rid = get("objectId")
        if rid is None:
            rid = scope.made_id("r", n)
        extra: dict | None = None
        values, extra = audit(get("metadata"), extra, unknown)
        if not RELATION_KEYS.issuperset(item):
            extra = keep_unknown(item, RELATION_KEYS, extra, unknown, "relation.")
        group = get("group")
        kind = "group" if group is not None else "single"
        row = (
            *lead,
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
        append(row)
        nested = get("classifications")
        if nested is not None and nested != []:
            add_classifications(nested, scope, rid, None)
