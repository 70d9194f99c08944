"""Threads of one conversion: a reader ahead of the flattener, writers behind it.

With the native core the flattening runs without the GIL, and so do most of file reading and
pyarrow's Parquet writing: a thread for reading and writer threads (:class:`Lanes`, one table's
file at a time each), beside the threads that flatten, keep two cores busy in one process. Every
queue is bounded (a few blocks ahead, a few flushes behind), so memory stays flat whatever the
export's size. An error in a thread is raised again in the caller, and leaving early stops the
threads.
"""

from __future__ import annotations

import collections
import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["Behind", "Lanes", "ahead"]

_DONE = object()


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def ahead(items: Iterable[Any], depth: int = 4) -> Iterator[Any]:
    """``items``, produced by a thread of their own up to ``depth`` items ahead of the caller."""
    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        box.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(_DONE)
        except BaseException as error:
            box.put(_Failed(error))

    thread = threading.Thread(target=produce, name="ango-frames-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = box.get()
            if item is _DONE:
                return
            if type(item) is _Failed:
                raise item.error
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                box.get(timeout=0.05)
        thread.join()


class Behind:
    """Calls ``fn`` on every item put, in order, in a thread of its own (``depth`` queued)."""

    def __init__(self, fn: Callable[[Any], None], depth: int = 3) -> None:
        self._fn = fn
        self._box: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._consume, name="ango-frames-writer")
        self._thread.daemon = True
        self._thread.start()

    def _consume(self) -> None:
        while True:
            item = self._box.get()
            if item is _DONE:
                return
            if self._error is None:
                try:
                    self._fn(item)
                except BaseException as error:
                    self._error = error

    def _check(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def put(self, item: Any) -> None:
        self._check()
        self._box.put(item)

    def close(self) -> None:
        """Wait for every item put; raise the first error of ``fn``."""
        self._box.put(_DONE)
        self._thread.join()
        self._check()


class Lanes:
    """Calls ``fn(key, item)`` on every item put, in ``threads`` threads of their own.

    The items of one key (a table) are handled one at a time, in the order put; different keys
    run at the same time. ``put`` waits while ``depth`` items are queued or running, so memory
    stays bounded. The first error of ``fn`` is raised by the next ``put`` or by ``close``; the
    items after it are dropped.
    """

    def __init__(self, fn: Callable[[Any, Any], None], threads: int = 2, depth: int = 24) -> None:
        self._fn = fn
        self._depth = depth
        self._lanes: dict[Any, collections.deque] = {}
        self._ready: collections.deque = collections.deque()  # keys with items and no runner
        self._running: set = set()
        self._held = 0  # items queued or running
        self._closing = False
        self._error: BaseException | None = None
        self._failed = False  # once true, the items left are dropped
        self._cond = threading.Condition()
        self._threads = [
            threading.Thread(target=self._work, name=f"ango-frames-writer-{i}", daemon=True)
            for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        cond = self._cond
        while True:
            with cond:
                while not self._ready and not (self._closing and self._held == 0):
                    cond.wait()
                if not self._ready:
                    return
                key = self._ready.popleft()
                self._running.add(key)
                item = self._lanes[key].popleft()
                failed = self._failed
            if not failed:
                try:
                    self._fn(key, item)
                except BaseException as error:
                    with cond:
                        if not self._failed:
                            self._failed, self._error = True, error
            del item
            with cond:
                self._held -= 1
                self._running.discard(key)
                if self._lanes[key]:
                    self._ready.append(key)
                cond.notify_all()

    def _check(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def put(self, key: Any, item: Any) -> None:
        with self._cond:
            while self._held >= self._depth and not self._failed:
                self._cond.wait()
            self._check()
            lane = self._lanes.get(key)
            if lane is None:
                lane = self._lanes[key] = collections.deque()
            lane.append(item)
            self._held += 1
            if len(lane) == 1 and key not in self._running:
                self._ready.append(key)
                self._cond.notify()

    def close(self) -> None:
        """Wait for every item put; raise the first error of ``fn``."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join()
        self._check()
