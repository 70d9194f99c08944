"""``import_labels`` on Dask: payloads built on the workers, sent under ONE cluster-wide rate limit.

Three steps:

1. Build (on the workers, kept there): each partition's labels by ``labels.build_labels`` and its
   chunks by ``importer.plan_chunks``. Only hashes, label keys and problems come back. Invalid
   rows anywhere raise one :class:`~ango_frames.errors.PayloadError` before anything is sent;
   an asset whose rows sit in two partitions is refused (its second label would replace the
   first on the hub).
2. Journal (on the client machine): chunk ``i`` of the whole import is chunk ``j`` of partition
   ``p``, in partition order; the fingerprint is over every chunk hash, as on one machine. Acked
   chunks are skipped; the others are recorded as ``sending`` when handed to the cluster and
   ``acked`` when the reply, read here exactly as a local import reads it
   (:func:`ango_frames.imports.delivery.settle`), says the whole chunk was applied. A crash
   between the two re-sends that chunk with the same idempotency key (the journal keeps the
   run id), which the hub applies once.
3. Send (on the workers, one task per chunk, next to its partition's payload): every HTTP
   attempt, retries included, first takes a token from ONE token bucket held by a Dask actor.
   An actor rather than a Lock + Variable pair: the bucket's clock is one process's monotonic
   clock (no skew between machines), and a reservation is one round trip.

Workers build their own clients (see :mod:`ango_frames.dask._send`); the api key is never in a
task key, a log line, a result or the journal.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import dask.dataframe as dd
import pandas as pd
from dask import delayed

from ango_frames.dask._send import (
    ClientSpec,
    TokenBucket,
    chunk_items,
    close_clients,
    send_chunk,
)
from ango_frames.errors import ConfigError, PayloadError
from ango_frames.imports.chunks import Chunk, Sending, plan_chunks, plan_fingerprint, request_key
from ango_frames.imports.delivery import Rows, new_run, raise_if_incomplete, settle
from ango_frames.imports.journal import Journal
from ango_frames.imports.labels import build_labels
from ango_frames.imports.outcomes import read_reply
from ango_frames.imports.send import score_summary
from ango_frames.imports.verify import verify_labels

__all__ = ["import_labels"]

_TABLES = ("tasks", "objects", "classifications", "relations")


@dataclass
class _PartPlan:
    """One partition's labels, cut into chunks; stays on the worker that built it."""

    chunks: list[Chunk]
    keys: list[tuple[str, str]]
    summary: pd.DataFrame | None
    failures: pd.DataFrame
    id_map: pd.DataFrame
    invalid: bool


def _plan(
    data: Any,
    project: str,
    ontology: Any,
    options: dict[str, Any],
    chunk_rows: int,
    chunk_bytes: int,
    on_error: str,
) -> _PartPlan:
    try:
        batch = build_labels(data, project, ontology, on_error=on_error, **options)
    except PayloadError as exc:  # returned, not raised: it travels back as data, nothing is sent
        empty = pd.DataFrame()
        return _PartPlan([], [], None, exc.failure_cases, empty, True)
    chunks = plan_chunks(
        project,
        "labels",
        batch.items(),
        "import/labels",
        chunk_rows=chunk_rows,
        chunk_bytes=chunk_bytes,
    )
    return _PartPlan(chunks, batch.keys, score_summary(batch), batch.failures, batch.id_map, False)


def _outline(plan: _PartPlan) -> dict[str, Any]:
    """The small part of a plan the client needs: hashes, keys, spans, problems."""
    return {
        "chunks": [(c.start, c.stop, c.sha256, c.key) for c in plan.chunks],
        "keys": plan.keys,
        "summary": plan.summary,
        "failures": plan.failures,
        "id_map": plan.id_map,
        "invalid": plan.invalid,
    }


def _partitions(data: Any, options: dict[str, Any]) -> list[Any]:
    """One delayed input per partition: a frame, or the partition's export tables."""
    extra = {k: options.pop(k) for k in ("classifications", "relations") if k in options}
    if isinstance(data, dd.DataFrame):
        pieces = data.to_delayed(optimize_graph=False)
        for name, frame in extra.items():
            if frame is None:
                continue
            if not isinstance(frame, dd.DataFrame) or frame.npartitions != len(pieces):
                raise ConfigError(
                    f"{name}= must be a Dask DataFrame with the {len(pieces)} partitions of the "
                    "labels frame (an asset's rows must all be in the same partition)"
                )
            parts = frame.to_delayed(optimize_graph=False)
            pieces = [delayed(_with)(p, name, q) for p, q in zip(pieces, parts, strict=True)]
        return pieces
    if hasattr(data, "objects") and isinstance(getattr(data, "objects", None), dd.DataFrame):
        if extra:
            raise ConfigError("with export tables, classifications / relations come from them")
        frames = {name: getattr(data, name).to_delayed(optimize_graph=False) for name in _TABLES}
        counts = {name: len(parts) for name, parts in frames.items()}
        if len(set(counts.values())) != 1:
            raise ConfigError(f"the tables must have the same partitions, got {counts}")
        return [
            delayed(_tables)(*(frames[name][i] for name in _TABLES))
            for i in range(counts["objects"])
        ]
    raise ConfigError(
        f"data must be a Dask DataFrame or DaskExportTables, not {type(data).__name__}"
    )


def _with(frame: pd.DataFrame, name: str, other: pd.DataFrame) -> SimpleNamespace:
    if isinstance(frame, SimpleNamespace):
        setattr(frame, name, other)
        return frame
    return SimpleNamespace(objects=frame, **{name: other})


def _tables(*frames: pd.DataFrame) -> SimpleNamespace:
    return SimpleNamespace(**dict(zip(_TABLES, frames, strict=True)))


def _unwrap(data: Any) -> tuple[Any, dict[str, Any]]:
    """A partition input as build_labels takes it: (data, extra options)."""
    if isinstance(data, SimpleNamespace) and not hasattr(data, "tasks"):
        extra = {k: v for k, v in vars(data).items() if k != "objects"}
        return data.objects, extra
    return data, {}


def _plan_input(data: Any, *args: Any) -> _PartPlan:
    frame, extra = _unwrap(data)
    project, ontology, options, *rest = args
    return _plan(frame, project, ontology, {**options, **extra}, *rest)


def _duplicates(outlines: list[dict[str, Any]]) -> str | None:
    seen: dict[tuple[str, str], int] = {}
    for p, outline in enumerate(outlines):
        for key in outline["keys"]:
            first = seen.setdefault(tuple(key), p)
            if first != p:
                return (
                    f"the rows of asset {key[0]}={key[1]!r} are in partitions {first} and {p}; "
                    "each label must be built from one partition (its second label would "
                    "replace the first): partition by the asset key, e.g. "
                    "ddf.shuffle(on='external_id'), or read with ango_frames.dask.read_export"
                )
    return None


def import_labels(
    client: Mapping[str, Any] | Callable[[], Any],
    project: str,
    data: Any,
    *,
    journal: Any = None,
    requests_per_minute: float = 100,
    burst: int = 10,
    ontology: Any = None,
    chunk_rows: int = Sending.chunk_rows,
    chunk_bytes: int = Sending.chunk_bytes,
    on_error: str = "raise",
    progress: bool = False,
    verify: bool = False,
    **options: Any,
) -> pd.DataFrame:
    """Import pre-labels from a Dask DataFrame, partition by partition, under one rate limit.

    Same rules and result as :func:`ango_frames.imports.send.import_labels`: every row validated
    before the first request, chunks by count and bytes, an idempotency key per chunk, a
    resumable ``journal``. Needs a ``dask.distributed.Client`` (the workers send).

    Parameters
    ----------
    client : dict or callable
        Keyword arguments of :class:`ango_frames.Client` (``base_url=``/``region=``,
        ``api_key=``, ``retry=``, ``timeout=``...), or a picklable zero-argument factory
        returning a client. Each worker builds its own; the rate limit below replaces the
        client's own.
    project : str
        The project id.
    data : dask.dataframe.DataFrame or DaskExportTables
        Object rows (as for :func:`ango_frames.imports.labels.labels_payload`) or exported tables.
        All the rows of one asset must be in one partition (true of ``read_export``'s tables).
    journal : str or Path, optional
        A file on the machine running this function that makes the import resumable; a re-run
        with the same data, partitions and options sends only the chunks not acknowledged.
    requests_per_minute : float
        The limit for the whole cluster, every HTTP attempt (retries too) counted.
    burst : int
        Requests that may go at once after a quiet spell.
    ontology : optional
        The project or its categorySchema; fetched once here when rows have a ``title`` column
        and none is given.
    chunk_rows, chunk_bytes : int
        At most this many labels, and (unless one label is bigger) bytes, per request.
    on_error : {"raise", "skip"}
        Invalid rows: one PayloadError before sending, or leave them out.
    progress : bool
        A progress bar over the chunks as they are acknowledged.
    verify : bool
        Read your writes, as on one machine: each answered chunk's assets are exported back
        (from this machine) and every label checked.
    **options
        ``box_format``, ``normalized``, ``sizes``, ``nested``, ``status``, ``assignee``;
        ``classifications=`` / ``relations=`` as Dask DataFrames with ``data``'s partitions.

    Returns
    -------
    pandas.DataFrame
        One row per label, as the single-machine import, plus ``partition``; ``chunk`` numbers
        the chunks of the whole import. ``attrs["failures"]`` and ``attrs["id_map"]`` as there;
        ``attrs["attempts"]``: the HTTP attempts made (retries included).

    Raises
    ------
    ConfigError
        No distributed client, a live Client given, an asset split over partitions, a journal
        of another plan.
    PayloadError
        Invalid rows in any partition (all of them listed; nothing was sent).
    ImportIncomplete
        Some chunks were not acknowledged; re-run with the same journal.
    """
    from distributed import as_completed, default_client

    try:
        dclient = default_client()
    except ValueError:
        raise ConfigError(
            "ango_frames.dask.import_labels needs a dask.distributed Client "
            "(Client('tcp://scheduler:8786') or a LocalCluster)"
        ) from None
    spec = ClientSpec(client)
    TokenBucket(requests_per_minute, burst)  # validates before any work
    if ontology is None and _has_title(data):
        local = spec.make(None)  # one request, from here
        try:
            ontology = local.get_project(project)
        finally:
            getattr(local, "close", lambda: None)()
    inputs = _partitions(data, options)
    run = uuid.uuid4().hex
    args = (project, ontology, options, chunk_rows, chunk_bytes, on_error)
    plans = dclient.compute(
        [
            delayed(_plan_input)(piece, *args, dask_key_name=f"ango-plan-{run}-{p}")
            for p, piece in enumerate(inputs)
        ]
    )
    try:
        outlines = dclient.gather(
            dclient.map(_outline, plans, key=[f"ango-outline-{run}-{p}" for p in range(len(plans))])
        )
        failures = [o["failures"] for o in outlines if len(o["failures"])]
        if any(o["invalid"] for o in outlines):
            raise PayloadError(pd.concat(failures, ignore_index=True))
        problem = _duplicates(outlines)
        if problem:
            raise ConfigError(problem)
        job = _Job(dclient, as_completed, plans, outlines, spec, project, requests_per_minute,
                   burst, run, progress, failures, verify)  # fmt: skip
        return _send_all(job, journal)
    finally:
        dclient.cancel(plans)
        dclient.run(close_clients, run)


def _has_title(data: Any) -> bool:
    frame = data.objects if hasattr(data, "objects") else data
    return isinstance(frame, dd.DataFrame) and "title" in frame.columns


@dataclass
class _Job:
    """What the sending of one Dask import needs (the plans stay on the workers)."""

    dclient: Any
    as_completed: Any
    plans: list[Any]
    outlines: list[dict[str, Any]]
    spec: ClientSpec
    project: str
    requests_per_minute: float
    burst: int
    run: str
    progress: bool
    failures: list[pd.DataFrame]
    verify: bool = False


def _send_all(job: _Job, journal: Any) -> pd.DataFrame:
    """Send every chunk not yet acked; the journal is written here, as answers come back."""
    # The global chunk order: partition by partition, each partition's chunks in order.
    outlines = job.outlines
    order = [(p, j) for p, o in enumerate(outlines) for j in range(len(o["chunks"]))]
    shas = [outlines[p]["chunks"][j][2] for p, j in order]
    log = None
    if journal is not None:
        fake = [SimpleNamespace(sha256=sha) for sha in shas]
        fingerprint = plan_fingerprint("labels", job.project, fake)  # type: ignore[arg-type]
        log = Journal(journal, job.project, "labels", fingerprint)
    try:
        return _send_logged(job, log, order)
    finally:
        if log is not None:
            log.close()


def _send_logged(job: _Job, log: Journal | None, order: list[tuple[int, int]]) -> pd.DataFrame:
    dclient, plans, outlines, spec, project = (
        job.dclient, job.plans, job.outlines, job.spec, job.project,
    )  # fmt: skip
    run, progress, failures = job.run, job.progress, job.failures
    keys: list[tuple[str, str]] = []
    partition: list[int] = []
    spans: dict[int, range] = {}
    for g, (p, j) in enumerate(order):
        start, stop, _sha, _key = outlines[p]["chunks"][j]
        spans[g] = range(len(keys), len(keys) + stop - start)
        keys.extend(tuple(k) for k in outlines[p]["keys"][start:stop])
        partition.extend([p] * (stop - start))
    rows = Rows(keys)
    rows.run = log.run if log is not None else new_run()
    for g, span in spans.items():
        for i in span:
            rows.chunk[i] = g

    bucket = dclient.submit(TokenBucket, job.requests_per_minute, job.burst, actor=True).result()
    futures = {}
    for g, (p, j) in enumerate(order):
        _start, _stop, sha, key = outlines[p]["chunks"][j]
        if log is not None and log.is_acked(g, sha):
            for i in spans[g]:
                rows.status[i] = "skipped (journal)"
            continue
        wire = request_key(rows.run, key)
        if log is not None:
            log.sending(g, wire, sha)
        future = dclient.submit(
            send_chunk, plans[p], j, run, spec, bucket, wire, key=f"ango-send-{run}-{g}",
            pure=False,
        )  # fmt: skip
        futures[future] = g
    checker = spec.make(None) if job.verify else None
    stop_reason = None
    from tqdm.auto import tqdm

    try:
        with tqdm(
            total=len(futures), disable=not progress, unit="request", desc="import labels"
        ) as bar:
            for future in job.as_completed(list(futures)):
                g = futures[future]
                answer, error, auth = future.result()
                bar.update()
                p, j = order[g]
                _start, _stop, sha, key = outlines[p]["chunks"][j]
                span = spans[g]
                if error is None:
                    check = None
                    if checker is not None:
                        items = dclient.submit(chunk_items, plans[p], j, pure=False).result()

                        def check(s: range, items: Any = items) -> list[Any]:
                            return verify_labels(checker, project, items,
                                                 keys[s.start : s.stop])  # fmt: skip

                    outcome = read_reply("labels", answer, len(span))
                    if settle(rows, span, outcome, check) and log is not None:
                        log.ack(g, request_key(rows.run, key), sha)
                    continue
                for i in span:
                    rows.status[i], rows.error[i] = "failed", error
                if auth and stop_reason is None:  # every later chunk would be refused the same way
                    stop_reason = f"not sent after {error}"
                    dclient.cancel([f for f, h in futures.items() if not f.done()])
    finally:
        if checker is not None:
            getattr(checker, "close", lambda: None)()
    for g in futures.values():
        for i in spans[g]:
            if rows.status[i] == "not sent" and stop_reason is not None:
                rows.error[i] = stop_reason
    results = rows.frame()
    results.insert(2, "partition", partition)
    summaries = [o["summary"] for o in outlines if o["summary"] is not None]
    if summaries:
        summary = pd.concat(summaries, ignore_index=True)
        results = pd.concat([results, summary], axis=1)
    results.attrs["failures"] = (
        pd.concat(failures, ignore_index=True)
        if failures
        else pd.DataFrame(columns=["row", "column", "reason", "value"])
    )
    results.attrs["attempts"] = bucket.count().result()  # HTTP attempts, retries included
    results.attrs["run"] = rows.run
    id_maps = [o["id_map"] for o in outlines]
    results.attrs["id_map"] = pd.concat(id_maps, ignore_index=True) if id_maps else pd.DataFrame()
    raise_if_incomplete(results, len(order), "labels", journaled=log is not None)
    return results
