"""TEMPORARY stand-in for the export reader (replaced by the real ``records`` module at merge).

Loads whole files; only ``iter_records`` and ``source_provenance`` exist here.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from typing import Any

import fsspec
import orjson

from ango_frames.errors import ExportFormatError
from ango_frames.export_file import ExportFile

__all__ = ["iter_records", "source_provenance"]


def _open(src: Any, storage_options: dict[str, Any] | None) -> tuple[bytes, str]:
    if isinstance(src, ExportFile):
        storage_options = storage_options or src.storage_options
        src = src.path
    if hasattr(src, "read"):
        return src.read(), getattr(src, "name", "<file>")
    path = os.fspath(src)
    with fsspec.open(path, "rb", **(storage_options or {})) as f:
        return f.read(), path


def _parse(data: bytes, source: str) -> Iterator[dict[str, Any]]:
    text = data.decode("utf-8-sig")
    stripped = text.lstrip()
    if not stripped:
        return
    try:
        if stripped[0] == "[":
            yield from orjson.loads(stripped)
            return
        try:
            yield orjson.loads(stripped)
            return
        except orjson.JSONDecodeError:
            pass
        for line in stripped.splitlines():
            if line.strip():
                yield orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ExportFormatError(f"invalid JSON: {exc}", source) from exc


def _ndjson_lines(src: Any, storage_options: dict[str, Any] | None) -> Iterator[dict] | None:
    """Line by line when ``src`` is a path to an ndjson file (bounded memory for benchmarks)."""
    if isinstance(src, ExportFile) or hasattr(src, "read"):
        return None
    path = os.fspath(src)
    with fsspec.open(path, "rb", **(storage_options or {})) as f:
        head = f.read(4096)
    first = head.lstrip()[:1]
    ndjson_name = path.endswith((".ndjson", ".jsonl"))
    if head[:4] == b"PK\x03\x04" or first != b"{" or not (ndjson_name or b"\n" in head.strip()):
        return None

    def lines() -> Iterator[dict]:
        with fsspec.open(path, "rb", **(storage_options or {})) as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield orjson.loads(line)
                    except orjson.JSONDecodeError as exc:
                        raise ExportFormatError(f"invalid JSON: {exc}", path, f"line {n}") from exc

    return lines()


def iter_records(src: Any, *, storage_options: dict[str, Any] | None = None) -> Iterator[dict]:
    """Every top-level record of ``src`` (zip, .json array or object, .ndjson)."""
    streamed = _ndjson_lines(src, storage_options)
    if streamed is not None:
        yield from streamed
        return
    data, source = _open(src, storage_options)
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for name in sorted(zf.namelist()):
                if name.endswith("/"):
                    continue
                yield from _parse(zf.read(name), f"{source}!{name}")
    else:
        yield from _parse(data, source)


def source_provenance(src: Any, *, storage_options: dict[str, Any] | None = None) -> dict:
    """Where the records came from (never secrets)."""
    if isinstance(src, ExportFile):
        return {**src.provenance(), "members": []}
    name = getattr(src, "name", None) if hasattr(src, "read") else os.fspath(src)
    return {"source": str(name), "format": "unknown", "members": []}
