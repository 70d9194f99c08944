"""The threads of one conversion (export.threads): order, bounded queues, errors."""

from __future__ import annotations

import threading
import time

import pytest

from ango_frames.export.threads import Lanes


def test_lanes_keep_each_keys_order_and_run_keys_at_once() -> None:
    seen: dict[str, list[int]] = {"a": [], "b": [], "c": []}
    running: set[str] = set()
    overlap = []
    lock = threading.Lock()

    def fn(key: str, item: int) -> None:
        with lock:
            assert key not in running  # one item of a key at a time
            running.add(key)
            overlap.append(len(running))
        time.sleep(0.001)
        with lock:
            running.discard(key)
        seen[key].append(item)

    lanes = Lanes(fn, threads=2, depth=5)
    for i in range(60):
        lanes.put("abc"[i % 3], i)
    lanes.close()
    for n, key in enumerate("abc"):
        assert seen[key] == list(range(n, 60, 3))
    assert max(overlap) == 2  # two keys were written at the same time


def test_lanes_bound_the_items_held() -> None:
    held = []
    gate = threading.Event()
    lanes = Lanes(lambda key, item: gate.wait(5), threads=1, depth=3)
    putter = threading.Thread(
        target=lambda: [lanes.put("t", i) or held.append(i) for i in range(6)]
    )
    putter.start()
    time.sleep(0.2)
    assert held == [0, 1, 2]  # the fourth put waits for room
    gate.set()
    putter.join(5)
    lanes.close()
    assert held == list(range(6))


def test_lanes_raise_the_first_error_and_drop_the_rest() -> None:
    done = []

    def fn(key: str, item: int) -> None:
        if item == 2:
            raise ValueError("bad item 2")
        done.append(item)

    lanes = Lanes(fn, threads=2, depth=2)
    with pytest.raises(ValueError, match="bad item 2"):
        for i in range(50):
            lanes.put("t", i)
        lanes.close()
    lanes.close()  # the threads are gone; nothing more is raised
    assert done == [0, 1]
