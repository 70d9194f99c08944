"""PNG files with the standard library and numpy: write masks and demo images, read brush masks.

No pillow needed: the core install (and the local hub) write PNGs with ``zlib`` and ``struct``.
``encode_png`` writes 8- or 16-bit greyscale, RGB or RGBA without metadata chunks, so the same
array always gives the same bytes. ``decode_png`` reads non-interlaced PNGs of bit depth 8 or 16
(greyscale, RGB, palette, with or without alpha), which covers masks and what ``encode_png``
writes; anything else raises ``ValueError`` naming what it found.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = ["decode_png", "encode_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> channels


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(array: np.ndarray, *, level: int = 6) -> bytes:
    """The PNG bytes of an ``(h, w)`` or ``(h, w, 1-4)`` uint8 / uint16 array (filter type 0)."""
    a = np.asarray(array)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in _COLOUR_TYPES or 0 in a.shape[:2]:
        raise ValueError(f"expected an (h, w) or (h, w, 1-4) array, got shape {a.shape}")
    if a.dtype == np.uint8:
        depth, body = 8, a
    elif a.dtype == np.uint16:
        depth, body = 16, a.astype(">u2")
    else:
        raise ValueError(f"expected uint8 or uint16 pixels, got {a.dtype}")
    h, w, c = a.shape
    rows = np.ascontiguousarray(body).view(np.uint8).reshape(h, -1)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()
    header = struct.pack(">IIBBBBB", w, h, depth, _COLOUR_TYPES[c], 0, 0, 0)
    return (
        _SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, level))
        + _chunk(b"IEND", b"")
    )


def _unfilter(data: bytes, h: int, stride: int, bpp: int) -> np.ndarray:
    """Undo the per-row PNG filters (None, Sub, Up, Average, Paeth)."""
    raw = np.frombuffer(data, np.uint8)
    if raw.size < h * (stride + 1):
        raise ValueError("PNG image data is shorter than its header says")
    raw = raw[: h * (stride + 1)].reshape(h, stride + 1)
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    for r in range(h):
        kind, line = raw[r, 0], raw[r, 1:].astype(np.int32)
        if kind == 0:
            cur = line
        elif kind == 2:
            cur = (line + prev) & 0xFF
        elif kind in (1, 3, 4):
            cur = line.copy()
            for i in range(stride):  # rare in masks; plain loop keeps it readable
                left = cur[i - bpp] if i >= bpp else 0
                up = prev[i]
                if kind == 1:
                    pred = left
                elif kind == 3:
                    pred = (left + up) >> 1
                else:
                    ul = prev[i - bpp] if i >= bpp else 0
                    p = left + up - ul
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                    pred = left if pa <= pb and pa <= pc else (up if pb <= pc else ul)
                cur[i] = (cur[i] + pred) & 0xFF
        else:
            raise ValueError(f"PNG row {r} has unknown filter type {kind}")
        out[r] = cur
        prev = cur
    return out


def decode_png(data: bytes) -> np.ndarray:
    """The pixels of a PNG: ``(h, w)`` for greyscale / palette indices, else ``(h, w, c)``.

    Palette images are expanded to RGB (RGBA with a ``tRNS`` chunk).
    """
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG file (bad signature)")
    pos, idat, palette, trns = 8, [], None, None
    header: tuple[int, ...] | None = None
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"PLTE":
            palette = np.frombuffer(body, np.uint8).reshape(-1, 3)
        elif kind == b"tRNS":
            trns = np.frombuffer(body, np.uint8)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("PNG without an IHDR chunk")
    w, h, depth, ctype, _, _, interlace = header
    if interlace or depth not in (8, 16) or ctype not in _CHANNELS or (ctype == 3 and depth != 8):
        raise ValueError(
            f"unsupported PNG: bit depth {depth}, colour type {ctype}, interlace {interlace}"
        )
    c = _CHANNELS[ctype]
    bpp = c * depth // 8
    rows = _unfilter(zlib.decompress(b"".join(idat)), h, w * bpp, bpp)
    pixels = rows.view(">u2").astype(np.uint16) if depth == 16 else rows
    pixels = pixels.reshape(h, w, c)
    if ctype == 3:
        if palette is None:
            raise ValueError("palette PNG without a PLTE chunk")
        rgb = palette[pixels[:, :, 0]]
        if trns is None:
            return rgb
        alpha = np.full(len(palette), 255, np.uint8)
        alpha[: len(trns)] = trns[: len(palette)]
        return np.dstack([rgb, alpha[pixels[:, :, 0]]])
    return pixels[:, :, 0] if c == 1 else pixels
