"""Threads of one conversion: a reader ahead of the flattener, a writer behind it.

With the native core the flattening runs without the GIL, and so do most of file reading and
pyarrow's Parquet writing: a thread each for reading and for writing, beside the thread that
flattens, keeps two cores busy in one process. Both queues are bounded (a few blocks ahead, a
few flushes behind), so memory stays flat whatever the export's size. An error in a thread is
raised again in the caller, and leaving early stops the threads.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["Behind", "ahead"]

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
