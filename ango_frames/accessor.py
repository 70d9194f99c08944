"""``DataFrame.ango``: the library's functions as methods of the frames they work on.

::

    import ango_frames  # registers the accessor

    predictions.ango.validate(ontology=project)        # failure cases, empty when valid
    predictions.ango.import_labels(client, project_id)
    tables.objects.ango.boxes(tables.tasks, normalized=True)
    tables.objects.ango.to_coco(tables.tasks, "coco.json")

A thin namespace (as pandera's ``df.pa``): it keeps the frame and calls the library function of
the same name, with no state or logic of its own. What it adds is an up-front check that the
frame has the columns a method needs, so a wrong frame (say, the tasks table where the objects
table belongs) fails at once with :class:`~ango_frames.errors.MissingColumnsError` naming them,
instead of deep inside the payload builder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ango_frames import training as _training
from ango_frames.errors import ConfigError, MissingColumnsError
from ango_frames.imports import attachments as _attachments
from ango_frames.imports import labels as _labels
from ango_frames.imports import send as _importer
from ango_frames.look import changes as _changes
from ango_frames.look import masking as _masks
from ango_frames.look import plot as _plot

__all__ = ["AngoAccessor"]

_ASSET_KEYS = ("asset_id", "external_id")
_CLASS_KEYS = ("schema_id", "title")
_URL_KEYS = ("attachment_url", "url")
_BOX_COLUMNS = ("task_id", "object_id", "tool", "x", "y", "width", "height")
# to_coco / to_yolo name images by (task_id, page) and categories by title
_EXPORT_OBJECT_COLUMNS = (*_BOX_COLUMNS, "title", "page")


def _require_any(df: pd.DataFrame, options: Iterable[str], needed_for: str) -> None:
    """Raise ``MissingColumnsError`` when ``df`` has none of ``options`` (any one will do)."""
    options = list(options)
    if not any(c in df.columns for c in options):
        raise MissingColumnsError(options, f"{needed_for} (any one of)", list(df.columns))


def _require_frame(value: Any, name: str) -> pd.DataFrame:
    """``value`` when it is a DataFrame; else a ConfigError that says which argument is wrong."""
    if not isinstance(value, pd.DataFrame):
        raise ConfigError(f"{name} must be a pandas DataFrame, not {type(value).__name__}")
    return value


@pd.api.extensions.register_dataframe_accessor("ango")
class AngoAccessor:
    """Ango Hub methods on a DataFrame: ``df.ango.<method>``.

    On prediction / attachment frames: :meth:`validate`, :meth:`to_labels`,
    :meth:`import_labels`, :meth:`annotate`, :meth:`to_attachments`,
    :meth:`import_attachments`. On exported tables (``read_export``): :meth:`boxes`,
    :meth:`class_index`, :meth:`split`, :meth:`to_coco`, :meth:`to_yolo`, and pictures and masks:
    :meth:`plot_asset`, :meth:`contact_sheet`, :meth:`masks`, :meth:`asset_mask`,
    :meth:`write_masks`.
    """

    def __init__(self, df: pd.DataFrame) -> None:
        self._df = df

    def __repr__(self) -> str:
        return f"<ango accessor on a DataFrame of {len(self._df)} rows>"

    # -- prediction frames -------------------------------------------------------------------

    def _labels_frame(self, needed_for: str, key: Iterable[str] = _ASSET_KEYS) -> pd.DataFrame:
        _require_any(self._df, key, f"{needed_for}: the asset key")
        _require_any(self._df, _CLASS_KEYS, f"{needed_for}: the class")
        return self._df

    def validate(self, project: Any = None, ontology: Any = None, **opts: Any) -> pd.DataFrame:
        """Every problem that would stop an import of these rows; empty when all are valid.

        Delegates to :func:`ango_frames.imports.labels.validate_labels` and fails exactly as it
        does: a frame without an asset key or class column gives the failure table
        (``missing_asset_key`` / ``missing_column``), not an exception. Nothing is sent.

        Parameters
        ----------
        project : str or dict, optional
            The project id (accepted for symmetry with :meth:`to_labels`; it does not change
            what is valid), or the project itself (``client.get_project(id)``), which is then
            used as the ontology when ``ontology`` is not given.
        ontology : dict or Ontology, optional
            Needed when rows name their class by ``title``; checks classes, tools and answers.
        **opts
            The options of :func:`ango_frames.imports.labels.validate_labels` (``options=``,
            ``body=``, ``box_format``, ``normalized``, ``sizes``, ``nested``, ...).

        Returns
        -------
        DataFrame
            The failure cases: ``row`` (this frame's index label), ``column``, ``reason``,
            ``value``; the same table :class:`~ango_frames.errors.PayloadError` carries.
        """
        if ontology is None and isinstance(project, Mapping):
            ontology = project
        return _labels.validate_labels(self._df, ontology, **opts)

    def to_labels(self, project: str, **opts: Any) -> dict[str, Any]:
        """The ``POST /import/labels`` body for these rows (one label per asset).

        Delegates to :func:`ango_frames.imports.labels.labels_payload`; ``**opts`` are its options
        (``ontology``, ``box_format``, ``normalized``, ``sizes``, ``nested``, ...).

        Raises
        ------
        MissingColumnsError
            No asset key column (``asset_id`` / ``external_id``) or no class column
            (``schema_id`` / ``title``).
        PayloadError
            Rows that cannot be imported (``.failure_cases``).
        """
        df = self._labels_frame("df.ango.to_labels")
        return _labels.labels_payload(df, project, **opts)

    def import_labels(self, client: Any, project: str, **opts: Any) -> Any:
        """Validate these rows, then send them as pre-labels in chunks.

        Delegates to :func:`ango_frames.imports.send.import_labels` (``ontology``, ``chunk_rows``,
        ``journal``, ``dry_run``, ``on_error``, ``progress`` and the payload options).

        Returns
        -------
        DataFrame or DryRun
            One result row per label, or the plan when ``dry_run=True``.
        """
        df = self._labels_frame("df.ango.import_labels")
        return _importer.import_labels(client, project, df, **opts)

    def annotate(self, client: Any, **opts: Any) -> Any:
        """Submit these rows as answers, one ``POST /annotate/{taskId}`` per ``task_id``.

        Delegates to :func:`ango_frames.imports.send.annotate` (``project``, ``ontology``,
        ``is_plugin``, ``journal``, ``dry_run``, ``on_error`` and the payload options).

        Raises
        ------
        MissingColumnsError
            No ``task_id`` column, or no class column (``schema_id`` / ``title``).
        """
        df = self._labels_frame("df.ango.annotate", key=("task_id",))
        return _importer.annotate(client, df, **opts)

    # -- attachment frames -------------------------------------------------------------------

    def _attachments_frame(self, needed_for: str) -> pd.DataFrame:
        _require_any(self._df, _ASSET_KEYS, f"{needed_for}: the asset key")
        _require_any(self._df, _URL_KEYS, f"{needed_for}: the attachment URL")
        return self._df

    def to_attachments(self, project: str) -> dict[str, Any]:
        """The ``POST /attachments`` body for these rows (one attachment per row).

        Delegates to :func:`ango_frames.imports.attachments.attachments_payload`.

        Raises
        ------
        MissingColumnsError
            No asset key (``asset_id`` / ``external_id``) or URL (``attachment_url`` / ``url``).
        """
        df = self._attachments_frame("df.ango.to_attachments")
        return _attachments.attachments_payload(df, project)

    def import_attachments(self, client: Any, project: str, **opts: Any) -> Any:
        """Attach these rows' URLs to their assets, validated and chunked.

        Delegates to :func:`ango_frames.imports.send.import_attachments` (``chunk_rows``,
        ``journal``, ``dry_run``, ``on_error``, ``progress``).
        """
        df = self._attachments_frame("df.ango.import_attachments")
        return _importer.import_attachments(client, project, df, **opts)

    # -- exported tables ---------------------------------------------------------------------

    def boxes(
        self,
        tasks: pd.DataFrame | None = None,
        format: str = "xyxy",
        normalized: bool = False,
        *,
        rotated: bool = False,
    ) -> pd.DataFrame:
        """The bounding boxes of this ``objects`` table in a chosen convention.

        Delegates to :func:`ango_frames.training.boxes`: ``format`` is ``"xyxy"``, ``"xywh"``
        or ``"cxcywh"``; ``normalized`` divides by the asset size, taken from ``tasks``
        (``metadata_width`` / ``metadata_height``).
        """
        _training.require_columns(self._df, _BOX_COLUMNS, "df.ango.boxes")
        return _training.boxes(
            self._df, tasks, format=format, normalized=normalized, rotated=rotated
        )

    def class_index(
        self, by: str = "title", *, classes: Iterable[str] | None = None
    ) -> dict[str, int]:
        """A stable class name -> 0-based index mapping (sorted unless ``classes`` orders it).

        Delegates to :func:`ango_frames.training.class_index`.
        """
        _training.require_columns(self._df, [by], "df.ango.class_index")
        return _training.class_index(self._df, by=by, classes=classes)

    def split(self, validation: float = 0.2, key: str = "task_id", seed: int = 0) -> pd.Series:
        """``"train"`` / ``"validation"`` per row, decided per asset (``key``), reproducibly.

        Delegates to :func:`ango_frames.training.split_by_asset`; the Series is aligned with
        this frame, so ``df[df.ango.split() == "train"]`` selects the training rows.
        """
        _training.require_columns(self._df, [key], "df.ango.split")
        return _training.split_by_asset(self._df, validation=validation, key=key, seed=seed)

    def _with_tasks(
        self,
        tasks: Any,
        needed_for: str,
        task_columns: Iterable[str] = ("task_id", "external_id"),
        columns: Iterable[str] = _EXPORT_OBJECT_COLUMNS,
    ) -> pd.DataFrame:
        """``tasks``, once it and this frame are known to hold the columns the method needs."""
        tasks = _require_frame(tasks, "tasks")
        _training.require_columns(self._df, columns, needed_for)
        _training.require_columns(tasks, task_columns, f"{needed_for} (tasks)")
        return tasks

    def to_coco(
        self, tasks: pd.DataFrame, dest: str | None = None, **options: Any
    ) -> dict[str, Any]:
        """COCO JSON of this ``objects`` table; written to ``dest`` if given.

        Delegates to :func:`ango_frames.training.to_coco` (options ``classes``,
        ``segmentation``, ``storage_options``); ``tasks`` is the export's tasks table (file names
        and image sizes); ``segmentation`` is None (boxes), ``"polygon"`` or ``"rle"``.
        """
        tasks = self._with_tasks(tasks, "df.ango.to_coco")
        return _training.to_coco(self._df, tasks, dest, **options)

    def to_yolo(self, tasks: pd.DataFrame, dest_dir: str, **options: Any) -> dict[str, int]:
        """YOLO label files (one ``.txt`` per image, plus ``classes.txt``) under ``dest_dir``.

        Delegates to :func:`ango_frames.training.to_yolo` (options ``classes``, ``task``,
        ``storage_options``); ``tasks`` is the export's tasks table, whose ``metadata_width`` /
        ``metadata_height`` normalise the boxes. Returns the class index used.
        """
        sizes = ("task_id", "external_id", "metadata_width", "metadata_height")
        tasks = self._with_tasks(tasks, "df.ango.to_yolo", sizes)
        return _training.to_yolo(self._df, tasks, dest_dir, **options)

    # -- pictures and masks (ango_frames.look) ---------------------------------------------------

    def _look_frames(self, tasks: Any, needed_for: str) -> pd.DataFrame:
        return self._with_tasks(tasks, needed_for, ["task_id"], ["task_id", "tool", "title"])

    def plot_asset(self, tasks: pd.DataFrame, key: str, **options: Any) -> Any:
        """Draw one asset's objects (of this ``objects`` table) over its image; the Axes.

        Delegates to :func:`ango_frames.look.plot.draw_asset` (options as ``af.plot_asset``;
        pass ``classifications=`` for the answer summary). Needs the ``[plot]`` extra.
        """
        tasks = self._look_frames(tasks, "df.ango.plot_asset")
        return _plot.draw_asset(self._df, tasks, key, **options)

    def contact_sheet(
        self, tasks: pd.DataFrame, keys: Iterable[str] | int = 12, **options: Any
    ) -> Any:
        """A grid of assets (``keys``, or the first ``n`` image assets with objects); the Figure.

        Delegates to :func:`ango_frames.look.plot.draw_sheet`; ``af.contact_sheet`` can also
        pick the assets reviewers changed most. Needs the ``[plot]`` extra.
        """
        tasks = self._look_frames(tasks, "df.ango.contact_sheet")
        if isinstance(keys, int):
            keys = _changes.first_assets(self._df, tasks, keys)
        return _plot.draw_sheet(self._df, tasks, list(keys), **options)

    def masks(self, tasks: pd.DataFrame, keys: Iterable[str] | None = None, **options: Any) -> Any:
        """Semantic and instance masks per image, one at a time (an iterator of ``AssetMask``).

        Delegates to :func:`ango_frames.look.masking.iter_masks` (``class_index``, ``brush``, ...).
        """
        tasks = self._look_frames(tasks, "df.ango.masks")
        return _masks.iter_masks(self._df, tasks, keys, **options)

    def asset_mask(self, tasks: pd.DataFrame, key: str, **options: Any) -> Any:
        """The masks of one asset; delegates to :func:`ango_frames.look.masking.asset_mask`."""
        tasks = self._look_frames(tasks, "df.ango.asset_mask")
        return _masks.asset_mask(self._df, tasks, key, **options)

    def write_masks(
        self, tasks: pd.DataFrame, dest: str, keys: Iterable[str] | None = None, **options: Any
    ) -> pd.DataFrame:
        """PNG masks under ``dest`` (any fsspec folder), one image in memory at a time.

        Delegates to :func:`ango_frames.look.masking.write_masks`.
        """
        tasks = self._look_frames(tasks, "df.ango.write_masks")
        return _masks.write_masks(self._df, tasks, dest, keys, **options)
