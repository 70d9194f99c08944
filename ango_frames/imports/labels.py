"""DataFrames of labels or predictions -> the ``POST /import/labels`` request body.

Column conventions (one row per object; every column but the asset key, the class and the
geometry is optional):

===================  ==========================================================================
asset                ``asset_id`` or ``external_id`` (``asset_id`` wins when both are set); or
                     ``task_id`` when ``data`` is an export's tables (mapped through ``tasks``)
class                ``schema_id``, or ``title`` resolved through ``ontology`` (unknown or shared
                     titles are errors: the hub would pick a class at random)
tool                 optional: else the class's tool in the ontology, else inferred from the
                     geometry columns present (x, y, width, height alone -> bounding boxes)
geometry             boxes: ``x, y, width, height`` (``box_format="xywh"``, top-left),
                     ``x1, y1, x2, y2`` (``"xyxy"``) or ``cx, cy, width, height`` (``"cxcywh"``),
                     pixels, or fractions of the asset size with ``normalized=True`` (size from
                     ``asset_width`` / ``asset_height`` or ``sizes=``); rotated boxes add
                     ``rotation`` (degrees); polygon / polyline: ``points`` as ``[[x, y], ...]``
                     or a flat ``[x0, y0, x1, y1, ...]``; point: ``x, y`` (or ``points``
                     ``[[x, y]]``); ner: ``start, end``; pdf: ``pdf_page, pdf_x1, pdf_y1,
                     pdf_x2, pdf_y2, pdf_page_width, pdf_page_height`` (+ ``pdf_text``);
                     segmentation: ``zones`` (``[{"region": ring, "holes": [ring, ...]}]``)
object_id            optional: generated when absent, deterministically (the same input gives
                     the same ids, so a resumed import sends identical payloads); rows sharing a
                     ``track_id`` share one generated id (a video track across frames)
page / frame         0-based frame or page; ``interpolation_stopped``, ``lock``: booleans
score                reported in :attr:`LabelBatch.scores`, never sent
===================  ==========================================================================

Boxes are always sent as top-left ``{x, y, width, height}`` in pixels (docs/format.md §6.2). Nested
answers come from ``nested={classification: column}`` or from a classifications table's rows
with an ``object_id``; global answers from ``classifications=`` (tidy shape: asset key or
``task_id``, ``schema_id`` or ``title``, ``answer``, ``answer_index``, ``answer_is_list``) or an
export's classifications without ``object_id``. Relations from ``relations=`` (``kind``
``single``: ``from_object_id``, ``to_object_id``, ``direction``; ``group``:
``group_object_ids``). An export's tables (``read_export``) go in as they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ango_frames.errors import ConfigError, PayloadError
from ango_frames.imports.answers import Entry, tidy_entries
from ango_frames.imports.asset_keys import AssetKeys, group_bounds
from ango_frames.imports.brush import brush_rows, collect_brushes
from ango_frames.imports.label_stream import LabelBatch, LabelKeys, LabelStream, no_gc
from ango_frames.imports.objects import ObjectRows
from ango_frames.imports.ontology import Ontology
from ango_frames.imports.options import PayloadOptions, input_frame
from ango_frames.imports.problems import Problems, Reason
from ango_frames.imports.relations import build_relations

__all__ = [
    "BODIES",
    "LabelBatch",
    "build_batch",
    "build_labels",
    "labels_payload",
    "validate_labels",
]

#: The shapes a build can take: the spec's labels (``{project, labels: [{key, answer}]}``),
#: the official client's import file (flat items, see :mod:`ango_frames.imports.import_file`)
#: and annotate (one ``{answer}`` body per task).
BODIES = ("labels", "import-file", "annotate")


def _frame(value: Any, name: str) -> pd.DataFrame | None:
    return None if value is None else input_frame(value, name)


def _inputs(
    data: Any, classifications: Any, relations: Any
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None]:
    """(objects, classifications, relations, tasks) from a DataFrame or an ExportTables."""
    if data is None or isinstance(data, pd.DataFrame):
        objects = input_frame(data, "data") if data is not None else pd.DataFrame()
        return (
            objects,
            _frame(classifications, "classifications="),
            _frame(relations, "relations="),
            None,
        )
    if hasattr(data, "objects"):
        objects = _frame(data.objects, "objects")
        cls = (
            classifications
            if classifications is not None
            else getattr(data, "classifications", None)
        )
        rel = relations if relations is not None else getattr(data, "relations", None)
        return (
            objects if objects is not None else pd.DataFrame(),
            _frame(cls, "classifications"),
            _frame(rel, "relations"),
            _frame(getattr(data, "tasks", None), "tasks"),
        )
    raise ConfigError(
        f"data must be a DataFrame or export tables (with .objects), not {type(data).__name__}"
    )


def build_labels(
    data: Any,
    project: str,
    ontology: Any = None,
    options: PayloadOptions | None = None,
    **opts: Any,
) -> LabelBatch:
    """Build the labels payload and its bookkeeping (row mapping, ids, scores, rejects).

    Arguments are those of :func:`labels_payload`. With ``on_error="skip"`` the valid rows are
    built and the others returned in :attr:`LabelBatch.rejected` / ``failures``; an asset whose
    rows were all rejected gets no label at all (an empty label would wipe its pre-labels).
    """
    with no_gc():
        return build_batch(data, project, ontology, PayloadOptions.of(options, **opts))


def validate_labels(
    data: Any,
    ontology: Any = None,
    options: PayloadOptions | None = None,
    *,
    body: str = "labels",
    **opts: Any,
) -> pd.DataFrame:
    """Every problem that would stop ``labels_payload(data, ...)``, as a failure-cases frame.

    Takes the same arguments as :func:`labels_payload` (without ``project``; ``on_error`` is
    ignored) and returns an empty frame when every row is valid. ``body="import-file"`` checks
    for the import-file body instead (brush masks are allowed there). Nothing is sent.
    """
    opts.pop("on_error", None)
    chosen = PayloadOptions.of(options, **opts)
    chosen = PayloadOptions.of(chosen, on_error="skip")
    with no_gc():
        return build_batch(data, "", ontology, chosen, body=body).failures


def build_batch(
    data: Any,
    project: str,
    ontology: Any,
    opts: PayloadOptions,
    *,
    by: str = "asset",
    body: str = "labels",
) -> LabelBatch:
    """The one builder behind labels, import-file items and annotate bodies.

    ``by`` keys the labels by asset (``"asset"``) or by ``task_id`` (``"task"``); ``body`` is one
    of :data:`BODIES`.
    """
    if body not in BODIES:
        raise ConfigError(f"body must be one of {', '.join(BODIES)}, not {body!r}")
    if body != "labels" and opts.extra:
        raise ConfigError(
            f"the {body} body has no place for {' / '.join(opts.extra)}: use the default body"
        )
    objects, cls_df, rel_df, tasks = _inputs(data, opts.classifications, opts.relations)
    onto = Ontology.from_project(ontology) if ontology is not None else None
    keys = AssetKeys(by, tasks)
    has_brush, brush_only = brush_rows(objects)
    brush_df = objects[has_brush] if has_brush.any() else None
    masks_only = objects[brush_only]
    if brush_only.any():
        objects = objects[~brush_only]
    task_brush = tasks[brush_rows(tasks)[0]] if tasks is not None else None
    op = Problems(objects.index)
    cp = Problems(cls_df.index, "classifications.") if cls_df is not None else None
    rp = Problems(rel_df.index, "relations.") if rel_df is not None else None
    bp = Problems(brush_df.index) if brush_df is not None else None
    tp = Problems(task_brush.index, "tasks.") if task_brush is not None else None
    if tasks is not None and by == "asset":
        keys.add(tasks, None)
    slots: list[tuple[int, Problems]] = []
    frames = [(objects, op), (cls_df, cp), (rel_df, rp), (task_brush, tp), (brush_df, bp)]
    for frame, problems in frames:
        if frame is not None and problems is not None:
            slots.append((keys.add(frame, problems)[0], problems))
    slot_o, aid, ext = slots[0][0], *keys.columns(slots[0][0])
    codes = keys.number()
    n_assets = len(keys)
    code_of = {id(p): codes[slot] for slot, p in slots}

    rows = ObjectRows(objects, codes[slot_o], keys, onto, op)
    rows.build(opts, aid=aid, ext=ext)
    entries: list[Entry] = []
    if cls_df is not None and cp is not None:
        entries = tidy_entries(cls_df, code_of[id(cp)], onto, cp, rows.object_schema())
        rows.attach(entries, cp)
    # in raise mode every object counts as an end, so only truly dangling ends are reported
    rels: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    if rel_df is not None and rp is not None:
        ends = rows.ids_by_asset(opts.on_error == "raise")
        rels = build_relations(rel_df, code_of[id(rp)], onto, rp, ends, rows.links())
    brushes: dict[int, dict[str, Any]] = {}
    for frame, problems in ((task_brush, tp), (brush_df, bp)):
        if frame is not None and problems is not None:
            found = collect_brushes(frame, code_of[id(problems)], problems, body != "labels")
            for code, fields in found.items():
                brushes.setdefault(code, {}).update(fields)
    no_external = np.zeros(n_assets, dtype=bool)
    if body == "import-file":
        no_external = _need_external(keys, slots, codes)
    failures = _failures([p for _, p in slots])
    if opts.on_error == "raise" and len(failures):
        raise PayloadError(failures)

    global_cls: dict[int, list[dict[str, Any]]] = {}
    for entry in entries:
        if entry.object_id is None and not entry.bad:
            global_cls.setdefault(entry.code, []).append(entry.body)
    rejected_codes = np.zeros(n_assets, dtype=bool)
    for slot, problems in slots:
        bad = codes[slot][problems.bad]
        rejected_codes[bad[bad >= 0]] = True
    rejected = objects.iloc[np.flatnonzero(op.bad)]
    if bp is not None and brush_df is not None and len(masks_only):
        bad_masks = masks_only.index.isin(brush_df.index[bp.bad])
        if bad_masks.any():
            rejected = pd.concat([rejected, masks_only[bad_masks]])
    # only checking needed these: freed, and the columns compacted, before the rows are sorted
    del codes, code_of, slots, frames, aid, ext
    keys.drop_rows()
    rows.compact()
    # int32 positions while the rows allow (held until the last chunk is made)
    small = np.int32 if len(objects) < 2**31 else np.int64
    vpos = np.flatnonzero((rows.codes >= 0) & ~op.bad).astype(small)
    order, starts = group_bounds(rows.codes[vpos], n_assets)
    sorted_pos = vpos[order]
    del vpos, order
    # an asset whose rows were all rejected gets no label: an empty one would wipe it
    empty = starts[1:] == starts[:-1]
    for parts in (global_cls, rels, brushes):
        for code, got in parts.items():
            if got:
                empty[code] = False
    sent = ~no_external & ~(empty & rejected_codes)
    label_codes = np.flatnonzero(sent)
    flat = body == "import-file"
    label_keys = LabelKeys(keys, label_codes, external=flat)
    label_of_code = np.full(n_assets, -1)
    label_of_code[label_codes] = np.arange(len(label_codes))

    def row_index() -> list[np.ndarray]:
        index = np.asarray(objects.index)[sorted_pos]
        return [index[starts[c] : starts[c + 1]] for c in label_codes.tolist()]

    def label_of_row() -> np.ndarray:
        out = np.full(len(objects), -1)
        out[sorted_pos] = label_of_code[rows.codes[sorted_pos]]
        return out

    stream = LabelStream(
        rows, keys, label_codes, sorted_pos, starts, (global_cls, rels, brushes), body, opts.extra
    )
    return LabelBatch(
        None,
        label_keys,
        row_index,
        lambda: rows.scores(sorted_pos, label_of_row()),
        lambda: rows.id_map(sorted_pos, label_of_row()),
        rejected,
        failures,
        stream=stream,
        project=project,
        field="jsonContent" if flat else "labels",
    )


def _need_external(
    keys: AssetKeys, slots: list[tuple[int, Problems]], codes: list[np.ndarray]
) -> np.ndarray:
    """Assets the import file cannot name (it targets assets by ``externalId``): recorded as
    ``missing_asset_key`` on the ``external_id`` column of their rows."""
    need = np.array([keys.external_field(c)[0] != "externalId" for c in range(len(keys))])
    if need.any():
        for slot, problems in slots:
            c = codes[slot]
            where = (c >= 0) & need[np.maximum(c, 0)]
            problems.add(where, "external_id", Reason.MISSING_ASSET_KEY, keys.columns(slot)[0])
    return need.astype(bool) if len(need) else np.zeros(0, dtype=bool)


def _failures(problems: list[Problems]) -> pd.DataFrame:
    frames = [p.frame() for p in problems if p]
    if not frames:
        return Problems(pd.RangeIndex(0)).frame()
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def labels_payload(
    data: Any,
    project: str,
    ontology: Any = None,
    options: PayloadOptions | None = None,
    **opts: Any,
) -> dict[str, Any]:
    """The ``POST /import/labels`` body (ImportLabelsRequest) for a frame of labels.

    One label per asset: ``{"project": project, "labels": [{"externalId" | "assetId": ...,
    "answer": {"objects": [...], "classifications": [...], "relations": [...]},
    "status"?: ..., "assignee"?: ...}]}``. Column conventions are in this module's docstring.

    Parameters
    ----------
    data : DataFrame or export tables
        One row per object, or the tables of ``read_export`` (objects, classifications,
        relations, tasks are used together).
    project : str
        The project id.
    ontology : dict or Ontology, optional
        The project (``GET /project`` response, ``data.project`` or ``categorySchema``); needed
        to resolve titles, and used to check classes, tools and answers.
    options : PayloadOptions, optional
        How the rows are read; or give its fields as keywords (``box_format``, ``normalized``,
        ``sizes``, ``nested``, ``classifications``, ``relations``, ``status``, ``assignee``,
        ``on_error``): see :class:`~ango_frames.imports.options.PayloadOptions`.

    Raises
    ------
    PayloadError
        Rows that cannot be imported (``.failure_cases``: row, column, reason, value); a brush
        mask is one (``brush_needs_import_file``): this body has no place for it.
    ConfigError
        Arguments that cannot work (titles without an ontology, unknown ``box_format``, ...).

    Examples
    --------
    >>> df = pd.DataFrame({"external_id": ["a.jpg"], "schema_id": ["car-1"],
    ...                    "x": [10.0], "y": [20.0], "width": [30.0], "height": [40.0]})
    >>> labels_payload(df, "p1")["labels"][0]["answer"]["objects"][0]["bounding-box"]
    {'x': 10.0, 'y': 20.0, 'width': 30.0, 'height': 40.0}
    """
    return build_labels(data, project, ontology, options, **opts).body
