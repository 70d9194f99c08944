"""A minimal validator for the OpenAPI subset the Ango Hub contract uses.

The local hub checks request bodies and query parameters against the same ``openapi.json`` that
ships with the package, so that the contract is written once and a client that passes here sends
what the spec describes. Only the keywords the spec uses are supported: ``type``, ``required``,
``properties``, ``items``, ``enum`` and ``$ref`` (to ``#/components/schemas/...``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["load_spec", "operation", "query_parameters", "schema", "validate"]

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


@lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    """The packaged ``ango_frames/spec/openapi.json``, parsed once."""
    text = resources.files("ango_frames").joinpath("spec/openapi.json").read_text("utf-8")
    return json.loads(text)


def schema(name: str) -> dict[str, Any]:
    """The component schema ``name`` (e.g. ``"ImportLabelsRequest"``)."""
    return load_spec()["components"]["schemas"][name]


def operation(operation_id: str) -> tuple[str, str, dict[str, Any]]:
    """``(method, path, operation)`` of the operation with that ``operationId``."""
    for path, methods in load_spec()["paths"].items():
        for method, op in methods.items():
            if op.get("operationId") == operation_id:
                return method.upper(), path, op
    raise KeyError(f"no operation {operation_id!r} in the spec")


def query_parameters(operation_id: str) -> dict[str, dict[str, Any]]:
    """The query parameters of an operation: name -> ``{"required": bool, "schema": {...}}``."""
    _, _, op = operation(operation_id)
    return {
        p["name"]: {"required": bool(p.get("required")), "schema": p.get("schema", {})}
        for p in op.get("parameters", [])
        if p.get("in") == "query"
    }


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    prefix = "#/components/schemas/"
    if not ref.startswith(prefix):
        raise ValueError(f"unsupported $ref {ref!r}")
    return _resolve(schema(ref[len(prefix) :]))


def _type_ok(value: Any, expected: str) -> bool:
    # bool is an int in Python; JSON keeps them apart, and so must we.
    if isinstance(value, bool) and expected in ("integer", "number"):
        return False
    if expected == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(expected, (object,)))


def _kind(value: Any) -> str:
    for name in _TYPES:
        if _type_ok(value, name):
            return name
    return "null" if value is None else type(value).__name__


def validate(value: Any, node: dict[str, Any] | str, where: str = "") -> list[str]:
    """Every way ``value`` breaks the schema ``node`` (a schema dict or a component name).

    Returns
    -------
    list of str
        One message per problem, each starting with the JSON path of the offending value
        (``labels[3].answer``); empty when the value is valid.
    """
    node = _resolve(schema(node) if isinstance(node, str) else node)
    errors: list[str] = []
    label = where or "(root)"
    expected = node.get("type")
    if expected is not None and not _type_ok(value, expected):
        return [f"{label}: expected {expected}, got {_kind(value)}"]
    if "enum" in node and value not in node["enum"]:
        allowed = ", ".join(json.dumps(v) for v in node["enum"])
        errors.append(f"{label}: {json.dumps(value)} is not one of {allowed}")
    if isinstance(value, dict):
        errors.extend(
            f"{where + '.' if where else ''}{key}: is required"
            for key in node.get("required", [])
            if key not in value
        )
        for key, sub in node.get("properties", {}).items():
            if key in value:
                errors.extend(validate(value[key], sub, f"{where + '.' if where else ''}{key}"))
    if isinstance(value, list) and "items" in node:
        for i, item in enumerate(value):
            errors.extend(validate(item, node["items"], f"{where}[{i}]"))
    return errors
