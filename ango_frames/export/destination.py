"""Where a set of Parquet datasets is written: never over an old one by accident, never mixed.

A folder that already holds a dataset (any ``<folder>/<table>/`` of the tidy tables with a file
in it) is refused unless ``overwrite=True``. Then the new datasets are written to a hidden
sibling of the tables, ``<folder>/.ango-frames-new-<token>/``, and swapped in only when every
table is written: the old tables move aside to ``.ango-frames-old-<token>/``, the new ones take
their place, the old ones are deleted. A failed write leaves the old dataset as it was. Readers
ignore folders that start with a dot, so none of them ever reads the halves together. Files
other than the tables' folders are left alone.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ango_frames.errors import ConfigError
from ango_frames.export.writer import filesystem
from ango_frames.schemas import TABLE_NAMES

__all__ = ["existing_tables", "staged"]


def existing_tables(fs: Any, root: str) -> list[str]:
    """The tables with a dataset folder holding at least one file under ``root``."""
    return [t for t in TABLE_NAMES if fs.isdir(f"{root}/{t}") and fs.find(f"{root}/{t}")]


def _remove(fs: Any, path: str) -> None:
    if fs.exists(path):
        fs.rm(path, recursive=True)


@contextmanager
def staged(
    dest: str | os.PathLike, storage_options: dict[str, Any] | None, overwrite: bool
) -> Iterator[str]:
    """Yield the URL to write the datasets to; on leaving, they are the datasets of ``dest``.

    Raises
    ------
    ConfigError
        ``dest`` already holds a dataset and ``overwrite`` is false.
    """
    fs, root = filesystem(dest, storage_options)
    base = os.fspath(dest).rstrip("/")
    old_tables = existing_tables(fs, root)
    if old_tables and not overwrite:
        raise ConfigError(
            f"{base} already holds a dataset ({', '.join(old_tables)}); pass overwrite=True "
            "(CLI: --overwrite) to replace it whole, or write to an empty folder"
        )
    if not old_tables:
        try:
            yield base
        except BaseException:
            for table in TABLE_NAMES:  # nothing of a failed write is left to be read as a dataset
                _remove(fs, f"{root}/{table}")
            raise
        return
    token = uuid.uuid4().hex[:12]
    new, old = f"{root}/.ango-frames-new-{token}", f"{root}/.ango-frames-old-{token}"
    try:
        yield f"{base}/.ango-frames-new-{token}"
    except BaseException:
        _remove(fs, new)
        raise
    _swap(fs, root, new, old)


def _swap(fs: Any, root: str, new: str, old: str) -> None:
    """Move every table folder of ``root`` into ``old``, then those of ``new`` into ``root``."""
    moved: list[str] = []
    fs.makedirs(old, exist_ok=True)
    try:
        for table in TABLE_NAMES:
            if fs.exists(f"{root}/{table}"):
                fs.mv(f"{root}/{table}", f"{old}/{table}", recursive=True)
                moved.append(table)
        for table in TABLE_NAMES:
            if fs.exists(f"{new}/{table}"):
                fs.mv(f"{new}/{table}", f"{root}/{table}", recursive=True)
    except BaseException:
        for table in TABLE_NAMES:  # put the old dataset back as it was
            if table in moved:
                _remove(fs, f"{root}/{table}")
                fs.mv(f"{old}/{table}", f"{root}/{table}", recursive=True)
        _remove(fs, new)
        _remove(fs, old)
        raise
    _remove(fs, old)
    _remove(fs, new)
