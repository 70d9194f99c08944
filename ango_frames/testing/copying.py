"""One copy of a JSON tree for the local hub's state: what goes in, and what goes out, is its own.

The hub keeps every answer, snapshot and ontology as plain dicts and lists, and hands out copies
so that a caller can never change its state by mutating a reply. ``copy.deepcopy`` does that with
a memo of every object it has seen, which made building the demo project (some 400,000 values)
the largest cost of a fresh hub. A JSON tree has no shared or cyclic parts, so a plain walk is
enough: dicts, lists and tuples are rebuilt, str / int / float / bool / None are immutable and
kept, the hub's own records (dataclasses) are rebuilt field by field, and anything else (a
datetime, a Counter) still goes through ``copy.deepcopy``.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, TypeVar

__all__ = ["tree_copy"]

T = TypeVar("T")

_ATOMS = frozenset({str, int, float, bool, type(None)})


def tree_copy(value: T) -> T:
    """A copy of ``value`` that shares no dict or list with it (see the module docstring)."""
    return _copy(value)


def _copy(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _ATOMS else _copy(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _ATOMS else _copy(v) for v in value]
    if kind in _ATOMS:
        return value
    if kind is tuple:
        return tuple(_copy(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # a record of the hub's state: its compared fields are its data, copied; the others
        # are caches (an index by external id, say) and start afresh
        return kind(
            **{
                f.name: _copy(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if f.init and f.compare
            }
        )
    return copy.deepcopy(value)
