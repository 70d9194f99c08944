"""ango_frames: Ango Hub exports as tidy DataFrames and Parquet; DataFrames back as pre-labels."""

from __future__ import annotations

import importlib.metadata as _metadata

from ango_frames import accessor as _accessor  # noqa: F401 - registers DataFrame.ango
from ango_frames.api.client import Client
from ango_frames.api.export_request import ExportRequest
from ango_frames.api.incremental import export_since_last
from ango_frames.api.transport import RetryPolicy
from ango_frames.errors import (
    AngoError,
    AngoWarning,
    ApiError,
    AuthError,
    BadRequest,
    ConfigError,
    ExportDownloadError,
    ExportFormatError,
    ImageError,
    ImportIncomplete,
    MissingColumnsError,
    NotFound,
    PayloadError,
    RateLimited,
    RepairedTextWarning,
    RequestTimeout,
    ServerError,
    TransportError,
    UnknownKeysWarning,
)
from ango_frames.export.flatten.native import engine
from ango_frames.export.parquet import export_to_parquet
from ango_frames.export.tables import ExportTables, read_export
from ango_frames.export_file import ExportFile
from ango_frames.imports.annotate import annotate_payloads
from ango_frames.imports.attachments import attachments_payload
from ango_frames.imports.import_file import import_file_items
from ango_frames.imports.labels import LabelBatch, build_labels, labels_payload, validate_labels
from ango_frames.imports.ontology import Ontology
from ango_frames.imports.options import PayloadOptions
from ango_frames.imports.send import DryRun, annotate, import_attachments, import_labels
from ango_frames.look import AssetMask, asset_mask, contact_sheet, masks, plot_asset, write_masks
from ango_frames.schemas import SCHEMA_VERSION, SCHEMAS
from ango_frames.video import mark_key_frames

try:
    __version__ = _metadata.version("ango-frames")  # one source of truth: pyproject.toml
except (
    _metadata.PackageNotFoundError
):  # pragma: no cover - imported from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "SCHEMAS",
    "SCHEMA_VERSION",
    "AngoError",
    "AngoWarning",
    "ApiError",
    "AssetMask",
    "AuthError",
    "BadRequest",
    "Client",
    "ConfigError",
    "DryRun",
    "ExportDownloadError",
    "ExportFile",
    "ExportFormatError",
    "ExportRequest",
    "ExportTables",
    "ImageError",
    "ImportIncomplete",
    "LabelBatch",
    "MissingColumnsError",
    "NotFound",
    "Ontology",
    "PayloadError",
    "PayloadOptions",
    "RateLimited",
    "RepairedTextWarning",
    "RequestTimeout",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "UnknownKeysWarning",
    "__version__",
    "annotate",
    "annotate_payloads",
    "asset_mask",
    "attachments_payload",
    "build_labels",
    "contact_sheet",
    "engine",
    "export_since_last",
    "export_to_parquet",
    "import_attachments",
    "import_file_items",
    "import_labels",
    "labels_payload",
    "mark_key_frames",
    "masks",
    "plot_asset",
    "read_export",
    "validate_labels",
    "write_masks",
]
