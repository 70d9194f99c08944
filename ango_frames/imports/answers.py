"""Classification answers: tidy rows (one per answer value) -> the import's nested answer dicts.

Encoding follows docs/format.md §3.2 / §6.2: answers are option VALUES; radio, single-dropdown and
text take a string; checkbox and multi-dropdown a list; tree-dropdown a list of " / " paths. Rows of
a list answer are gathered back in ``answer_index`` order. Without an ontology the shape comes from
``answer_is_list`` (or a present ``answer_index``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd

from ango_frames.imports.asset_keys import (
    as_bool,
    as_int,
    id_column,
    made_up_ids,
    object_column,
    object_values,
)
from ango_frames.imports.ontology import ClassificationClass, Ontology
from ango_frames.imports.problems import Problems, Reason

__all__ = ["Entry", "answer_of", "nested_from_columns", "tidy_entries"]

_STRING_TYPES = frozenset({"radio", "single-dropdown", "text", "checkbox", "multi-dropdown"})


def answer_of(
    values: list[Any], is_list: bool | None, cls: ClassificationClass | None
) -> tuple[Any, str | None]:
    """The answer to send for ``values`` (in order), and a reason code when it is invalid."""
    if isinstance(values, np.ndarray):
        values = values.tolist()
    if cls is not None and (cls.is_list or cls.type in _STRING_TYPES):
        is_list = cls.is_list
    present = [v for v in values if v is not None]
    if is_list:
        answer: Any = present
    else:
        if len(present) > 1:
            return present, "wrong_answer_type"
        answer = present[0] if present else None
    if cls is None or cls.type not in _STRING_TYPES | {"tree-dropdown"}:
        return answer, None
    items = answer if is_list else ([] if answer is None else [answer])
    if any(not isinstance(v, str) for v in items):
        return answer, "wrong_answer_type"
    valid = cls.valid_answers
    if valid is not None and any(v not in valid for v in items):
        return answer, "unknown_option"
    return answer, None


@dataclass
class Entry:
    """One classification answer being built (its rows, its dict, its nested children)."""

    code: int
    object_id: str | None
    parent: str | None
    cid: str | None
    rows: list[int]
    page: int | None = None
    schema_id: str | None = None
    body: dict[str, Any] = field(default_factory=dict)
    children: list[Entry] = field(default_factory=list)
    bad: bool = False
    reason: str | None = None
    occurrence: int = 0  # the k-th repeat of one classification id (k-th frame of a track)


def _resolve(
    sid: str | None, title: str | None, parent_schema: str | None, onto: Ontology | None
) -> tuple[ClassificationClass | None, str | None, str | None]:
    """(class, schemaId, reason) for a classification named by schemaId or title.

    ``parent_schema`` is the owning tool or classification (``None``: a global classification);
    a schemaId that belongs elsewhere in the ontology is an ``unknown_class`` here.
    """
    if onto is None:
        return None, sid, None if sid else "unknown_class"
    if sid is not None:
        cls = onto.classifications.get(sid)
        if cls is None or cls.parent != parent_schema:
            return None, sid, "unknown_class"
        return cls, sid, None
    if title is None:
        return None, None, "unknown_class"
    try:
        kids = onto.children(parent_schema)
    except Exception:
        return None, None, "unknown_class"
    found = [c for c in kids if c.title == title]
    if len(found) != 1:
        return None, None, "ambiguous_title" if found else "unknown_class"
    return found[0], found[0].schema_id, None


def tidy_entries(
    frame: pd.DataFrame,
    codes: np.ndarray,
    onto: Ontology | None,
    problems: Problems,
    object_schema: dict[tuple[int, str], str],
) -> list[Entry]:
    """Top-level classification entries of a tidy classifications frame, children attached.

    ``object_schema`` maps (asset code, object_id) -> the object's class schemaId, for nested
    answers named by title. A bad entry is recorded on its rows and rejects its whole tree.
    """
    n = len(frame)
    cid, pid, oid = (id_column(frame, c) for c in ("classification_id", "parent_id", "object_id"))
    sid, title = id_column(frame, "schema_id"), id_column(frame, "title")
    # a real classification id is sent back as the answer's objectId; a made-up one is not
    real_cid = pd.notna(cid) & ~made_up_ids(cid, id_column(frame, "task_id"), "c")
    answers = object_column(frame, "answer")
    index = as_int(frame, "answer_index")
    is_list = as_bool(frame, "answer_is_list", problems)
    is_json = as_bool(frame, "answer_is_json", problems)
    page = as_int(frame, "page")
    interp = as_bool(frame, "interpolation_stopped", problems)
    lock = as_bool(frame, "lock", problems)
    # A video track repeats its nested answers on every frame with the same classification id
    # and (in exports) no page: a new run starts when a scalar repeats or a list position is
    # seen again (positions may come in any order within a run); run k belongs to the track's
    # k-th frame row.
    groups: dict[Any, Entry] = {}
    runs: dict[Any, tuple[int, set[int]]] = {}  # group -> (current run, answer_index seen)
    for i in range(n):
        code = int(codes[i])
        if code < 0:
            continue
        pg = int(page[0][i]) if page is not None and page[1][i] else None
        base = (
            (code, oid[i], pid[i], sid[i], title[i], pg) if cid[i] is None else (code, cid[i], pg)
        )
        idx = int(index[0][i]) if index is not None and index[1][i] else -1
        run, seen = runs.get(base, (-1, set()))
        if run < 0 or idx in seen:
            run, seen = run + 1, set()
        seen.add(idx)
        runs[base] = (run, seen)
        key = (base, run)
        entry = groups.get(key)
        if entry is None:
            entry = groups[key] = Entry(code, oid[i], pid[i], cid[i], [], pg, occurrence=run)
        entry.rows.append(i)
    by_cid = {(e.code, e.cid, e.occurrence): e for e in groups.values() if e.cid is not None}
    tops: list[Entry] = []
    for entry in groups.values():
        parent = None
        if entry.parent is not None:
            parent = by_cid.get((entry.code, entry.parent, entry.occurrence)) or by_cid.get(
                (entry.code, entry.parent, 0)
            )
        if entry.parent is not None and parent is None:
            rows = np.array(entry.rows)
            problems.add(rows, "parent_id", "dangling_answer", [entry.parent] * len(rows))
            entry.bad = True
            continue
        if parent is not None:
            parent.children.append(entry)
        else:
            tops.append(entry)

    reasons: list[str] = []

    def fail(row: int, column: str, why: str, value: Any) -> bool:
        problems.one(row, column, why, value)
        reasons.append(why)
        return False

    def build(entry: Entry, parent_schema: str | None) -> bool:
        first = entry.rows[0]
        if problems.bad[entry.rows].any():  # a flag column already refused (wrong_type)
            reasons.append(Reason.WRONG_TYPE.value)
            return False
        cls, schema, why = _resolve(sid[first], title[first], parent_schema, onto)
        entry.schema_id = schema
        if why:
            col = "schema_id" if sid[first] is not None else "title"
            return fail(first, col, why, sid[first] or title[first])
        rows = entry.rows
        if index is not None:
            rows = sorted(rows, key=lambda r: index[0][r] if index[1][r] else -1)
        values = []
        for r in rows:
            v = answers[r]
            if v is not None and is_json is not None and is_json[r]:
                try:
                    v = orjson.loads(v)
                except orjson.JSONDecodeError:
                    return fail(r, "answer", "wrong_answer_type", v)
            values.append(v)
        listy = bool(is_list[first]) if is_list is not None and is_list[first] is not None else None
        if listy is None and index is not None:
            listy = bool(index[1][first])
        answer, why = answer_of(values, listy, cls)
        if why:
            return fail(first, "answer", why, answer)
        body: dict[str, Any] = {"schemaId": schema, "answer": answer}
        if real_cid[first]:
            body["objectId"] = entry.cid
        if entry.page is not None:
            body["page"] = entry.page
        if interp is not None and interp[first] is not None:
            body["interpolationStopped"] = interp[first]
        if lock is not None and lock[first] is not None:
            body["lock"] = lock[first]
        ok = True
        kids = []
        for child in entry.children:
            ok = build(child, schema) and ok
            kids.append(child.body)
        if kids:
            body["classifications"] = kids
        entry.body = body
        return ok

    for top in tops:
        owner = object_schema.get((top.code, top.object_id)) if top.object_id else None
        reasons.clear()
        if top.object_id is not None and owner is None:
            problems.one(top.rows[0], "object_id", "dangling_answer", top.object_id)
            top.bad, top.reason = True, "dangling_answer"
        else:
            top.bad = not build(top, owner)
            top.reason = reasons[0] if reasons else None
        if top.bad:
            problems.bad[_tree_rows(top)] = True
    return tops


def _tree_rows(entry: Entry) -> list[int]:
    rows = list(entry.rows)
    for child in entry.children:
        rows.extend(_tree_rows(child))
    return rows


def nested_from_columns(
    frame: pd.DataFrame,
    nested: dict[str, str],
    schema_ids: np.ndarray,
    active: np.ndarray,
    onto: Ontology | None,
    problems: Problems,
) -> list[list[dict[str, Any]] | None]:
    """Nested answers from ``nested={classification: column}``, one list per object row.

    ``classification`` is a schemaId or a title under the row's class; a null cell means no
    answer. Problems are recorded on the object rows.
    """
    out: list[list[dict[str, Any]] | None] = [None] * len(frame)
    schemas = pd.Series(schema_ids, dtype=object)
    for name, column in nested.items():
        if column not in frame.columns:
            problems.add(active, column, "missing_column")
            continue
        cells = object_values(frame[column])
        for schema in pd.unique(schemas[active]):
            rows = active & (schemas == schema).to_numpy(dtype=bool)
            cls: ClassificationClass | None
            cid: str | None
            why: str | None
            if onto is None:
                cls, cid, why = None, name, None
            else:
                cls, cid, why = _resolve(name, None, schema, onto)
                if why:
                    cls, cid, why = _resolve(None, name, schema, onto)
            if why:
                # only rows that give an answer are wrong: a null cell asks for nothing
                given = rows & ~pd.isna(pd.Series(cells, dtype=object)).to_numpy(dtype=bool)
                problems.add(given, column, why, [name] * int(given.sum()))
                continue
            for pos in np.flatnonzero(rows).tolist():
                cell = cells[pos]
                if cell is None or (isinstance(cell, float) and np.isnan(cell)):
                    continue
                if isinstance(cell, (list, tuple, np.ndarray)):
                    values, listy = list(cell), True
                else:
                    values, listy = [cell], None
                answer, why = answer_of(values, listy, cls)
                if why:
                    problems.one(pos, column, why, answer)
                    continue
                got = out[pos]
                if got is None:
                    got = out[pos] = []
                got.append({"schemaId": cid, "answer": answer})
    return out
