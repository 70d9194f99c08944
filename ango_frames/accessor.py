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
from ango_frames.imports import problems as _validate
from ango_frames.imports import send as _importer

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
    :meth:`class_index`, :meth:`split`, :meth:`to_coco`, :meth:`to_yolo`.
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

        Delegates to :func:`ango_frames.imports.problems.validate_labels`. Nothing is sent.

        Parameters
        ----------
        project : str or dict, optional
            The project id (accepted for symmetry with :meth:`to_labels`; it does not change
            what is valid), or the project itself (``client.get_project(id)``), which is then
            used as the ontology when ``ontology`` is not given.
        ontology : dict or Ontology, optional
            Needed when rows name their class by ``title``; checks classes, tools and answers.
        **opts
            The options of :func:`ango_frames.imports.labels.labels_payload` (``box_format``,
            ``normalized``, ``sizes``, ``nested``, ``classifications``, ``relations``).

        Returns
        -------
        DataFrame
            The failure cases: ``row`` (this frame's index label), ``column``, ``reason``,
            ``value``; the same table :class:`~ango_frames.errors.PayloadError` carries.
        """
        df = self._labels_frame("df.ango.validate")
        if ontology is None and isinstance(project, Mapping):
            ontology = project
        return _validate.validate_labels(df, ontology, **opts)

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

    def to_coco(
        self,
        tasks: pd.DataFrame,
        dest: str | None = None,
        *,
        classes: Iterable[str] | None = None,
        storage_options: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """COCO detection JSON of this ``objects`` table's boxes; written to ``dest`` if given.

        Delegates to :func:`ango_frames.training.to_coco`; ``tasks`` is the export's tasks
        table (file names and image sizes).
        """
        tasks = _require_frame(tasks, "tasks")
        _training.require_columns(self._df, _EXPORT_OBJECT_COLUMNS, "df.ango.to_coco")
        _training.require_columns(tasks, ["task_id", "external_id"], "df.ango.to_coco (tasks)")
        return _training.to_coco(
            self._df, tasks, dest, classes=classes, storage_options=storage_options
        )

    def to_yolo(
        self,
        tasks: pd.DataFrame,
        dest_dir: str,
        *,
        classes: Iterable[str] | None = None,
        storage_options: Mapping[str, Any] | None = None,
    ) -> dict[str, int]:
        """YOLO label files (one ``.txt`` per image, plus ``classes.txt``) under ``dest_dir``.

        Delegates to :func:`ango_frames.training.to_yolo`; ``tasks`` is the export's tasks
        table, whose ``metadata_width`` / ``metadata_height`` normalise the boxes. Returns the
        class index used.
        """
        tasks = _require_frame(tasks, "tasks")
        _training.require_columns(self._df, _EXPORT_OBJECT_COLUMNS, "df.ango.to_yolo")
        _training.require_columns(
            tasks,
            ["task_id", "external_id", "metadata_width", "metadata_height"],
            "df.ango.to_yolo (tasks)",
        )
        return _training.to_yolo(
            self._df, tasks, dest_dir, classes=classes, storage_options=storage_options
        )
