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
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import pandas as pd

from ango_frames.errors import ConfigError

if TYPE_CHECKING:
    from ango_frames.imports.labels import LabelBatch

__all__ = [
    "Chunk",
    "ChunkPlan",
    "DryRun",
    "Sending",
    "cut_chunks",
    "cut_texts",
    "plan_chunks",
    "plan_fingerprint",
    "plan_frame",
    "remake_chunk",
    "remake_texts",
    "request_key",
    "sha256_hex",
]


@dataclass(init=False)
class Chunk:
    """One request of an import: its items, body bytes, hash and idempotency key.

    ``body`` (the parsed body: project and items) may be made only when first read, by
    ``made()``: a streamed import sends :attr:`raw` and needs the items only to verify them.
    """

    index: int
    path: str
    start: int  # first item (label, attachment, task) in the import's order
    stop: int
    raw: bytes
    sha256: str
    key: str
    params: dict[str, str] | None
    size: int | None

    def __init__(
        self,
        index: int,
        path: str,
        start: int,
        stop: int,
        body: dict[str, Any] | None,
        raw: bytes,
        sha256: str,
        key: str,
        params: dict[str, str] | None = None,
        size: int | None = None,
        made: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.index, self.path, self.start, self.stop = index, path, start, stop
        self.raw, self.sha256, self.key, self.params, self.size = raw, sha256, key, params, size
        self._body, self._made = body, made

    @property
    def body(self) -> dict[str, Any]:
        if self._body is None:
            self._body = self._made() if self._made is not None else {}
        return self._body

    def outline(self) -> Chunk:
        """This chunk without its items and bytes (``size`` keeps the byte count)."""
        return Chunk(self.index, self.path, self.start, self.stop, {}, b"", self.sha256,
                     self.key, self.params, self.bytes)  # fmt: skip

    @property
    def bytes(self) -> int:
        """The body's size in bytes (also of an outline)."""
        return self.size if self.size is not None else len(self.raw)

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


def _head(project: str, field: str) -> bytes:
    return b'{"project":' + orjson.dumps(project) + b',"' + field.encode() + b'":['


def _chunk(
    project: str,
    field: str,
    path: str,
    index: int,
    start: int,
    held: list[Any] | None,
    parts: list[bytes],
    items: Callable[[int, int], Iterable[Any]] | None = None,
) -> Chunk:
    """The chunk of items ``start`` on, serialised as ``parts``: its body is ``held``, else
    made from ``items(start, stop)`` when first read."""
    raw = _head(project, field) + b",".join(parts) + b"]}"
    stop = start + len(parts)
    made = None
    if held is None and items is not None:
        made = lambda: {"project": project, field: list(items(start, stop))}  # noqa: E731
    body = {"project": project, field: held} if held is not None else None
    return Chunk(
        index, path, start, stop, body, raw, sha256_hex(raw), sha256_hex(project.encode(), raw),
        made=made,
    )  # fmt: skip


def _groups(parts: Iterable[bytes], overhead: int, rows: int, size_cap: int) -> Iterator[list]:
    """``parts`` in runs of at most ``rows`` whose joined size (plus ``overhead`` and the commas)
    stays within ``size_cap`` (a part bigger than that alone goes alone)."""
    if rows < 1 or size_cap < 1:
        raise ConfigError("chunk_rows and chunk_bytes must be positive")
    held: list[bytes] = []
    size = overhead
    for part in parts:
        extra = len(part) + (1 if held else 0)
        if held and (len(held) >= rows or size + extra > size_cap):
            yield held
            held, size = [], overhead
            extra = len(part)
        held.append(part)
        size += extra
    if held:
        yield held


def cut_chunks(
    project: str,
    field: str,
    items: Iterable[dict[str, Any]],
    path: str,
    *,
    chunk_rows: int = 500,
    chunk_bytes: int = 4_000_000,
) -> Iterator[Chunk]:
    """Cut ``items`` into ``{"project": project, field: [...]}`` bodies, one chunk at a time.

    A chunk holds at most ``chunk_rows`` items and, unless a single item is bigger, at most
    ``chunk_bytes`` bytes of serialised body. Deterministic: the same items give the same
    chunks, hashes and keys. Only the chunk being cut is held (its items and bytes): a consumer
    that drops each chunk after use keeps the memory of one.
    """
    held: list[Any] = []

    def parts() -> Iterator[bytes]:
        for item in items:
            held.append(item)
            yield orjson.dumps(item)

    start = 0
    overhead = len(_head(project, field)) + 2
    for index, group in enumerate(_groups(parts(), overhead, chunk_rows, chunk_bytes)):
        # ``held`` may hold one item more: the one whose part did not fit, the next chunk's first
        mine, held[: len(group)] = held[: len(group)], []
        yield _chunk(project, field, path, index, start, mine, group)
        start += len(group)


def cut_texts(
    project: str,
    field: str,
    texts: Iterable[bytes],
    path: str,
    items: Callable[[int, int], Iterable[Any]],
    *,
    chunk_rows: int = 500,
    chunk_bytes: int = 4_000_000,
) -> Iterator[Chunk]:
    """:func:`cut_chunks` of items already serialised: ``texts`` are ``orjson.dumps`` of each
    item, in order; a chunk's body is made from ``items(start, stop)`` only when read.

    A chunk's two sha256 digests are taken on a worker thread (hashlib lets go of the GIL on
    large buffers) while the next chunk is written, so one more chunk's bytes are held.
    """
    head = _head(project, field)
    start, ahead = 0, None
    with ThreadPoolExecutor(1, thread_name_prefix="ango-hash") as pool:
        for index, group in enumerate(_groups(texts, len(head) + 2, chunk_rows, chunk_bytes)):
            raw = b"".join((head, b",".join(group), b"]}"))
            job = pool.submit(_digests, project, raw)
            if ahead is not None:
                yield _hashed(project, field, path, items, *ahead)
            ahead = (index, start, start + len(group), raw, job)
            start += len(group)
            del group, raw, job
        if ahead is not None:
            yield _hashed(project, field, path, items, *ahead)


def _digests(project: str, raw: bytes) -> tuple[str, str]:
    return sha256_hex(raw), sha256_hex(project.encode(), raw)


def _hashed(
    project: str,
    field: str,
    path: str,
    items: Callable[[int, int], Iterable[Any]],
    index: int,
    start: int,
    stop: int,
    raw: bytes,
    job: Future[tuple[str, str]],
) -> Chunk:
    """The chunk of ``raw`` once ``job`` has its digests; its body made when read."""
    sha, key = job.result()
    return Chunk(index, path, start, stop, None, raw, sha, key,
                 made=lambda: {"project": project, field: list(items(start, stop))})  # fmt: skip


def plan_chunks(*args: Any, **kwargs: Any) -> list[Chunk]:
    """Every chunk of :func:`cut_chunks` (same arguments) at once, bodies and bytes included
    (the dry run)."""
    return list(cut_chunks(*args, **kwargs))


def remake_chunk(
    project: str, field: str, path: str, planned: Chunk, items: Iterable[dict[str, Any]]
) -> Chunk:
    """Chunk ``planned`` made again from its items (``planned`` may be an outline without
    bytes): the same bytes, hashes and key as when it was cut."""
    held = list(items)
    return _chunk(project, field, path, planned.index, planned.start, held,
                  [orjson.dumps(item) for item in held])  # fmt: skip


def remake_texts(
    project: str,
    field: str,
    path: str,
    planned: Chunk,
    texts: Iterable[bytes],
    items: Callable[[int, int], Iterable[Any]],
) -> Chunk:
    """:func:`remake_chunk` from the items' texts (the body made from ``items`` when read)."""
    return _chunk(project, field, path, planned.index, planned.start, None, list(texts), items)


@dataclass(frozen=True)
class Sending:
    """How an import is cut and sent: the keywords the importers share, with their defaults
    (``chunk_rows``, ``chunk_bytes``, ``journal``, ``dry_run``, ``on_error``, ``progress``,
    documented at :func:`ango_frames.imports.send.import_labels`)."""

    chunk_rows: int = 500
    chunk_bytes: int = 4_000_000
    journal: Any = None
    dry_run: bool = False
    on_error: str = "raise"
    progress: bool = False


class ChunkPlan:
    """The requests of one import, made on demand (see :func:`delivery.send_chunks`).

    Parameters
    ----------
    kind : str
        ``labels``, ``attachments`` or ``annotate``.
    project : str
        The project (or scope) of the import: it scopes the journal.
    keys : list of (str, str)
        Per item, its key field and value.
    cut : callable
        Makes the chunks afresh, in order, one at a time (each may be dropped after use).
    remake : callable
        Makes one chunk again from its outline (:meth:`Chunk.outline`).
    spill : bool
        Whether a two-pass send keeps the first pass's chunk bytes in a temporary file
        (:class:`~ango_frames.imports.spool.Spool`) rather than making each chunk again.
    body : callable, optional
        Makes one chunk's body (project and items) from its outline; by default the body of
        the chunk made again.
    """

    def __init__(
        self,
        kind: str,
        project: str,
        keys: Sequence[tuple[str, str]],
        cut: Callable[[], Iterator[Chunk]],
        remake: Callable[[Chunk], Chunk],
        *,
        spill: bool = False,
        body: Callable[[Chunk], dict[str, Any]] | None = None,
    ) -> None:
        self.kind, self.project, self.keys = kind, project, keys
        self.cut, self.remake, self.spill = cut, remake, spill
        self.body = body if body is not None else (lambda outline: remake(outline).body)

    @classmethod
    def of(
        cls, kind: str, project: str, keys: Sequence[tuple[str, str]], chunks: list[Chunk]
    ) -> ChunkPlan:
        """A plan over chunks already made."""
        return cls(kind, project, keys, lambda: iter(chunks), lambda c: chunks[c.index])

    @classmethod
    def stream(
        cls,
        kind: str,
        project: str,
        keys: Sequence[tuple[str, str]],
        field: str,
        path: str,
        items: Callable[[int, int | None], Iterator[dict[str, Any]]],
        *,
        chunk_rows: int = 500,
        chunk_bytes: int = 4_000_000,
        texts: Callable[[int, int | None], Iterator[bytes]] | None = None,
        spill: bool = False,
    ) -> ChunkPlan:
        """A plan whose chunks are cut from ``items(start, stop)`` when asked for; with
        ``texts(start, stop)`` (``orjson.dumps`` of those items, made without them) the bytes
        come from the texts and a chunk's items are made only if its body is read."""
        if chunk_rows < 1 or chunk_bytes < 1:
            raise ConfigError("chunk_rows and chunk_bytes must be positive")
        how = {"chunk_rows": chunk_rows, "chunk_bytes": chunk_bytes}

        def cut() -> Iterator[Chunk]:
            if texts is not None:
                return cut_texts(project, field, texts(0, None), path, items, **how)
            return cut_chunks(project, field, items(0, None), path, **how)

        def remake(outline: Chunk) -> Chunk:
            span = (outline.start, outline.stop)
            if texts is not None:
                return remake_texts(project, field, path, outline, texts(*span), items)
            return remake_chunk(project, field, path, outline, items(*span))

        def body(outline: Chunk) -> dict[str, Any]:
            return {"project": project, field: list(items(outline.start, outline.stop))}

        return cls(kind, project, keys, cut, remake, spill=spill, body=body)


def plan_frame(chunks: list[Chunk], keys: Sequence[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "chunk": [c.index for c in chunks],
            "path": [c.path for c in chunks],
            "items": [c.stop - c.start for c in chunks],
            "bytes": [c.bytes for c in chunks],
            "sha256": [c.sha256 for c in chunks],
            "key": [c.key for c in chunks],
            "first": [keys[c.start][1] if c.stop > c.start else None for c in chunks],
            "last": [keys[c.stop - 1][1] if c.stop > c.start else None for c in chunks],
        }
    )


def plan_fingerprint(kind: str, project: str, chunks: list[Chunk]) -> str:
    return sha256_hex(kind.encode(), b"\0", project.encode(), *(c.sha256.encode() for c in chunks))
