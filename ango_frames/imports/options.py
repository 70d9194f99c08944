"""The options of a payload build, in one frozen object validated once.

``labels_payload``, ``build_labels``, ``annotate_payloads``, ``import_file_items``,
``validate_labels`` and the importers all take the same options; they are written out here once
(:class:`PayloadOptions`) and passed either as that object (``options=``) or as keywords of the
same names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import pandas as pd

from ango_frames.errors import ConfigError

__all__ = ["BOX_FORMATS", "PayloadOptions", "input_frame"]

#: Box column conventions: name -> the four columns it reads.
BOX_FORMATS: dict[str, tuple[str, str, str, str]] = {
    "xywh": ("x", "y", "width", "height"),
    "xyxy": ("x1", "y1", "x2", "y2"),
    "cxcywh": ("cx", "cy", "width", "height"),
}


def input_frame(value: Any, name: str = "data") -> pd.DataFrame:
    """``value`` when it is a DataFrame whose column names are unique; else a ``ConfigError``.

    A repeated column name makes ``frame[column]`` a frame, not a column: which of the two the
    user meant cannot be known, so nothing is guessed.
    """
    if not isinstance(value, pd.DataFrame):
        raise ConfigError(f"{name} must be a pandas DataFrame, not {type(value).__name__}")
    if not value.columns.is_unique:
        repeated = sorted({str(c) for c in value.columns[value.columns.duplicated()]})
        raise ConfigError(
            f"{name} has repeated column name(s) {', '.join(repeated)}: rename or drop the "
            "copies (e.g. df.loc[:, ~df.columns.duplicated()]) so each column is read once"
        )
    return value


@dataclass(frozen=True)
class PayloadOptions:
    """How the rows of a labels / annotate / import-file build are read.

    Attributes
    ----------
    box_format : {"xywh", "xyxy", "cxcywh"}
        How the box columns are given.
    normalized : bool
        Coordinates are fractions of the asset size (``asset_width`` / ``asset_height``
        columns, or ``sizes``).
    sizes : DataFrame or mapping, optional
        Asset sizes by ``external_id`` / ``asset_id`` (an export's tasks table works); they
        also turn on the ``out_of_bounds`` check.
    nested : dict, optional
        Nested classification (title or schemaId under the row's class) -> column of answers.
    classifications, relations : DataFrame, optional
        Global answers and relations in the tidy export shape.
    status, assignee : str, optional
        Set on every label (``/import/labels`` only).
    on_error : {"raise", "skip"}
        ``raise``: one :class:`~ango_frames.errors.PayloadError` listing every problem;
        ``skip``: leave bad rows out (they come back in the batch's ``rejected`` / ``failures``).
    """

    box_format: str = "xywh"
    normalized: bool = False
    sizes: Any = None
    nested: Mapping[str, str] | None = None
    classifications: pd.DataFrame | None = None
    relations: pd.DataFrame | None = None
    status: str | None = None
    assignee: str | None = None
    on_error: str = "raise"

    def __post_init__(self) -> None:
        if self.box_format not in BOX_FORMATS:
            raise ConfigError(
                f"box_format must be one of {', '.join(BOX_FORMATS)}, not {self.box_format!r}"
            )
        if self.on_error not in ("raise", "skip"):
            raise ConfigError(f"on_error must be 'raise' or 'skip', not {self.on_error!r}")
        if not isinstance(self.normalized, bool):
            raise ConfigError(f"normalized= must be True or False, not {self.normalized!r}")
        for name in ("status", "assignee"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"{name}= must be a string, not {type(value).__name__}")
        for name in ("classifications", "relations"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, pd.DataFrame):
                raise ConfigError(f"{name}= must be a pandas DataFrame, not {type(value).__name__}")
        if self.nested is not None and not isinstance(self.nested, Mapping):
            raise ConfigError("nested= must be a mapping of classification -> column")

    @classmethod
    def of(cls, options: PayloadOptions | None = None, **overrides: Any) -> PayloadOptions:
        """``options`` (or the defaults) with ``overrides`` applied; unknown names are a
        ``TypeError`` naming them, as for any function keyword."""
        names = {f.name for f in fields(cls)}
        unknown = set(overrides) - names
        if unknown:
            raise TypeError(f"unexpected option(s): {', '.join(sorted(unknown))}")
        if options is not None and not isinstance(options, PayloadOptions):
            raise ConfigError(f"options= must be a PayloadOptions, not {type(options).__name__}")
        base = options if options is not None else cls()
        return replace(base, **overrides) if overrides else base

    @property
    def extra(self) -> dict[str, str]:
        """The label fields set on every label (``status``, ``assignee``) that are given."""
        return {
            k: v for k, v in (("status", self.status), ("assignee", self.assignee)) if v is not None
        }
