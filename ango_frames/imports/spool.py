"""The first pass of a two-pass send: every chunk made once, its bytes kept on disk, not in memory.

With a journal (or a progress bar) the plan's fingerprint, or its length, must be known before
the first request, so every chunk is made before any is sent. :class:`Planned` makes each chunk
once and keeps only its outline (bounds, sha256, key); a plan that asks for it (``spill``) also
writes the chunk's bytes to a :class:`Spool`, an anonymous temporary file, and the send pass
reads them back instead of making the chunk a second time. The spool has no name on disk (it is
unlinked as soon as it is made, so nothing is left behind even if the process dies), is readable
only by its owner, and holds the bodies the requests carry, never the api key or a header. A
plan without ``spill``, or a spool that cannot be written (a full disk), makes each chunk again
when it is sent, as before; either way the send pass checks each chunk against its outline.
"""

from __future__ import annotations

import tempfile
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import IO

from ango_frames.imports.chunks import Chunk, ChunkPlan

__all__ = ["Planned", "Spool", "planned"]


class Spool:
    """Chunk bytes appended to an anonymous temporary file, read back by chunk index.

    Writes go out on a worker thread, one at a time (a chunk's bytes are handed over only when
    the previous write is done, so at most one chunk waits), while the caller makes the next
    chunk. Each chunk's CRC-32 is kept beside its offset; bytes that cannot be written, or read
    back different, are not returned (None), so the caller makes that chunk again.
    """

    def __init__(self, directory: str | None = None) -> None:
        self._fh: IO[bytes] | None = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115
        self._pool: ThreadPoolExecutor | None = None
        self._job: Future[None] | None = None
        self._at: dict[int, tuple[int, int, int]] = {}
        self._end = 0

    def put(self, index: int, raw: bytes) -> bool:
        """Keep chunk ``index``'s bytes; False once the spool is closed, or a write failed."""
        if not self._settle() or self._fh is None:
            return False
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="ango-spool")
        self._job = self._pool.submit(self._write, index, self._end, raw)
        self._end += len(raw)
        return True

    def _write(self, index: int, offset: int, raw: bytes) -> None:
        assert self._fh is not None
        self._fh.seek(offset)
        self._fh.write(raw)
        self._at[index] = (offset, len(raw), zlib.crc32(raw))

    def _settle(self) -> bool:
        """Wait for the write under way; False (and the spool closed) if it failed."""
        job, self._job = self._job, None
        if job is not None:
            try:
                job.result()
            except OSError:
                self.close()
                return False
        return True

    def get(self, index: int) -> bytes | None:
        """Chunk ``index``'s bytes as put, or None (not kept, or not read back intact)."""
        self._settle()
        where = self._at.get(index)
        if self._fh is None or where is None:
            return None
        offset, size, crc = where
        try:
            self._fh.seek(offset)
            raw = self._fh.read(size)
        except OSError:
            return None
        return raw if len(raw) == size and zlib.crc32(raw) == crc else None

    def close(self) -> None:
        if self._job is not None:
            self._job.exception()  # let the write under way end before its file does
            self._job = None
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self._at = {}

    def __len__(self) -> int:
        self._settle()
        return len(self._at)


class Planned:
    """The outlines of a plan's chunks, each chunk made once; :meth:`chunk` gives it back whole.

    Parameters
    ----------
    plan : ChunkPlan
        The plan; its chunks' bytes are spooled when ``plan.spill`` is set.
    directory : str, optional
        Where the spool goes (the system's temporary directory by default).
    """

    def __init__(self, plan: ChunkPlan, directory: str | None = None) -> None:
        self.plan = plan
        self.spool = Spool(directory) if plan.spill else None
        self.outlines: list[Chunk] = []
        for chunk in plan.cut():
            if self.spool is not None and not self.spool.put(chunk.index, chunk.raw):
                self.spool = None  # could not write: the send pass makes chunks again
            self.outlines.append(chunk.outline())
            del chunk  # one chunk's bytes at a time

    def chunk(self, outline: Chunk) -> Chunk:
        """Chunk ``outline`` with its bytes: read back from the spool (its body made from the
        plan when read), else made again from the plan (then checked by its sha256)."""
        raw = self.spool.get(outline.index) if self.spool is not None else None
        if raw is None:
            return self.plan.remake(outline)
        body = self.plan.body
        return Chunk(outline.index, outline.path, outline.start, outline.stop, None, raw,
                     outline.sha256, outline.key, outline.params,
                     made=lambda: body(outline))  # fmt: skip

    def close(self) -> None:
        if self.spool is not None:
            self.spool.close()


@contextmanager
def planned(plan: ChunkPlan, directory: str | None = None) -> Iterator[Planned]:
    """:class:`Planned` of ``plan``, its spool removed on leaving."""
    made = Planned(plan, directory)
    try:
        yield made
    finally:
        made.close()
