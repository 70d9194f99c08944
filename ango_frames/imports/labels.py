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

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ango_frames.errors import ConfigError, PayloadError
from ango_frames.imports.answers import Entry, tidy_entries
from ango_frames.imports.asset_keys import AssetKeys, group_bounds
from ango_frames.imports.objects import ObjectRows
from ango_frames.imports.ontology import Ontology
from ango_frames.imports.problems import Problems
from ango_frames.imports.relations import build_relations

__all__ = ["LabelBatch", "build_labels", "labels_payload"]


@dataclass
class LabelBatch:
    """A built labels payload and what the importer and dry run need to report on it.

    Attributes
    ----------
    body : dict
        The request body: ``{"project": ..., "labels": [...]}`` (ImportLabelsRequest).
    keys : list of (str, str)
        Per label, the asset key field and value, e.g. ``("externalId", "0001.jpg")``.
    row_index : list of numpy.ndarray
        Per label, the index labels of the object rows that produced it.
    scores : pandas.DataFrame
        ``row, label, object_id, score`` for every sent object with a ``score`` (never sent).
    id_map : pandas.DataFrame
        Generated object ids: ``row, label, track_id, object_id``.
    rejected : pandas.DataFrame
        The object rows left out (``on_error="skip"``); empty otherwise.
    failures : pandas.DataFrame
        Every problem found (``row, column, reason, value``), in every input table.
    """

    body: dict[str, Any]
    keys: list[tuple[str, str]]
    row_index: list[np.ndarray]
    scores: pd.DataFrame
    id_map: pd.DataFrame
    rejected: pd.DataFrame
    failures: pd.DataFrame

    @property
    def labels(self) -> list[dict[str, Any]]:
        return self.body["labels"]

    def __repr__(self) -> str:
        n_obj = sum(len(r) for r in self.row_index)
        return (
            f"LabelBatch({len(self.keys)} labels, {n_obj} objects, "
            f"{len(self.rejected)} rejected rows, {len(self.failures)} problems)"
        )


def _frame(value: Any) -> pd.DataFrame | None:
    if value is None:
        return None
    if not isinstance(value, pd.DataFrame):
        raise ConfigError(f"expected a pandas DataFrame, not {type(value).__name__}")
    return value


def _inputs(
    data: Any, classifications: Any, relations: Any
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None]:
    """(objects, classifications, relations, tasks) from a DataFrame or an ExportTables."""
    if data is None or isinstance(data, pd.DataFrame):
        objects = data if data is not None else pd.DataFrame()
        return objects, _frame(classifications), _frame(relations), None
    if hasattr(data, "objects"):
        objects = _frame(data.objects)
        cls = (
            classifications
            if classifications is not None
            else getattr(data, "classifications", None)
        )
        rel = relations if relations is not None else getattr(data, "relations", None)
        tasks = _frame(getattr(data, "tasks", None))
        return objects if objects is not None else pd.DataFrame(), _frame(cls), _frame(rel), tasks
    raise ConfigError(
        f"data must be a DataFrame or export tables (with .objects), not {type(data).__name__}"
    )


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic GC while millions of small dicts are made.

    The dicts hold no cycles; without this the collector rescans the growing heap every few
    thousand allocations and building takes about twice as long.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def build_labels(
    data: Any,
    project: str,
    ontology: Any = None,
    *,
    box_format: str = "xywh",
    normalized: bool = False,
    sizes: Any = None,
    nested: dict[str, str] | None = None,
    classifications: pd.DataFrame | None = None,
    relations: pd.DataFrame | None = None,
    status: str | None = None,
    assignee: str | None = None,
    on_error: str = "raise",
) -> LabelBatch:
    """Build the labels payload and its bookkeeping (row mapping, ids, scores, rejects).

    Parameters are those of :func:`labels_payload`. With ``on_error="skip"`` the valid rows are
    built and the others returned in :attr:`LabelBatch.rejected` / ``failures``; an asset whose
    rows were all rejected gets no label at all (an empty label would wipe its pre-labels).
    """
    with _no_gc():
        return _build(
            data,
            project,
            ontology,
            by="asset",
            box_format=box_format,
            normalized=normalized,
            sizes=sizes,
            nested=nested,
            classifications=classifications,
            relations=relations,
            extra={"status": status, "assignee": assignee},
            on_error=on_error,
        )


def _build(
    data: Any,
    project: str,
    ontology: Any,
    *,
    by: str,
    box_format: str,
    normalized: bool,
    sizes: Any,
    nested: dict[str, str] | None,
    classifications: pd.DataFrame | None,
    relations: pd.DataFrame | None,
    extra: dict[str, Any],
    on_error: str,
) -> LabelBatch:
    if on_error not in ("raise", "skip"):
        raise ConfigError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
    for name, value in extra.items():
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{name}= must be a string, not {type(value).__name__}")
    objects, cls_df, rel_df, tasks = _inputs(data, classifications, relations)
    onto = Ontology.from_project(ontology) if ontology is not None else None
    keys = AssetKeys(by, tasks)
    op = Problems(objects.index)
    cp = Problems(cls_df.index, "classifications.") if cls_df is not None else None
    rp = Problems(rel_df.index, "relations.") if rel_df is not None else None
    if tasks is not None and by == "asset":
        keys.add(tasks, None)
    slot_o, aid, ext = keys.add(objects, op)
    slot_c = keys.add(cls_df, cp)[0] if cls_df is not None else -1
    slot_r = keys.add(rel_df, rp)[0] if rel_df is not None else -1
    codes = keys.number()
    n_assets = len(keys)

    rows = ObjectRows(objects, codes[slot_o], keys, onto, op)
    rows.build(
        box_format=box_format, normalized=normalized, sizes=sizes, aid=aid, ext=ext, nested=nested
    )
    entries: list[Entry] = []
    if cls_df is not None and cp is not None:
        entries = tidy_entries(cls_df, codes[slot_c], onto, cp, rows.object_schema())
        rows.attach(entries, cp)
    # in raise mode every object counts as an end, so only truly dangling ends are reported
    rels: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    if rel_df is not None and rp is not None:
        rels = build_relations(
            rel_df, codes[slot_r], onto, rp, rows.ids_by_asset(on_error == "raise"), rows.tracks
        )
    problems = [p for p in (op, cp, rp) if p is not None]
    failures = _failures(problems)
    if on_error == "raise" and len(failures):
        raise PayloadError(failures)

    valid = (rows.codes >= 0) & ~op.bad
    vpos = np.flatnonzero(valid)
    order, starts = group_bounds(rows.codes[vpos], n_assets)
    sorted_pos = vpos[order]
    objs = rows.dicts(sorted_pos)
    global_cls: dict[int, list[dict[str, Any]]] = {}
    for entry in entries:
        if entry.object_id is None and not entry.bad:
            global_cls.setdefault(entry.code, []).append(entry.body)
    rejected_codes = _rejected_codes(rows.codes, op, codes, slot_c, cp, slot_r, rp, n_assets)
    labels: list[dict[str, Any]] = []
    label_keys: list[tuple[str, str]] = []
    row_index: list[np.ndarray] = []
    label_of_code = np.full(n_assets, -1)
    index = np.asarray(objects.index)[sorted_pos]
    for code in range(n_assets):
        lo, hi = int(starts[code]), int(starts[code + 1])
        cls_list = global_cls.get(code, [])
        rel_list = [b for _, b in rels.get(code, [])]
        if hi == lo and not cls_list and not rel_list and rejected_codes[code]:
            continue  # everything for this asset was rejected: send nothing rather than wipe it
        field, value = keys.field(code)
        label: dict[str, Any] = {
            field: value,
            "answer": {"objects": objs[lo:hi], "classifications": cls_list, "relations": rel_list},
        }
        for name, extra_value in extra.items():
            if extra_value is not None:
                label[name] = extra_value
        label_of_code[code] = len(labels)
        labels.append(label)
        label_keys.append((field, value))
        row_index.append(index[lo:hi])
    label_of_row = np.full(len(objects), -1)
    if len(vpos):
        label_of_row[vpos] = label_of_code[rows.codes[vpos]]
    return LabelBatch(
        body={"project": project, "labels": labels},
        keys=label_keys,
        row_index=row_index,
        scores=rows.scores(sorted_pos, label_of_row),
        id_map=rows.id_map(sorted_pos, label_of_row),
        rejected=objects.iloc[np.flatnonzero(op.bad)],
        failures=failures,
    )


def _failures(problems: list[Problems]) -> pd.DataFrame:
    frames = [p.frame() for p in problems if p]
    if not frames:
        return Problems(pd.RangeIndex(0)).frame()
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _rejected_codes(
    ocodes: np.ndarray,
    op: Problems,
    codes: list[np.ndarray],
    slot_c: int,
    cp: Problems | None,
    slot_r: int,
    rp: Problems | None,
    n_assets: int,
) -> np.ndarray:
    """Per asset: whether any of its rows (in any table) was rejected."""
    out = np.zeros(n_assets, dtype=bool)
    for c, p in (
        (ocodes, op),
        (codes[slot_c] if cp else None, cp),
        (codes[slot_r] if rp else None, rp),
    ):
        if p is None or c is None:
            continue
        bad = c[p.bad]
        out[bad[bad >= 0]] = True
    return out


def labels_payload(
    data: Any,
    project: str,
    ontology: Any = None,
    *,
    box_format: str = "xywh",
    normalized: bool = False,
    sizes: Any = None,
    nested: dict[str, str] | None = None,
    classifications: pd.DataFrame | None = None,
    relations: pd.DataFrame | None = None,
    status: str | None = None,
    assignee: str | None = None,
    on_error: str = "raise",
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
    box_format : {"xywh", "xyxy", "cxcywh"}
        How the box columns are given.
    normalized : bool
        Coordinates are fractions of the asset size (``asset_width`` / ``asset_height``
        columns, or ``sizes``).
    sizes : DataFrame or mapping, optional
        Asset sizes by ``external_id`` / ``asset_id`` (an export's tasks table works); they also
        turn on the ``out_of_bounds`` check.
    nested : dict, optional
        Nested classification (title or schemaId under the row's class) -> column of answers.
    classifications, relations : DataFrame, optional
        Global answers and relations in the tidy export shape.
    status, assignee : str, optional
        Set on every label.
    on_error : {"raise", "skip"}
        ``raise``: one :class:`~ango_frames.errors.PayloadError` listing every problem;
        ``skip``: leave bad rows out (see :func:`build_labels` to get them back).

    Raises
    ------
    PayloadError
        Rows that cannot be imported (``.failure_cases``: row, column, reason, value).
    ConfigError
        Arguments that cannot work (titles without an ontology, unknown ``box_format``, ...).

    Examples
    --------
    >>> df = pd.DataFrame({"external_id": ["a.jpg"], "schema_id": ["car-1"],
    ...                    "x": [10.0], "y": [20.0], "width": [30.0], "height": [40.0]})
    >>> labels_payload(df, "p1")["labels"][0]["answer"]["objects"][0]["bounding-box"]
    {'x': 10.0, 'y': 20.0, 'width': 30.0, 'height': 40.0}
    """
    return build_labels(
        data,
        project,
        ontology,
        box_format=box_format,
        normalized=normalized,
        sizes=sizes,
        nested=nested,
        classifications=classifications,
        relations=relations,
        status=status,
        assignee=assignee,
        on_error=on_error,
    ).body
