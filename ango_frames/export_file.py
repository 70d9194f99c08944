"""What ``Client.export`` returns: a description of one downloaded export file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["ExportFile"]


@dataclass(frozen=True)
class ExportFile:
    """One downloaded export zip; every export reader accepts it as ``src``.

    Attributes
    ----------
    path : str
        Local path or fsspec URL of the zip.
    format : str
        ``json``, ``ndjson`` or ``split``, as requested.
    project : str
        The project id.
    params : dict
        The query parameters sent to ``GET /export`` (as strings, exactly as sent). Never the key.
    downloaded_at : datetime
        UTC time the download finished.
    size : int
        Bytes downloaded.
    storage_options : dict
        fsspec options for ``path`` (credentials for object storage; not part of the repr).
    """

    path: str
    format: str
    project: str
    params: dict[str, str]
    downloaded_at: datetime
    size: int
    storage_options: dict[str, Any] = field(default_factory=dict, repr=False)

    def provenance(self) -> dict[str, Any]:
        """The facts written into Parquet metadata: project, format, parameters, time, size."""
        return {
            "project": self.project,
            "format": self.format,
            "params": dict(self.params),
            "downloaded_at": self.downloaded_at.isoformat(),
            "size": self.size,
            "source": self.path,
        }
