"""The numpy rasteriser and the stdlib PNG codec: known shapes give known pixel counts."""

from __future__ import annotations

import io

import numpy as np
import pytest

from ango_frames.look.png import decode_png, encode_png
from ango_frames.look.raster import box_ring, fill_box, fill_rings, rings_mask, rotated_ring


def test_box_covers_the_pixels_whose_centres_are_inside():
    m = np.zeros((100, 100), np.uint8)
    assert fill_rings(m, [box_ring(10, 20, 30, 5)], 1) == 150
    rows, cols = np.nonzero(m)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (20, 24, 10, 39)
    assert fill_box(np.zeros((100, 100)), 10, 20, 30, 5, 1) == 150
    # half-pixel edges: centres 10.5 .. 12.5 are inside [10.2, 12.7)
    assert fill_box(np.zeros((50, 50)), 10.2, 0, 2.5, 1, 1) == 3


def test_triangle_and_clipping():
    tri = np.array([[0, 0], [40, 0], [0, 40]])
    assert fill_rings(np.zeros((100, 100)), [tri], 1) == 39 * 40 // 2  # 780 centres inside
    # a box half past the right edge keeps only its inside part
    assert fill_rings(np.zeros((10, 10)), [box_ring(5, 0, 10, 10)], 1) == 50
    assert fill_box(np.zeros((10, 10)), 20, 20, 5, 5, 1) == 0


def test_holes_are_empty_with_even_odd_whatever_their_orientation():
    outer, hole = box_ring(0, 0, 50, 50), box_ring(10, 10, 10, 10)
    for ring in (hole, hole[::-1]):
        m = np.zeros((60, 60), np.uint8)
        assert fill_rings(m, [outer, ring], 1) == 2500 - 100
        assert m[10:20, 10:20].sum() == 0 and m[5, 5] == 1 and m[25, 25] == 1


def test_nonzero_rule_follows_winding():
    outer, hole = box_ring(0, 0, 50, 50), box_ring(10, 10, 10, 10)
    same = np.zeros((60, 60))
    assert fill_rings(same, [outer, hole], 1, rule="nonzero") == 2500  # same direction: filled
    assert fill_rings(np.zeros((60, 60)), [outer, hole[::-1]], 1, rule="nonzero") == 2400
    with pytest.raises(ValueError, match="rule"):
        fill_rings(same, [outer], 1, rule="winding")


def test_rotated_box_quarter_turn_and_overlapping_rings():
    ring = rotated_ring(40, 45, 20, 10, 90)  # centre (50, 50): now 10 wide, 20 tall
    m = np.zeros((100, 100), np.uint8)
    assert fill_rings(m, [ring], 1) == 200
    rows, cols = np.nonzero(m)
    assert (cols.min(), cols.max(), rows.min(), rows.max()) == (45, 54, 40, 59)
    # a concave (U-shaped) polygon: the notch stays empty
    u = np.array([[0, 0], [30, 0], [30, 30], [20, 30], [20, 10], [10, 10], [10, 30], [0, 30]])
    m = np.zeros((40, 40), np.uint8)
    assert fill_rings(m, [u], 1) == 900 - 200
    assert m[15, 15] == 0 and m[5, 15] == 1
    assert rings_mask([np.array([[0, 0], [5, 0]])], (10, 10)) is None  # degenerate


def test_png_round_trip_and_pillow_agrees():
    pil = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    for arr in (
        rng.integers(0, 256, (7, 9), dtype=np.uint8),
        rng.integers(0, 256, (5, 4, 3), dtype=np.uint8),
        rng.integers(0, 256, (3, 6, 4), dtype=np.uint8),
        rng.integers(0, 65536, (4, 5), dtype=np.uint16),
    ):
        data = encode_png(arr)
        assert encode_png(arr) == data  # deterministic bytes
        assert np.array_equal(decode_png(data), arr)
        with pil.open(io.BytesIO(data)) as im:
            seen = np.asarray(im)
        assert np.array_equal(seen.astype(arr.dtype), arr)
    # PNGs written by pillow use the Sub / Up / Average / Paeth filters: our reader undoes them
    img = (np.add.outer(np.arange(40), np.arange(30)) * 3 % 256).astype(np.uint8)
    rgb = np.dstack([img, img[::-1], img.T[:40, :30] if img.T.shape == img.shape else img // 2])
    buf = io.BytesIO()
    pil.fromarray(rgb).save(buf, format="PNG", optimize=True)
    assert np.array_equal(decode_png(buf.getvalue()), rgb)
    pal = io.BytesIO()
    pil.fromarray(img).convert("P").save(pal, format="PNG")
    with pil.open(io.BytesIO(pal.getvalue())) as im:
        expected = np.asarray(im.convert("RGB"))
    assert np.array_equal(decode_png(pal.getvalue()), expected)


def test_png_rejects_what_it_cannot_write_or_read():
    with pytest.raises(ValueError, match="uint8 or uint16"):
        encode_png(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match="signature"):
        decode_png(b"GIF89a")
