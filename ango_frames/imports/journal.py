"""The import journal: a local JSON-lines file that makes a chunked import resumable.

Line 1 is a header ``{"type": "header", "project", "kind", "fingerprint", "created"}``; then, per
chunk, a ``sending`` entry before the request and an ``acked`` entry after the hub's success
answer, each ``{"type", "chunk", "key", "sha256"}``. Every line is flushed and fsynced, so a crash
leaves at most one partial last line (ignored on reading). Re-running with the same journal
skips acked chunks and re-sends the others with the same idempotency key. A journal written for a
different plan (other rows, chunking or project) is refused: mixing plans could skip rows that
never went. The journal holds ids and hashes only, never the api key or the payloads.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import orjson

from ango_frames.errors import ConfigError

__all__ = ["Journal"]


class Journal:
    """An opened journal for one import plan.

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

    Raises
    ------
    ConfigError
        The file holds a journal of another plan, or is not a journal.
    """

    def __init__(self, path: str | os.PathLike[str], project: str, kind: str, fingerprint: str):
        self.path = Path(path)
        self.project = project
        self.kind = kind
        self.fingerprint = fingerprint
        self.acked: dict[int, str] = {}
        entries = self._read()
        if entries:
            header = entries[0]
            if header.get("type") != "header":
                raise ConfigError(f"{self.path}: not an ango_frames import journal")
            theirs = (header.get("project"), header.get("kind"), header.get("fingerprint"))
            if theirs != (project, kind, fingerprint):
                raise ConfigError(
                    f"{self.path} is the journal of another import plan (project "
                    f"{header.get('project')!r}, {header.get('kind')}, fingerprint "
                    f"{str(header.get('fingerprint'))[:12]}...; this plan: {project!r}, {kind}, "
                    f"{fingerprint[:12]}...). Use a new journal path, or the same rows and options."
                )
            for entry in entries[1:]:
                if entry.get("type") == "acked":
                    self.acked[int(entry["chunk"])] = str(entry["sha256"])
        else:
            self._append(
                {
                    "type": "header",
                    "project": project,
                    "kind": kind,
                    "fingerprint": fingerprint,
                    "created": dt.datetime.now(dt.timezone.utc).isoformat(),
                }
            )

    def _read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        lines = self.path.read_bytes().splitlines()
        entries = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                if number == len(lines):
                    break  # a write cut short by a crash: that chunk was not acked
                raise ConfigError(f"{self.path}:{number}: not a journal line") from None
            if not isinstance(entry, dict):
                raise ConfigError(f"{self.path}:{number}: not a journal line")
            entries.append(entry)
        return entries

    def _append(self, entry: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as fh:
            fh.write(orjson.dumps(entry) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())

    def is_acked(self, chunk: int, sha256: str) -> bool:
        """Whether this chunk (with this content) was acknowledged in an earlier run."""
        return self.acked.get(chunk) == sha256

    def sending(self, chunk: int, key: str, sha256: str) -> None:
        """Record that a chunk is about to be sent."""
        self._append({"type": "sending", "chunk": chunk, "key": key, "sha256": sha256})

    def ack(self, chunk: int, key: str, sha256: str) -> None:
        """Record that the hub acknowledged a chunk."""
        self._append({"type": "acked", "chunk": chunk, "key": key, "sha256": sha256})
        self.acked[chunk] = sha256

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r}, {len(self.acked)} chunks acked)"
