"""ango_frames: Ango Hub exports as tidy pandas DataFrames and Parquet; DataFrames back as pre-labels."""

from __future__ import annotations

from ango_frames.errors import (
    AngoError,
    ApiError,
    AuthError,
    BadRequest,
    ConfigError,
    ExportDownloadError,
    ExportFormatError,
    ImportIncomplete,
    NotFound,
    PayloadError,
    RateLimited,
    RequestTimeout,
    ServerError,
    TransportError,
)
from ango_frames.schemas import SCHEMA_VERSION, SCHEMAS

__version__ = "0.1.0"

__all__ = [
    "SCHEMAS",
    "SCHEMA_VERSION",
    "AngoError",
    "ApiError",
    "AuthError",
    "BadRequest",
    "ConfigError",
    "ExportDownloadError",
    "ExportFormatError",
    "ImportIncomplete",
    "NotFound",
    "PayloadError",
    "RateLimited",
    "RequestTimeout",
    "ServerError",
    "TransportError",
    "__version__",
]
