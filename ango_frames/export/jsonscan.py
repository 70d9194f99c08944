"""Record boundaries in a JSON array (or a file of whole objects), found without parsing.

The positions of ``{}[]",`` are picked out of each chunk with ``bytes.translate`` and numpy,
string contents are masked by quote parity (escaped quotes and backslashes neutralised first, and
a chunk never ends inside an escape), and the nesting depth is a cumulative sum. Top-level commas
(or closing brackets back at depth 0) cut records, whose bytes orjson then decodes. State carries
from chunk to chunk, so every byte is scanned once and memory is one chunk plus one record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ango_frames.export.jsonstream import _WS, Ctx, decode

__all__ = ["iter_array", "iter_objects"]

_STRUCT_TABLE = bytes(1 if b in b'{}[]",' else 0 for b in range(256))


class _Anchor:
    """Where the current record began, to turn an offset inside it into line and column."""

    __slots__ = ("chunk", "chunk_off", "last_nl", "lines", "pos")

    def __init__(self, chunk: bytes, pos: int, chunk_off: int, lines: int, last_nl: int) -> None:
        self.chunk, self.pos, self.chunk_off = chunk, pos, chunk_off
        self.lines, self.last_nl = lines, last_nl  # before the chunk

    def locate(self, head: bytes, at: int) -> dict[str, int]:
        """Line/column/offset of byte ``at`` of the record whose first bytes are ``head``."""
        before = self.chunk[: self.pos]
        rec_off = self.chunk_off + self.pos
        inner = head[:at]
        line = self.lines + before.count(b"\n") + inner.count(b"\n") + 1
        if b"\n" in inner:
            col = at - inner.rfind(b"\n")
        else:
            nl = before.rfind(b"\n")
            line_start = self.chunk_off + nl + 1 if nl >= 0 else self.last_nl + 1
            col = rec_off + at - line_start + 1
        return {"line": line, "column": col, "offset": rec_off + at}


def iter_array(chunks: Iterator[bytes], ctx: Ctx, **pos: int) -> Iterator[dict[str, Any]]:
    """Records of a JSON array; ``chunks`` start at its '['. See :func:`_scan_records`."""
    return _scan_records(chunks, ctx, array=True, **pos)


def iter_objects(chunks: Iterator[bytes], ctx: Ctx, **pos: int) -> Iterator[dict[str, Any]]:
    """Records of a file of whole JSON objects (one pretty-printed object, or several)."""
    return _scan_records(chunks, ctx, array=False, **pos)


def _scan_records(
    chunks: Iterator[bytes],
    ctx: Ctx,
    *,
    array: bool,
    offset: int = 0,
    line: int = 1,
    last_nl: int = -1,
) -> Iterator[dict[str, Any]]:
    import numpy as np

    delta_of = np.zeros(256, np.int8)
    delta_of[[0x7B, 0x5B]] = 1
    delta_of[[0x7D, 0x5D]] = -1
    level = 1 if array else 0  # depth at which records sit between separators
    depth, in_str = 0, False
    lines = line - 1
    chunk_off = offset
    parts: list[bytes] = []  # bytes of the record being read, before the current chunk
    anchor: _Anchor | None = None
    index = 0
    held = b""
    done = False  # the array's closing ']' was seen
    it = iter(chunks)
    chunk: bytes | None = next(it, None)
    if array and chunk is not None:  # step over the opening '['
        chunk, chunk_off, depth = chunk[1:], chunk_off + 1, 1
    while chunk is not None:
        nxt = next(it, None)
        chunk = held + chunk
        held = b""
        if nxt is not None:  # never cut an escape sequence in two
            tail = len(chunk) - len(chunk.rstrip(b"\\"))
            if tail:
                chunk, held = chunk[:-tail], chunk[-tail:]
        if done:
            if chunk.strip(_WS):
                at = len(chunk) - len(chunk.lstrip(_WS))
                a = _Anchor(chunk, at, chunk_off, lines, last_nl)
                raise ctx.error("unexpected content after the JSON array", **a.locate(b"", 0))
        elif chunk:
            s = chunk
            if b"\\" in s:
                s = s.replace(b"\\\\", b"__").replace(b'\\"', b"__")
            codes = np.frombuffer(s, np.uint8)
            pos = np.flatnonzero(np.frombuffer(s.translate(_STRUCT_TABLE), np.bool_))
            ch = codes[pos]
            inside = (np.cumsum(ch == 34, dtype=np.int32) & 1).astype(np.bool_)
            if in_str:
                inside = ~inside
            delta = delta_of[ch]
            delta[inside] = 0
            dep = np.cumsum(delta, dtype=np.int32)
            dep += depth
            start = 0  # where the current record starts in this chunk
            if anchor is None:
                anchor = _Anchor(chunk, 0, chunk_off, lines, last_nl)
            floor = level if array else 0  # below it: the array closes, or a bracket is stray
            ceiling = ctx.max_depth + level
            # record boundaries: top-level commas of an array; closing brackets back at depth 0
            cut = ((dep == level) & (ch == 44) & ~inside) if array else ((dep == 0) & (delta < 0))
            too_deep: Any = None
            bad = np.empty(0, np.intp)
            if dep.size and (dep.min() < floor or dep.max() > ceiling):  # rare: reduce first
                too_deep = dep > ceiling
                bad = np.flatnonzero((dep < floor) | too_deep)
            limit = len(ch)
            if bad.size:
                limit = int(bad[0])
            for p in pos[np.flatnonzero(cut[:limit])].tolist():
                end = p if array else p + 1
                rec = b"".join([*parts, chunk[start:end]]) if parts else chunk[start:end]
                yield _record(rec, anchor, ctx, index, array)
                index += 1
                parts = []
                start = end + 1 if array else end
                anchor = _Anchor(chunk, start, chunk_off, lines, last_nl)
            if bad.size:
                i = int(bad[0])
                p = int(pos[i])
                head = b"".join([*parts, chunk[start : p + 1]])
                if too_deep[i]:
                    raise ctx.error(
                        f"JSON nested deeper than max_depth={ctx.max_depth}",
                        record=index,
                        **anchor.locate(head, len(head) - 1),
                    )
                if not array or ch[i] != 0x5D:
                    raise ctx.error(
                        f"unexpected {chr(ch[i])!r}: brackets do not match",
                        record=index if array else None,
                        **anchor.locate(head, len(head) - 1),
                    )
                # the array's closing ']'
                rec = head[:-1]
                if rec.strip(_WS) or index > 0:
                    yield _record(rec, anchor, ctx, index, array)
                    index += 1
                done = True
                after = chunk[p + 1 :]
                if after.strip(_WS):
                    at = p + 1 + len(after) - len(after.lstrip(_WS))
                    a = _Anchor(chunk, at, chunk_off, lines, last_nl)
                    raise ctx.error("unexpected content after the JSON array", **a.locate(b"", 0))
            else:
                if start < len(chunk):
                    parts.append(chunk[start:])
                depth = int(dep[-1]) if dep.size else depth
                if inside.size:
                    in_str = bool(inside[-1])
        n = chunk.count(b"\n")
        if n:
            lines += n
            last_nl = chunk_off + chunk.rfind(b"\n")
        chunk_off += len(chunk)
        chunk = nxt
    if done:
        return
    head = b"".join(parts)
    if array or head.strip(_WS):
        a = anchor or _Anchor(b"", 0, chunk_off, lines, last_nl)
        what = "the JSON array is not closed (missing ']')" if array else "incomplete JSON object"
        partial = in_str or depth > level or not array
        if in_str:
            what = "unterminated string"
        elif array and depth > level:
            what = "incomplete record at the end of the JSON array"
        raise ctx.error(
            f"unexpected end of file: {what}",
            record=index if partial else None,
            **a.locate(head, len(head)),
        )


def _record(data: bytes, anchor: _Anchor, ctx: Ctx, index: int, array: bool) -> dict[str, Any]:
    body = data.strip(_WS)
    if not body:
        where = anchor.locate(data, len(data))
        raise ctx.error(
            "expected a record (empty element or trailing comma)", record=index, **where
        )
    lead = len(data) - len(data.lstrip(_WS))
    return decode(body, ctx, lambda at: anchor.locate(data, lead + at), record=index)
