"""Records handed to ``read_export`` in memory rather than as a file.

What iMerit's official client returns is read as it is: ``exportV3`` in json gives a list of
dicts, in ndjson an ``(iterator, count)`` tuple; one record dict is read as one record. Anything
else is refused with a typed error before a single row is made, never read as made-up tasks.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from ango_frames.errors import ConfigError, ExportFormatError
from ango_frames.export_file import ExportFile

__all__ = ["SOURCE", "given_records", "is_file_source"]

SOURCE = "<records>"


def is_file_source(src: Any) -> bool:
    """A path, fsspec URL, ExportFile or binary file object (read by the file reader)."""
    return isinstance(src, (str, os.PathLike, ExportFile)) or hasattr(src, "read")


def _checked(records: Iterable[Any]) -> Iterator[dict[str, Any]]:
    for i, record in enumerate(records):
        if type(record) is not dict:
            raise ExportFormatError(
                f"element {i} is {type(record).__name__} {_short(record)}, not an export "
                "record (a JSON object / dict)",
                SOURCE,
                f"record {i}",
            )
        yield record


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def given_records(src: Any) -> tuple[Iterator[dict[str, Any]], dict[str, Any]]:
    """(records, provenance) of an in-memory source; every record is checked to be a dict.

    Raises
    ------
    ConfigError
        ``src`` is neither a file source, a record, nor an iterable of records.
    ExportFormatError
        An element that is not a record (names its index).
    """
    if isinstance(src, dict):
        return iter([src]), {"source": SOURCE, "format": "record"}
    if (
        type(src) is tuple
        and len(src) == 2
        and type(src[1]) is int
        and isinstance(src[0], Iterable)
        and not isinstance(src[0], (str, bytes, dict))
    ):  # the official client's ndjson export: (records, count)
        return _checked(src[0]), {"source": SOURCE, "format": "records", "count": src[1]}
    if isinstance(src, (bytes, bytearray, memoryview)):
        raise ConfigError("src is raw bytes: pass a binary file object instead (io.BytesIO(data))")
    if isinstance(src, Iterable) and not isinstance(src, str):
        return _checked(src), {"source": SOURCE, "format": "records"}
    raise ConfigError(
        f"src must be a path, an fsspec URL, an ExportFile, a binary file object, one record "
        f"(dict) or an iterable of records, not {type(src).__name__} {_short(src)}"
    )
