"""``GET /export`` query parameters: validation against the spec, and task filtering.

Every parameter is checked before anything is built, and every refusal is a ``BadRequest`` whose
message names the parameter, so that a client bug shows up as a clear 400 rather than as an
export that silently holds the wrong tasks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ango_frames.errors import BadRequest
from ango_frames.testing import spec
from ango_frames.testing.sdk_compat import EXPORT_EXTRA_PARAMS, parse_task_types
from ango_frames.testing.store import parse_iso

__all__ = ["ExportQuery", "compile_filter", "parse_export_query"]

_RANGE_OPS = ("$gt", "$gte", "$lt", "$lte")
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}
# Task fields `filters` may name. `stage` and `batches` hold both ids and names, so either works.
FILTER_FIELDS = (
    "_id",
    "asset",
    "assignee",
    "batches",
    "completedAt",
    "createdAt",
    "externalId",
    "priority",
    "stage",
    "stageId",
    "status",
    "updatedAt",
)
_DATE_FIELDS = {"createdAt", "updatedAt", "completedAt"}
_OPERATORS = {"$eq", "$ne", "$in", "$nin", "$regex", "$options", "$exists", *_RANGE_OPS}

Predicate = Callable[[dict[str, Any]], bool]
Test = Callable[[Any], bool]


@dataclass(frozen=True)
class ExportQuery:
    """A validated export request."""

    project: str
    format: str = "json"
    type: str = "task"
    stages: frozenset[str] | None = None
    batches: frozenset[str] | None = None
    updated_at: tuple[tuple[str, datetime], ...] = ()
    created_at: tuple[tuple[str, datetime], ...] = ()
    where: Predicate | None = None
    include_metadata: bool = False
    include_history: bool = False
    key_frames_only: bool = False
    task_types: frozenset[str] | None = None


def _json(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(400, f"Invalid {name}: not valid JSON ({exc.msg}).") from None


def _string_list(name: str, text: str) -> frozenset[str]:
    value = _json(name, text)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(400, f'Invalid {name}: expected a JSON array of strings, e.g. ["x"].')
    return frozenset(value)


def _range(name: str, text: str) -> tuple[tuple[str, datetime], ...]:
    value = _json(name, text)
    if not isinstance(value, dict):
        raise BadRequest(400, f'Invalid {name}: expected a JSON object such as {{"$gt": "..."}}.')
    out = []
    for op, bound in value.items():
        if op not in _RANGE_OPS:
            raise BadRequest(
                400, f"Invalid {name}: unsupported operator {op!r}; use $gt/$gte/$lt/$lte."
            )
        try:
            out.append((op, parse_iso(bound)))
        except ValueError:
            raise BadRequest(
                400, f"Invalid {name}: {op} needs an ISO-8601 date-time string, got {bound!r}."
            ) from None
    return tuple(out)


def in_range(value: datetime, bounds: tuple[tuple[str, datetime], ...]) -> bool:
    return all(_COMPARE[op](value, bound) for op, bound in bounds)


def parse_export_query(query: dict[str, list[str]], known_projects: set[str]) -> ExportQuery:
    """Validate the raw query (name -> values) of ``GET /export``.

    Raises
    ------
    BadRequest
        Unknown, repeated or missing parameters; values outside the spec's enums; malformed JSON
        in ``stage``, ``batches``, ``updatedAt``, ``createdAt`` or ``filters``; unknown projects.
    """
    params = spec.query_parameters("exportTasks")
    for name, values in query.items():
        if name not in params and name not in EXPORT_EXTRA_PARAMS:
            raise BadRequest(400, f"Unknown query parameter: {name}.")
        if len(values) != 1:
            raise BadRequest(400, f"Query parameter {name} is given {len(values)} times.")
    flat = {name: values[0] for name, values in query.items()}
    for name, info in params.items():
        if info["required"] and name not in flat:
            raise BadRequest(400, f"Missing query parameter: {name}.")
        if name in flat:
            problems = spec.validate(flat[name], info["schema"], name)
            if problems:
                raise BadRequest(400, f"Invalid query parameter {problems[0]}.")
    if flat["project"] not in known_projects:
        raise BadRequest(400, f"Invalid project: {flat['project']}.")
    filters = None
    if "filters" in flat:
        value = _json("filters", flat["filters"])
        if not isinstance(value, dict):
            raise BadRequest(400, "Invalid filters: expected a JSON object.")
        filters = compile_filter(value)
    return ExportQuery(
        project=flat["project"],
        format=flat.get("format", "json"),
        type=flat.get("type", "task"),
        stages=_string_list("stage", flat["stage"]) if "stage" in flat else None,
        batches=_string_list("batches", flat["batches"]) if "batches" in flat else None,
        updated_at=_range("updatedAt", flat["updatedAt"]) if "updatedAt" in flat else (),
        created_at=_range("createdAt", flat["createdAt"]) if "createdAt" in flat else (),
        where=filters,
        include_metadata=flat.get("includeMetadata") == "true",
        include_history=flat.get("includeHistory") == "true",
        key_frames_only=flat.get("includeOnlyKeyFrames") == "true",
        task_types=parse_task_types(flat["taskTypes"]) if "taskTypes" in flat else None,
    )


# ----------------------------------------------------------------------------- Mongo-style filters


def _values(value: Any) -> list[Any]:
    # Mongo matches an array field when the array itself or any element matches.
    return [value, *value] if isinstance(value, list) else [value]


def _operand(field: str, value: Any, where: str) -> Any:
    if field in _DATE_FIELDS and isinstance(value, str):
        try:
            return parse_iso(value)
        except ValueError:
            raise BadRequest(
                400, f"Invalid filters: {where} needs an ISO-8601 date-time."
            ) from None
    return value


def _comparable(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    numbers = (int, float)
    return (isinstance(a, numbers) and isinstance(b, numbers)) or type(a) is type(b)


def _any(value: Any, test: Callable[[Any], bool]) -> bool:
    return any(test(x) for x in _values(value))


def _op_test(field: str, op: str, arg: Any, cond: dict[str, Any], here: str) -> Test:
    """One operator of a field condition as a test of the field's value."""
    if op in ("$eq", "$ne"):
        target = _operand(field, arg, here)

        def eq(v: Any) -> bool:
            return _any(v, lambda x: x == target)

        return eq if op == "$eq" else lambda v: not eq(v)
    if op in ("$in", "$nin"):
        if not isinstance(arg, list):
            raise BadRequest(400, f"Invalid filters: {here} needs an array.")
        targets = [_operand(field, a, here) for a in arg]

        def isin(v: Any) -> bool:
            return _any(v, lambda x: x in targets)

        return isin if op == "$in" else lambda v: not isin(v)
    if op in _RANGE_OPS:
        bound, cmp = _operand(field, arg, here), _COMPARE[op]
        return lambda v: _any(
            v, lambda x: x is not None and _comparable(x, bound) and cmp(x, bound)
        )
    if op == "$regex":
        flags = re.IGNORECASE if "i" in str(cond.get("$options", "")) else 0
        try:
            pattern = re.compile(str(arg), flags)
        except re.error as exc:
            raise BadRequest(
                400, f"Invalid filters: bad regular expression at {here}: {exc}."
            ) from None
        return lambda v: _any(v, lambda x: isinstance(x, str) and pattern.search(x) is not None)
    if op == "$exists":
        want = bool(arg)
        return lambda v: (v is not None) == want
    return lambda v: True  # $options: read by $regex


def _field_predicate(field: str, cond: Any, where: str) -> Test:
    if not (isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond)):
        return _op_test(field, "$eq", cond, {}, where)
    tests: list[Test] = []
    for op, arg in cond.items():
        if op not in _OPERATORS:
            raise BadRequest(400, f"Invalid filters: unsupported operator {op} at {where}.")
        tests.append(_op_test(field, op, arg, cond, f"{where}.{op}"))
    return lambda v: all(test(v) for test in tests)


def _logical(key: str, subs: list[Predicate]) -> Predicate:
    if key == "$and":
        return lambda d: all(p(d) for p in subs)
    if key == "$or":
        return lambda d: any(p(d) for p in subs)
    return lambda d: not any(p(d) for p in subs)


def _field(key: str, test: Test) -> Predicate:
    return lambda d: test(d.get(key))


def compile_filter(spec_: dict[str, Any], where: str = "filters") -> Predicate:
    """Turn a Mongo-style filter into a predicate over task documents (see ``FILTER_FIELDS``).

    Supports plain equality, ``$eq $ne $in $nin $regex ($options) $exists $gt $gte $lt $lte`` and
    the logical ``$and $or $nor``; array fields match when any element does. Everything else is a
    BadRequest, raised here, before any task is looked at.
    """
    parts: list[Predicate] = []
    for key, cond in spec_.items():
        here = f"{where}.{key}"
        if key in ("$and", "$or", "$nor"):
            if not isinstance(cond, list) or not cond or not all(isinstance(c, dict) for c in cond):
                raise BadRequest(
                    400, f"Invalid filters: {here} needs a non-empty array of objects."
                )
            parts.append(
                _logical(key, [compile_filter(c, f"{here}[{i}]") for i, c in enumerate(cond)])
            )
        elif key.startswith("$"):
            raise BadRequest(400, f"Invalid filters: unsupported operator {key} at {where}.")
        elif key not in FILTER_FIELDS:
            fields = ", ".join(FILTER_FIELDS)
            raise BadRequest(
                400, f"Invalid filters: unknown task field {key!r}; fields are {fields}."
            )
        else:
            parts.append(_field(key, _field_predicate(key, cond, here)))
    return lambda d: all(p(d) for p in parts)
