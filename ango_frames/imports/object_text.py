"""The import objects of a block of rows written straight to JSON text.

:meth:`ObjectRows.dicts <ango_frames.imports.objects.ObjectRows.dicts>` makes the object dicts
that ``orjson.dumps`` then writes; :func:`object_texts` writes the same bytes without the dicts:
a column of few distinct values (classes, tools) is serialised once per value, box corners once
per column of the block, and each object is one ``%`` of a byte template. ``orjson.dumps`` of a
dict writes its keys in order, without spaces, and each value as it would alone, so the text
put together from the values' texts is byte for byte that of the dict. Rows of a shape the
writer does not cover (a tool sent under a key the object already has, a missing tool) take the
dict path, which fails the same way as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from ango_frames.imports.geometry import SEND_KEYS
from ango_frames.imports.objects import _digest

if TYPE_CHECKING:
    from ango_frames.imports.objects import ObjectRows

__all__ = ["object_texts", "texts_of"]

_OBJECT = b'{"schemaId":%b,"objectId":%b,%b:%b}'
_OBJECT_BOX = b'{"schemaId":%b,"objectId":%b,%b:{"x":%b,"y":%b,"width":%b,"height":%b}}'
_GENERATED_BOX = b'{"schemaId":%b,"objectId":%b%d",%b:{"x":%b,"y":%b,"width":%b,"height":%b}}'
_OBJECT_MORE = b'{"schemaId":%b,"objectId":%b,%b:%b%b}'
#: Keys an object dict has besides its geometry: a tool sent under one of these would collide.
_OWN_KEYS = frozenset(("schemaId", "objectId", "page", "interpolationStopped", "lock"))


def texts_of(column: Any, pos: np.ndarray, key: Any = None) -> list[bytes] | None:
    """``orjson.dumps`` of each value of ``column`` at ``pos`` (of ``key(value)`` when given),
    each distinct value serialised once (a coded column's ``uniques``, else the values seen);
    ``None`` when ``key`` refuses (returns ``None`` for) a value at ``pos``."""
    uniques = getattr(column, "uniques", None)
    if uniques is not None:
        codes = column.codes[pos]
        values = uniques.tolist()
    elif key is None:
        return [orjson.dumps(v) for v in column[pos].tolist()]
    else:
        picked = column[pos].tolist()
        values = list(dict.fromkeys(picked))
        at = {v: i for i, v in enumerate(values)}
        codes = np.fromiter((at[v] for v in picked), dtype=np.int64, count=len(picked))
    table = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        if key is not None:
            value = key(value)
        table[i] = None if value is None and key is not None else orjson.dumps(value)
    refused = [i for i, t in enumerate(table.tolist()) if t is None]
    if key is not None and refused and np.isin(codes, refused).any():
        return None
    return table[codes].tolist()


def _send_key(tool: Any) -> str | None:
    if not isinstance(tool, str):
        return None
    key = SEND_KEYS.get(tool, tool)
    return None if key in _OWN_KEYS or key == "classifications" else key


def object_texts(rows: ObjectRows, pos: np.ndarray) -> list[bytes]:
    """``[orjson.dumps(d) for d in rows.dicts(pos)]``, written without the dicts."""
    if not len(pos):
        return []
    keys = texts_of(rows.tools, pos, _send_key)
    if keys is None:  # a tool this writer does not cover: the dict path
        return [orjson.dumps(d) for d in rows.dicts(pos)]
    schema = texts_of(rows.schema, pos)
    assert schema is not None
    tails = _tails(rows, pos)
    boxes = rows.geometry.box_texts(pos) if tails is None else None
    generated = _generated(rows, pos) if boxes is not None else None
    if boxes is not None and generated is not None:  # the usual: boxes with generated ids
        return [_GENERATED_BOX % t for t in zip(schema, *generated, keys, *boxes, strict=True)]
    ids = id_texts(rows, pos)
    if boxes is not None:  # every row a box: one template for the object and its box
        return [_OBJECT_BOX % t for t in zip(schema, ids, keys, *boxes, strict=True)]
    geometry = rows.geometry.texts(pos)
    if tails is None:
        return [_OBJECT % t for t in zip(schema, ids, keys, geometry, strict=True)]
    return [_OBJECT_MORE % t for t in zip(schema, ids, keys, geometry, tails, strict=True)]


def _id_parts(rows: ObjectRows, where: np.ndarray) -> tuple[list[bytes], list[int]]:
    """The two parts of the generated ids of rows ``where``: ``"<hex digest of the asset>-``
    and the row's position in its asset (nothing to escape in either)."""
    assert rows._ordinal is not None
    codes = rows.codes[where].tolist()
    uniques = rows.keys.uniques
    digest = {c: b'"%s-' % _digest(str(uniques[c])).encode() for c in dict.fromkeys(codes)}
    return [digest[c] for c in codes], rows._ordinal[where].tolist()


def _generated(rows: ObjectRows, pos: np.ndarray) -> tuple[list[bytes], list[int]] | None:
    """:func:`_id_parts` of rows ``pos`` when every one of their ids is generated."""
    if rows._ordinal is None or not rows._plain[pos].all():
        return None
    return _id_parts(rows, pos)


def id_texts(rows: ObjectRows, pos: np.ndarray) -> list[bytes]:
    """``orjson.dumps`` of each of ``rows.ids_at(pos)``, generated ids written as bytes."""
    ids = rows._ids[pos].tolist()
    plain = rows._plain[pos]
    if rows._ordinal is None or not plain.any():
        return [orjson.dumps(o) for o in ids]
    made = [b'%b%d"' % part for part in zip(*_id_parts(rows, pos[plain]), strict=True)]
    if len(made) == len(ids):
        return made
    out = [orjson.dumps(o) for o in ids]
    for k, text in zip(np.flatnonzero(plain).tolist(), made, strict=True):
        out[k] = text
    return out


def _tails(rows: ObjectRows, pos: np.ndarray) -> list[bytes] | None:
    """What follows an object's geometry (page, flags, nested answers), or None when no row of
    ``pos`` has any."""
    parts: list[list[bytes]] | None = None

    def put(where: list[int], texts: list[bytes]) -> None:
        nonlocal parts
        if parts is None:
            parts = [[] for _ in range(len(pos))]
        for k, text in zip(where, texts, strict=True):
            parts[k].append(text)

    if rows.page is not None:
        present = rows.page[1][pos]
        if present.any():
            at = np.flatnonzero(present)
            values = rows.page[0][pos[at]].tolist()
            put(at.tolist(), [b',"page":%d' % v for v in values])
    for field, flags in rows.flags.items():
        if flags is None:
            continue
        head = b',"' + field.encode() + b'":'
        picked = flags[pos].tolist()
        flagged = [k for k, v in enumerate(picked) if v is not None]
        if flagged:
            put(flagged, [head + orjson.dumps(picked[k]) for k in flagged])
    if rows.any_nested():
        where: list[int] = []
        texts: list[bytes] = []
        for k, i in enumerate(pos.tolist()):
            got = rows.nested.get(i)
            if got:
                where.append(k)
                texts.append(b',"classifications":' + orjson.dumps(got))
        if where:
            put(where, texts)
    if parts is None:
        return None
    return [b"".join(p) for p in parts]
