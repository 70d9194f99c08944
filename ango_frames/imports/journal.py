"""The import journal: a local JSON-lines file that makes a chunked import resumable.

Line 1 is a header ``{"type": "header", "project", "kind", "fingerprint", "run", "created"}``;
then, per chunk, a ``sending`` entry before the request and an ``acked`` entry after the hub's
answer said the chunk was applied, each ``{"type", "chunk", "key", "sha256"}``. Every line is
flushed and fsynced, so a crash leaves at most one cut last line; the next run drops it (that
chunk was not acked) and goes on. ``run`` is the import run's id: a resumed run keeps it, so its
requests carry the same idempotency keys and a hub that applied a chunk before the crash answers
it from its idempotency store instead of applying it again.

While an import holds the journal it holds an exclusive lock on the file: a second process
opening the same journal is refused at once. A journal written for a different plan (other
rows, chunking or project) is refused: mixing plans could skip rows that never went. A line
that is not one of ours (hand-edited, another tool's) is a ConfigError naming the line. The
journal holds ids and hashes only, never the api key or the payloads.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path
from typing import IO, Any

import orjson

from ango_frames.errors import ConfigError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["Journal"]

_HEADER_FIELDS = ("project", "kind", "fingerprint")
_ENTRY_TYPES = ("sending", "acked")


def _lock(fh: IO[bytes], path: Path) -> None:
    """An exclusive, non-blocking lock on the open journal; ConfigError when another holds it."""
    try:
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:  # pragma: no cover - Windows
            import msvcrt

            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError:
        fh.close()
        raise ConfigError(
            f"{path} is in use by another import (its file lock is held): wait for it to "
            "finish, or give this import its own journal"
        ) from None


class Journal:
    """An opened, locked journal for one import plan; ``close()`` it (or use ``with``).

    Parameters
    ----------
    path : str or Path
        The journal file (created when missing).
    project : str
        The project (or scope) of the import.
    kind : str
        ``labels``, ``attachments`` or ``annotate``.
    fingerprint : str
        The plan's fingerprint (sha256 over the chunk hashes, in order).

    Attributes
    ----------
    run : str or None
        The import run's id (new journals get a fresh one; journals written before run ids
        existed have None, and their chunks keep their content keys).

    Raises
    ------
    ConfigError
        The file holds a journal of another plan, is not a journal, holds a line that is not
        a journal entry, or is locked by another import.
    """

    def __init__(self, path: str | os.PathLike[str], project: str, kind: str, fingerprint: str):
        self.path = Path(path)
        self.project = project
        self.kind = kind
        self.fingerprint = fingerprint
        self.acked: dict[int, str] = {}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[bytes] | None = open(self.path, "a+b")  # noqa: SIM115 - held while importing
        _lock(self._fh, self.path)
        try:
            entries = self._read()
            if entries:
                self.run = self._check(entries)
            else:
                self.run = uuid.uuid4().hex
                self._append(
                    {
                        "type": "header",
                        "project": project,
                        "kind": kind,
                        "fingerprint": fingerprint,
                        "run": self.run,
                        "created": dt.datetime.now(dt.timezone.utc).isoformat(),
                    }
                )
        except BaseException:
            self.close()
            raise

    def _check(self, entries: list[tuple[int, dict[str, Any]]]) -> str | None:
        number, header = entries[0]
        if header.get("type") != "header" or not all(
            isinstance(header.get(k), str) for k in _HEADER_FIELDS
        ):
            raise ConfigError(f"{self.path}:{number}: not an ango_frames import journal header")
        theirs = tuple(header[k] for k in _HEADER_FIELDS)
        if theirs != (self.project, self.kind, self.fingerprint):
            raise ConfigError(
                f"{self.path} is the journal of another import plan (project "
                f"{header['project']!r}, {header['kind']}, fingerprint "
                f"{header['fingerprint'][:12]}...; this plan: {self.project!r}, {self.kind}, "
                f"{self.fingerprint[:12]}...). Use a new journal path, or the same rows and options."
            )
        run = header.get("run")
        if run is not None and not isinstance(run, str):
            raise ConfigError(f"{self.path}:{number}: the header's run id is not text")
        for number, entry in entries[1:]:
            chunk, key, sha = entry.get("chunk"), entry.get("key"), entry.get("sha256")
            if (
                entry.get("type") not in _ENTRY_TYPES
                or not isinstance(chunk, int)
                or isinstance(chunk, bool)
                or chunk < 0
                or not isinstance(key, str)
                or not isinstance(sha, str)
            ):
                raise ConfigError(
                    f"{self.path}:{number}: not a journal entry (expected "
                    '{"type": "sending" | "acked", "chunk": int, "key": str, "sha256": str}); '
                    "was the file edited by hand? Use a new journal path to start over"
                )
            if entry["type"] == "acked":
                self.acked[chunk] = sha
        return run

    def _read(self) -> list[tuple[int, dict[str, Any]]]:
        assert self._fh is not None
        self._fh.seek(0)
        data = self._fh.read()
        if data and not data.endswith(b"\n"):
            # a write cut short by a crash: that entry never counted; drop it so that the
            # next line starts on a line of its own
            keep = data.rfind(b"\n") + 1
            self._fh.truncate(keep)
            data = data[:keep]
        entries = []
        # split on "\n" only: a stray "\r" inside a line must not shift the line numbers
        for number, line in enumerate(data.split(b"\n"), 1):
            if not line.strip():
                continue
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                entry = None
            if not isinstance(entry, dict):
                raise ConfigError(
                    f"{self.path}:{number}: not a journal line (not a JSON object); was the "
                    "file edited by hand? Use a new journal path to start over"
                )
            entries.append((number, entry))
        return entries

    def _append(self, entry: dict[str, Any]) -> None:
        if self._fh is None:
            raise ConfigError(f"{self.path}: the journal is closed")
        self._fh.write(orjson.dumps(entry) + b"\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def is_acked(self, chunk: int, sha256: str) -> bool:
        """Whether this chunk (with this content) was acknowledged in an earlier run."""
        return self.acked.get(chunk) == sha256

    def sending(self, chunk: int, key: str, sha256: str) -> None:
        """Record that a chunk is about to be sent."""
        self._append({"type": "sending", "chunk": chunk, "key": key, "sha256": sha256})

    def ack(self, chunk: int, key: str, sha256: str) -> None:
        """Record that the hub said the chunk was applied."""
        self._append({"type": "acked", "chunk": chunk, "key": key, "sha256": sha256})
        self.acked[chunk] = sha256

    def close(self) -> None:
        """Release the lock and close the file (idempotent)."""
        if self._fh is not None:
            self._fh.close()  # closing the descriptor releases the lock
            self._fh = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_fh", None) is not None:
            self.close()

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r}, {len(self.acked)} chunks acked)"
