"""Validated, chunked, resumable imports: labels, attachments and per-task annotations.

Every row is checked before the first request (:mod:`ango_frames.imports.problems`). The payload is
cut into chunks by count and by serialised size; each chunk goes out with an idempotency key (the
sha256 of the project and the chunk's bytes), so retries and resumed runs never apply it twice on a
hub that honours the key. A failing chunk does not stop the others; at the end
:class:`~ango_frames.errors.ImportIncomplete` says exactly which labels went and which did not. With
``journal=`` a re-run sends only the chunks not yet acknowledged.

Label imports stream: after every row is checked, each chunk's bytes are written (straight from
the checked columns, without the label dicts: :mod:`ango_frames.imports.object_text`) when it is
sent and dropped once its reply is read, so an import holds one chunk, not the whole payload; the
label dicts are made only for a chunk whose items are read (``verify=True``). Without a journal
the chunks are cut and sent in one pass. With one (or with ``progress=True``, whose bar needs the
count) a first pass makes every chunk once, keeping its bounds and sha256 (the plan's fingerprint
must be known before the first request) and its bytes in an anonymous temporary file
(:mod:`ango_frames.imports.spool`: no name on disk, the request bodies only, gone when the send
ends); the send pass reads each unacked chunk's bytes back (made again, and sent only when its
sha256 is the planned one, if they do not read back intact). The dry run makes every body at
once, since it returns them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pandas as pd

from ango_frames.errors import ConfigError
from ango_frames.imports.annotate import build_annotations
from ango_frames.imports.attachments import build_attachments
from ango_frames.imports.chunks import (
    Chunk,
    ChunkPlan,
    DryRun,
    Sending,
    plan_frame,
    sha256_hex,
)
from ango_frames.imports.delivery import raise_if_incomplete, send_chunks
from ango_frames.imports.import_file import build_import_file, items_from_labels
from ango_frames.imports.labels import LabelBatch, build_labels
from ango_frames.imports.prebuilt import prebuilt_batch
from ango_frames.imports.verify import verify_labels

__all__ = [
    "BODIES",
    "DryRun",
    "annotate",
    "import_attachments",
    "import_labels",
    "raise_if_incomplete",
]

#: The bodies ``import_labels`` can send: the spec's ``{project, labels: [{..., answer}]}``, or
#: the official client's ``{project, jsonContent: [flat import-file items]}``.
BODIES = {"labels": "labels", "import-file": "jsonContent"}


def _send(
    client: Any,
    plan: ChunkPlan,
    journal: Any,
    progress: bool,
    summary: pd.DataFrame | None,
    verify: bool = False,
    failures: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Send the plan's chunks; one result row per item; raise ImportIncomplete if any was not
    applied."""
    keys, check = plan.keys, None
    if verify:

        def check(span: range, items: list[Any]) -> list[Any]:
            return verify_labels(client, plan.project, items, keys[span.start : span.stop])

    rows = send_chunks(client, plan, journal, progress, check)
    results = rows.frame()
    if summary is not None:
        results = pd.concat([results, summary.reset_index(drop=True)], axis=1)
    results.attrs["run"] = rows.run
    if failures is not None:  # also on the results an ImportIncomplete carries
        results.attrs["failures"] = failures
    n_chunks = max(rows.chunk, default=-1) + 1
    raise_if_incomplete(results, n_chunks, plan.kind, journaled=journal is not None)
    return results


def score_summary(batch: LabelBatch) -> pd.DataFrame:
    """Per label: object count and min / mean / max score (NaN without scores)."""
    n = len(batch)
    out = pd.DataFrame({"n_objects": batch.n_objects()})
    scores = batch.score_frame()
    if len(scores):
        stats = scores.groupby("label")["score"].agg(["min", "mean", "max"])
        stats = stats.reindex(range(n))
        for name in ("min", "mean", "max"):
            out[f"score_{name}"] = stats[name].to_numpy()
    return out


def _needs_ontology(data: Any, extra: list[Any]) -> bool:
    frames = [data] if isinstance(data, pd.DataFrame) else [getattr(data, "objects", None)]
    frames += [getattr(data, "classifications", None), getattr(data, "relations", None), *extra]
    for frame in frames:
        if isinstance(frame, pd.DataFrame) and "title" in frame.columns:
            if "schema_id" not in frame.columns:
                return True
            if (frame["title"].notna() & frame["schema_id"].isna()).any():
                return True
    return False


def _ontology(client: Any, project: str | None, ontology: Any, data: Any, opts: dict) -> Any:
    """The ontology to use: the one given, else the project's when rows are named by title."""
    if ontology is not None or not project:
        return ontology
    extra = [opts.get("classifications"), opts.get("relations")]
    return client.get_project(project) if _needs_ontology(data, extra) else None


def _is_payload(data: Any) -> bool:
    """A ready ImportLabelsRequest body, or its list of labels (sent as given, in chunks)."""
    if isinstance(data, dict):
        return "labels" in data
    return isinstance(data, list) and all(isinstance(item, dict) for item in data)


def import_labels(
    client: Any,
    project: str,
    data: Any,
    *,
    ontology: Any = None,
    chunk_rows: int = Sending.chunk_rows,
    chunk_bytes: int = Sending.chunk_bytes,
    journal: Any = None,
    dry_run: bool = False,
    on_error: str = "raise",
    progress: bool = False,
    verify: bool = False,
    body: str = "labels",
    **options: Any,
) -> pd.DataFrame | DryRun:
    """Import pre-labels: validate every row, then send the labels in chunks.

    Each label REPLACES its asset's current answer on the hub (objects, classifications and
    relations, human ones included; nothing is merged): importing one predicted box onto an
    asset with seven human boxes leaves one box. Export first if you need the old answers.

    Parameters
    ----------
    client : Client
        Anything with ``post(path, body, *, params=None, idempotency_key=None) -> dict``; a
        ``raw=`` keyword, when it takes one, gets the chunk's serialised bytes (``body=None``).
    project : str
        The project id.
    data : DataFrame or export tables
        As for :func:`ango_frames.imports.labels.labels_payload`; ``**options`` are its options
        (``box_format``, ``normalized``, ``sizes``, ``nested``, ``classifications``,
        ``relations``, ``status``, ``assignee``).
    ontology : optional
        The project or its categorySchema; fetched with ``client.get_project`` when rows name
        their class by title and none is given.
    chunk_rows, chunk_bytes : int
        At most this many labels, and (unless one label is bigger) bytes, per request.
    journal : str or Path, optional
        A local file that makes the import resumable (see :mod:`ango_frames.imports.journal`).
    dry_run : bool
        Build and plan only; return a :class:`DryRun` and send nothing.
    on_error : {"raise", "skip"}
        Rows with problems: raise one PayloadError before sending, or leave them out (listed in
        ``results.attrs["failures"]``).
    progress : bool
        Show a progress bar per request.
    verify : bool
        Read your writes: after each chunk is answered, export just its assets
        (``filters={"externalId": {"$in": [...]}}``) and check that every label arrived with
        its objects; names the labels of a partly applied chunk that matched no asset.
    body : {"labels", "import-file"}
        ``labels`` (default): the spec's ``{project, labels: [{externalId | assetId, answer}]}``.
        ``import-file``: the official client's ``{project, jsonContent: [{externalId, objects,
        classifications, relations, brushDataUrl?, medicalBrushDataUrl?}]}`` built by
        :func:`ango_frames.imports.import_file.build_import_file` (externalId only, no status /
        assignee; brush masks allowed); same chunking, journal and verification.

    Returns
    -------
    pandas.DataFrame
        One row per label: ``key_field, key, chunk, sent, status, verified, reply, error,
        n_objects, score_min, score_mean, score_max``. ``status`` is ``sent``, ``unmatched``,
        ``unconfirmed``, ``incomplete``, ``failed``, ``skipped (journal)`` or ``not sent`` (see
        :mod:`ango_frames.imports.delivery`); ``attrs["run"]`` is the import run's id.

    Raises
    ------
    PayloadError
        Invalid rows (nothing was sent).
    ImportIncomplete
        Some labels were not applied (failed requests, labels that matched no asset, a partly
        applied chunk, a failed verification); ``.results`` is the frame above.
    """
    if body not in BODIES:
        raise ConfigError(f"body must be one of {sorted(BODIES)}, not {body!r}")
    field = BODIES[body]
    if _is_payload(data):
        labels = data["labels"] if isinstance(data, dict) else data
        flat = body == "import-file" and not any("answer" in label for label in labels)
        batch = prebuilt_batch(data, project, body="import-file" if flat else "labels")
        lift = body == "import-file" and not flat  # ready spec labels sent as import-file items
        ready = items_from_labels(batch.labels) if lift else batch.labels
        items, texts = _slicer(ready), None
    else:
        ontology = _ontology(client, project, ontology, data, options)
        build = build_labels if body == "labels" else build_import_file
        batch = build(data, project, ontology, on_error=on_error, **options)
        items, texts = batch.items, batch.texts
    how = Sending(chunk_rows, chunk_bytes, journal, dry_run, on_error, progress)
    plan = ChunkPlan.stream("labels", project, batch.label_keys, field, "import/labels", items,
                            chunk_rows=chunk_rows, chunk_bytes=chunk_bytes, texts=texts,
                            spill=True)  # fmt: skip
    return _deliver(client, plan, how, batch, batch.failures, verify)


def _deliver(
    client: Any,
    plan: ChunkPlan,
    how: Sending,
    batch: LabelBatch | None,
    failures: pd.DataFrame,
    verify: bool = False,
) -> pd.DataFrame | DryRun:
    """The dry run of a plan (every body made, as the user asked to see them), or its sending."""
    if how.dry_run:
        chunks = list(plan.cut())
        id_map = batch.id_map if batch is not None else pd.DataFrame()
        return DryRun([c.body for c in chunks], plan_frame(chunks, plan.keys), id_map, failures,
                      batch, kind=plan.kind)  # fmt: skip
    summary = score_summary(batch) if batch is not None else None
    return _send(client, plan, how.journal, how.progress, summary, verify, failures)


def _slicer(items: list[dict[str, Any]]) -> Callable[[int, int | None], Iterator[dict[str, Any]]]:
    return lambda start, stop: iter(items[start:stop])


def import_attachments(
    client: Any, project: str, data: pd.DataFrame, **how: Any
) -> pd.DataFrame | DryRun:
    """Attach URLs to assets (``POST /attachments``), validated and chunked like labels.

    Columns as for :func:`ango_frames.imports.attachments.attachments_payload`; ``**how`` are
    the fields of :class:`~ango_frames.imports.chunks.Sending` (``chunk_rows``, ``chunk_bytes``,
    ``journal``, ``dry_run``, ``on_error``, ``progress``), as for :func:`import_labels`. Returns
    one result row per attachment (same columns as :func:`import_labels`, without the score
    summary). Attachments are added to their assets; nothing is replaced. An attachment whose
    asset is not found is ``unmatched`` (or ``unconfirmed`` when the reply's count cannot say
    which).
    """
    sending = Sending(**how)
    body, keys, failures = build_attachments(data, project, on_error=sending.on_error)
    plan = ChunkPlan.stream(
        "attachments", project, keys, "attachments", "attachments", _slicer(body["attachments"]),
        chunk_rows=sending.chunk_rows, chunk_bytes=sending.chunk_bytes,
    )  # fmt: skip
    return _deliver(client, plan, sending, None, failures)


def annotate(
    client: Any,
    data: Any,
    *,
    project: str | None = None,
    ontology: Any = None,
    is_plugin: bool = False,
    journal: Any = None,
    dry_run: bool = False,
    on_error: str = "raise",
    progress: bool = False,
    chunk_rows: int | None = None,
    **options: Any,
) -> pd.DataFrame | DryRun:
    """Submit answers per task (``POST /annotate/{taskId}``), one request per ``task_id``.

    Same conventions as :func:`import_labels`, keyed by ``task_id``; ``project`` is only used to
    fetch the ontology when rows name classes by title, and to scope the journal.
    ``chunk_rows`` is accepted for symmetry and ignored (the endpoint takes one task). Each
    request REPLACES the task's current answer (nothing is merged).
    """
    del chunk_rows
    ontology = _ontology(client, project, ontology, data, options)
    batch = build_annotations(data, ontology, on_error=on_error, **options)
    params = {"isPlugin": "true" if is_plugin else "false"}
    scope = project or ""
    chunks = []
    for i, (task_id, body) in enumerate(batch.body.items()):
        raw = orjson.dumps(body)
        path = f"annotate/{task_id}"
        key = sha256_hex(scope.encode(), path.encode(), raw)
        chunks.append(Chunk(i, path, i, i + 1, body, raw, sha256_hex(raw), key, params))
    plan = ChunkPlan.of("annotate", scope, batch.keys, chunks)
    return _deliver(client, plan, Sending(journal=journal, dry_run=dry_run, progress=progress),
                    batch, batch.failures)  # fmt: skip
