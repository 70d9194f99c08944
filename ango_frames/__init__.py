"""ango_frames: Ango Hub exports as tidy pandas DataFrames and Parquet; DataFrames back as pre-labels."""

from __future__ import annotations

from ango_frames import accessor as _accessor  # noqa: F401 - registers DataFrame.ango
from ango_frames.annotate import annotate_payloads
from ango_frames.attachments import attachments_payload
from ango_frames.client import Client
from ango_frames.errors import (
    AngoError,
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
    RequestTimeout,
    ServerError,
    TransportError,
)
from ango_frames.export_file import ExportFile
from ango_frames.importer import DryRun, annotate, import_attachments, import_labels
from ango_frames.incremental import export_since_last
from ango_frames.labels import LabelBatch, build_labels, labels_payload
from ango_frames.look import AssetMask, asset_mask, contact_sheet, masks, plot_asset, write_masks
from ango_frames.ontology import Ontology
from ango_frames.parquet import export_to_parquet
from ango_frames.schemas import SCHEMA_VERSION, SCHEMAS
from ango_frames.tables import ExportTables, read_export
from ango_frames.transport import RetryPolicy
from ango_frames.validate import validate_labels
from ango_frames.video import mark_key_frames

__version__ = "0.1.0"

__all__ = [
    "SCHEMAS",
    "SCHEMA_VERSION",
    "AngoError",
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
    "ExportTables",
    "ImageError",
    "ImportIncomplete",
    "LabelBatch",
    "MissingColumnsError",
    "NotFound",
    "Ontology",
    "PayloadError",
    "RateLimited",
    "RequestTimeout",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "__version__",
    "annotate",
    "annotate_payloads",
    "asset_mask",
    "attachments_payload",
    "build_labels",
    "contact_sheet",
    "export_since_last",
    "export_to_parquet",
    "import_attachments",
    "import_labels",
    "labels_payload",
    "mark_key_frames",
    "masks",
    "plot_asset",
    "read_export",
    "validate_labels",
    "write_masks",
]
