"""Record boundaries in a JSON array (or a file of whole objects), found without parsing.

The positions of ``{}[]",`` are picked out of each chunk with ``bytes.translate`` and numpy,
string contents are masked by quote parity (escaped quotes and backslashes neutralised first, and
a chunk never ends inside an escape), and the nesting depth is a cumulative sum. Top-level commas
(or closing brackets back at depth 0) cut records, whose bytes orjson then decodes. State carries
from chunk to chunk, so every byte is scanned once and memory is one chunk plus one record.

With ``raw`` (for the native flattening core, when it is built), the records of a JSON array
come as :class:`~ango_frames.export.jsonstream.Lines` blocks instead, one record a line: the
core's own scanner (``scan.cc``, the twin of the numpy one: same cuts, same stops) finds the
boundaries, and the newlines between a record's tokens become spaces (inside a string, where a
raw newline is invalid JSON, a NUL that the core refuses). A record the core hands back is read
from its original bytes as here, so its errors and positions are those of the Python reader;
a record that cannot be an object (not starting with ``{``) is read here, in order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ango_frames.errors import AngoError
from ango_frames.export.jsonstream import _WS, RAW_BLOCK_BYTES, Ctx, Lines, _regroup, decode

__all__ = ["iter_array", "iter_objects"]

_STRUCT_TABLE = bytes(1 if b in b'{}[]",' else 0 for b in range(256))
_OBJECT = re.compile(rb"[ \t]*\{")  # how a record line for the core starts (newlines: spaces)

_core: Any
try:
    from ango_frames.export.flatten import _core
except ImportError:  # not built: records, never blocks
    _core = None


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


class _Block:
    """Consecutive records of an array gathered as one :class:`Lines` block (``raw``)."""

    __slots__ = ("ctx", "first", "index", "lines", "newlines", "origs", "size")

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.lines: list[bytes] = []  # each record as one line
        self.origs: list[bytes] = []  # ... and as it is in the file
        self.newlines = False
        self.first: _Anchor | None = None
        self.index = self.size = 0

    def add(self, line: bytes, orig: bytes, anchor: _Anchor, index: int) -> None:
        if not self.lines:
            self.first, self.index = anchor, index
        self.lines.append(line)
        self.origs.append(orig)
        self.newlines = self.newlines or line is not orig
        self.size += len(line)

    def take(self) -> Lines:
        """The block, to be read by the core; a record it hands back is read as ``_record``
        reads it (the original bytes, their positions), then the block starts again empty."""
        a, ctx, index = self.first, self.ctx, self.index
        assert a is not None
        data = b"\n".join(self.lines)
        # the records are consecutive: joined by commas again, the very bytes of the file
        orig = b",".join(self.origs) if self.newlines else b""
        nl = a.chunk.rfind(b"\n", 0, a.pos)  # (fast; counting is not: only if there is one)
        lines = a.lines + (a.chunk.count(b"\n", 0, nl + 1) if nl >= 0 else 0)
        last_nl = a.chunk_off + nl if nl >= 0 else a.last_nl
        off = a.chunk_off + a.pos

        def read(ln: bytes, pos: int, k: int) -> Any:
            rec = orig[pos : pos + len(ln)] if orig else ln
            return _record(rec, _Anchor(orig, pos, off, lines, last_nl), ctx, index + k, True)

        self.lines, self.origs, self.newlines, self.first, self.size = [], [], False, None, 0
        return Lines(data, read, ctx.max_depth)


def iter_array(
    chunks: Iterator[bytes],
    ctx: Ctx,
    *,
    raw: bool = False,
    offset: int = 0,
    line: int = 1,
    last_nl: int = -1,
) -> Iterator[Any]:
    """Records of a JSON array; ``chunks`` start at its '['. See :func:`_scan_records`; with
    ``raw`` (and the native core built), blocks of records as :class:`Lines`."""
    if raw and _core is not None:
        blocks = _scan_records(
            _regroup(chunks, RAW_BLOCK_BYTES), ctx, array=True, offset=offset, line=line,
            last_nl=last_nl, raw=True,
        )  # fmt: skip
        return _errors_in_line(blocks, ctx.max_depth)
    return _scan_records(chunks, ctx, array=True, offset=offset, line=line, last_nl=last_nl)


def _errors_in_line(blocks: Iterator[Any], max_depth: int) -> Iterator[Any]:
    """``blocks``, an error raised on the way coming as one more block, whose only line raises
    it when read: after every record before it (the Python reader's order), however many blocks
    the core's threads have taken ahead."""
    try:
        yield from blocks
    except AngoError as error:
        failed = error
    else:
        return

    def fail(_line: bytes, _pos: int, _k: int) -> Any:
        raise failed

    yield Lines(b"!", fail, max_depth)  # not a record: the core hands it back


def iter_objects(
    chunks: Iterator[bytes], ctx: Ctx, *, offset: int = 0, line: int = 1, last_nl: int = -1
) -> Iterator[dict[str, Any]]:
    """Records of a file of whole JSON objects (one pretty-printed object, or several)."""
    return _scan_records(chunks, ctx, array=False, offset=offset, line=line, last_nl=last_nl)


Scanned = tuple[list[int], int, bool, int, bool, bytes | None]  # see _structure


def _structure(
    chunk: bytes, depth: int, in_str: bool, array: bool, max_depth: int, raw: bool
) -> Scanned:
    """Where records end in ``chunk`` and the first stop: ``(cuts, stop, too_deep, depth,
    in_str, out)``; cuts are top-level commas of an array (closing brackets back at depth 0 of
    objects); stop -1 or the byte of the first bracket below the floor (the array closes, or a
    bracket is stray) or above the depth limit; depth and in_str after the chunk; ``out`` the
    chunk with its newlines blanked (``raw`` only, when it has any)."""
    level = 1 if array else 0  # depth at which records sit between separators
    ceiling = max_depth + level
    if raw:
        blank = b"\n" in chunk or b"\r" in chunk
        cuts, stop, kind, depth, in_str, out = _core.scan_array(
            chunk, depth, in_str, ceiling, blank
        )
        return cuts, stop, kind == 1, depth, in_str, out
    import numpy as np

    delta_of = np.zeros(256, np.int8)
    delta_of[[0x7B, 0x5B]] = 1
    delta_of[[0x7D, 0x5D]] = -1
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
    floor = level  # below it: the array closes, or a bracket is stray
    # record boundaries: top-level commas of an array; closing brackets back at depth 0
    cut = ((dep == level) & (ch == 44) & ~inside) if array else ((dep == 0) & (delta < 0))
    limit, stop, too_deep = len(ch), -1, False
    if dep.size and (dep.min() < floor or dep.max() > ceiling):  # rare: reduce first
        deep = dep > ceiling
        bad = np.flatnonzero((dep < floor) | deep)
        if bad.size:
            limit = int(bad[0])
            stop, too_deep = int(pos[limit]), bool(deep[limit])
    cuts = pos[np.flatnonzero(cut[:limit])].tolist()
    if stop < 0 and dep.size:
        depth, in_str = int(dep[-1]), bool(inside[-1])
    return cuts, stop, too_deep, depth, in_str, None


def _scan_records(
    chunks: Iterator[bytes],
    ctx: Ctx,
    *,
    array: bool,
    offset: int = 0,
    line: int = 1,
    last_nl: int = -1,
    raw: bool = False,
) -> Iterator[Any]:
    """The records (``raw``: record blocks) of chunks starting at an array's '[' (or at an
    object's first byte); offset, line and last_nl place the first byte, for errors."""
    level = 1 if array else 0
    depth, in_str = 0, False
    lines = line - 1
    chunk_off = offset
    parts: list[bytes] = []  # bytes of the record being read, before the current chunk
    parts_out: list[bytes] = []  # ... with newlines blanked (raw)
    carry_nl = False  # some of parts_out had newlines blanked
    block = _Block(ctx) if raw else None
    anchor: _Anchor | None = None
    index = 0
    held = b""
    done = False  # the array's closing ']' was seen
    out: bytes | None = None
    blanked = b""

    def emit(rec: bytes, start: int, end: int) -> Iterator[Any]:
        """One record (its bytes ``rec``, ending at ``end`` of this chunk): decoded, or added
        to the block with its newlines blanked."""
        assert anchor is not None
        if block is None:
            yield _record(rec, anchor, ctx, index, array)
            return
        one = rec
        if out is not None or carry_nl:
            one = b"".join([*parts_out, blanked[start:end]])
        yield from _add(block, one, rec, anchor, index)

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
            cuts, stop, too_deep, new_depth, new_in_str, out = _structure(
                chunk, depth, in_str, array, ctx.max_depth, raw
            )
            blanked = out if out is not None else chunk
            start = 0  # where the current record starts in this chunk
            if anchor is None:
                anchor = _Anchor(chunk, 0, chunk_off, lines, last_nl)
            for p in cuts:
                end = p if array else p + 1
                rec = b"".join([*parts, chunk[start:end]]) if parts else chunk[start:end]
                yield from emit(rec, start, end)
                index += 1
                parts, parts_out, carry_nl = [], [], False
                start = end + 1 if array else end
                anchor = _Anchor(chunk, start, chunk_off, lines, last_nl)
            if stop >= 0:
                p = stop
                head = b"".join([*parts, chunk[start : p + 1]])
                if block is not None and not (array and chunk[p] == 0x5D and not too_deep):
                    yield from _flush(block)
                if too_deep:
                    raise ctx.error(
                        f"JSON nested deeper than max_depth={ctx.max_depth}",
                        record=index,
                        **anchor.locate(head, len(head) - 1),
                    )
                if not array or chunk[p] != 0x5D:
                    raise ctx.error(
                        f"unexpected {chr(chunk[p])!r}: brackets do not match",
                        record=index if array else None,
                        **anchor.locate(head, len(head) - 1),
                    )
                # the array's closing ']'
                rec = head[:-1]
                if rec.strip(_WS) or index > 0:
                    yield from emit(rec, start, p)
                    index += 1
                if block is not None:
                    yield from _flush(block)
                done = True
                after = chunk[p + 1 :]
                if after.strip(_WS):
                    at = p + 1 + len(after) - len(after.lstrip(_WS))
                    a = _Anchor(chunk, at, chunk_off, lines, last_nl)
                    raise ctx.error("unexpected content after the JSON array", **a.locate(b"", 0))
            else:
                if start < len(chunk):
                    piece = chunk[start:]
                    parts.append(piece)
                    if block is not None:  # the same bytes unless newlines were blanked
                        parts_out.append(piece if out is None else out[start:])
                        carry_nl = carry_nl or out is not None
                depth, in_str = new_depth, new_in_str
                if block is not None:
                    yield from _flush(block)
        nl = chunk.rfind(b"\n")  # (fast; counting is not: only if there is one)
        if nl >= 0:
            lines += chunk.count(b"\n", 0, nl + 1)
            last_nl = chunk_off + nl
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


def _flush(block: _Block) -> Iterator[Lines]:
    if block.lines:
        yield block.take()


def _add(block: _Block, line: bytes, rec: bytes, anchor: _Anchor, index: int) -> Iterator[Any]:
    """Record ``index`` into ``block``; one that cannot be an object is read here, in order."""
    if _OBJECT.match(line):
        block.add(line, rec, anchor, index)
        return
    yield from _flush(block)
    yield _record(rec, anchor, block.ctx, index, True)


def _record(data: bytes, anchor: _Anchor, ctx: Ctx, index: int, array: bool) -> dict[str, Any]:
    body = data.strip(_WS)
    if not body:
        where = anchor.locate(data, len(data))
        raise ctx.error(
            "expected a record (empty element or trailing comma)", record=index, **where
        )
    lead = len(data) - len(data.lstrip(_WS))
    return decode(body, ctx, lambda at: anchor.locate(data, lead + at), record=index)
