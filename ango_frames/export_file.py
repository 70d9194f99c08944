"""What ``Client.export`` returns: a description of one downloaded export file.

An export downloaded to a temporary file (no ``dest=``) owns that file: ``close()`` (or leaving a
``with`` block) deletes it, and so does garbage collection or the end of the interpreter,
whichever comes first. An export written to ``dest`` is the user's file and is never deleted.
"""

from __future__ import annotations

import os
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ango_frames.errors import redact_url

__all__ = ["ExportFile"]


def _delete(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError:  # pragma: no cover - best effort at exit
        pass


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
    temporary : bool
        True when ``path`` is a temporary file this object owns and deletes (see ``close``).

    Examples
    --------
    >>> with client.export(project) as export:          # doctest: +SKIP
    ...     tables = read_export(export)
    """

    path: str
    format: str
    project: str
    params: dict[str, str]
    downloaded_at: datetime
    size: int
    storage_options: dict[str, Any] = field(default_factory=dict, repr=False)
    temporary: bool = False
    _finalizer: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.temporary:
            # runs once: at close(), when this object is collected, or at interpreter exit
            object.__setattr__(self, "_finalizer", weakref.finalize(self, _delete, self.path))

    def __repr__(self) -> str:
        return (
            f"ExportFile(path={redact_url(self.path)!r}, format={self.format!r}, "
            f"project={self.project!r}, size={self.size}, temporary={self.temporary})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # A copy in another process must not delete the file when it is collected there.
        return (
            ExportFile,
            (
                self.path,
                self.format,
                self.project,
                self.params,
                self.downloaded_at,
                self.size,
                self.storage_options,
            ),
        )

    @property
    def closed(self) -> bool:
        """True once a temporary export's file has been deleted."""
        return self._finalizer is not None and not self._finalizer.alive

    def close(self) -> None:
        """Delete the temporary file now (a no-op for a file at the user's ``dest``)."""
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self) -> ExportFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def provenance(self) -> dict[str, Any]:
        """The facts written into Parquet metadata: project, format, parameters, time, size."""
        return {
            "project": self.project,
            "format": self.format,
            "params": dict(self.params),
            "downloaded_at": self.downloaded_at.isoformat(),
            "size": self.size,
            "source": redact_url(self.path),
        }
