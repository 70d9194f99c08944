"""Cutting an import into requests: chunks by count and bytes, their hashes, the dry-run view.

A chunk's content key (``Chunk.key``, the dry run's ``key``) is the sha256 of the project and the
chunk's exact bytes, so the same input always gives the same chunks, hashes and keys. The
``Idempotency-Key`` a request carries is :func:`request_key`: the content key bound to the import
run's id, which the journal keeps. A resumed run therefore sends identical requests with the same
keys (a hub that applied one before a crash answers it from its idempotency store), while a new
run, a deliberate re-import, is applied again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import pandas as pd

from ango_frames.errors import ConfigError

if TYPE_CHECKING:
    from ango_frames.imports.labels import LabelBatch

__all__ = [
    "Chunk",
    "DryRun",
    "plan_chunks",
    "plan_fingerprint",
    "plan_frame",
    "request_key",
    "sha256_hex",
]


@dataclass
class Chunk:
    """One request of an import: its items, body bytes, hash and idempotency key."""

    index: int
    path: str
    start: int  # first item (label, attachment, task) in the import's order
    stop: int
    body: dict[str, Any]
    raw: bytes
    sha256: str
    key: str
    params: dict[str, str] | None = None

    @property
    def items(self) -> Any:
        """The chunk's items (labels, import-file items, attachments), as in its body."""
        return next(v for k, v in self.body.items() if k != "project")


_EFFECT = {
    "labels": "each label REPLACES its asset's current answer on the hub (objects, "
    "classifications and relations, human ones included; nothing is merged)",
    "annotate": "each request REPLACES its task's current answer on the hub (nothing is merged)",
    "attachments": "attachments are added to their assets; nothing is replaced",
}


@dataclass
class DryRun:
    """What an import would send, without sending it.

    Attributes
    ----------
    chunks : list of dict
        The request bodies, in sending order.
    plan : pandas.DataFrame
        One row per chunk: ``chunk, path, items, bytes, sha256, key, first, last``.
    id_map : pandas.DataFrame
        Generated object ids (see :class:`~ango_frames.imports.labels.LabelBatch`).
    failures : pandas.DataFrame
        Problems found (rows left out with ``on_error="skip"``).
    batch : LabelBatch or None
        The built labels (``None`` for attachments).
    kind : str
        ``labels``, ``attachments`` or ``annotate``: what :meth:`summary` says the import
        would replace.
    """

    chunks: list[dict[str, Any]]
    plan: pd.DataFrame
    id_map: pd.DataFrame
    failures: pd.DataFrame
    batch: LabelBatch | None = None
    kind: str = "labels"

    def summary(self) -> str:
        """A short human summary: chunk count, items, bytes, problems."""
        items = int(self.plan["items"].sum()) if len(self.plan) else 0
        size = int(self.plan["bytes"].sum()) if len(self.plan) else 0
        return (
            f"dry run: {len(self.chunks)} request(s), {items} item(s), {size:,d} bytes; "
            f"{len(self.id_map)} generated object id(s); {len(self.failures)} problem(s); "
            f"nothing was sent. Sending it: {_EFFECT.get(self.kind, _EFFECT['labels'])}"
        )

    def __repr__(self) -> str:
        return f"DryRun({self.summary()})"


def sha256_hex(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def request_key(run: str | None, key: str) -> str:
    """The ``Idempotency-Key`` of a chunk in import run ``run`` (None: the bare content key,
    for journals written before run ids existed)."""
    return key if run is None else sha256_hex(b"run\0", run.encode(), b"\0", key.encode())


def plan_chunks(
    project: str,
    field: str,
    items: list[dict[str, Any]],
    path: str,
    *,
    chunk_rows: int = 500,
    chunk_bytes: int = 4_000_000,
) -> list[Chunk]:
    """Cut ``items`` into ``{"project": project, field: [...]}`` bodies.

    A chunk holds at most ``chunk_rows`` items and, unless a single item is bigger, at most
    ``chunk_bytes`` bytes of serialised body. Deterministic: the same items give the same
    chunks, hashes and keys.
    """
    if chunk_rows < 1 or chunk_bytes < 1:
        raise ConfigError("chunk_rows and chunk_bytes must be positive")
    head = b'{"project":' + orjson.dumps(project) + b',"' + field.encode() + b'":['
    overhead = len(head) + 2
    chunks: list[Chunk] = []
    parts: list[bytes] = []
    size, start = overhead, 0

    def close(stop: int) -> None:
        raw = head + b",".join(parts) + b"]}"
        body = {"project": project, field: items[start:stop]}
        chunks.append(
            Chunk(
                len(chunks),
                path,
                start,
                stop,
                body,
                raw,
                sha256_hex(raw),
                sha256_hex(project.encode(), raw),
            )
        )

    for i, item in enumerate(items):
        part = orjson.dumps(item)
        extra = len(part) + (1 if parts else 0)
        if parts and (len(parts) >= chunk_rows or size + extra > chunk_bytes):
            close(i)
            parts, size, start = [], overhead, i
            extra = len(part)
        parts.append(part)
        size += extra
    if parts:
        close(len(items))
    return chunks


def plan_frame(chunks: list[Chunk], keys: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "chunk": [c.index for c in chunks],
            "path": [c.path for c in chunks],
            "items": [c.stop - c.start for c in chunks],
            "bytes": [len(c.raw) for c in chunks],
            "sha256": [c.sha256 for c in chunks],
            "key": [c.key for c in chunks],
            "first": [keys[c.start][1] if c.stop > c.start else None for c in chunks],
            "last": [keys[c.stop - 1][1] if c.stop > c.start else None for c in chunks],
        }
    )


def plan_fingerprint(kind: str, project: str, chunks: list[Chunk]) -> str:
    return sha256_hex(kind.encode(), b"\0", project.encode(), *(c.sha256.encode() for c in chunks))
