"""Incremental exports: only the tasks updated since the last run, with a saved watermark.

The watermark is the time the previous export was *requested*, minus a safety margin for clock
skew, saved in a small JSON file (any fsspec URL) only after the download succeeded. A task
updated while an export is being built may therefore come twice, in consecutive exports, but
never zero times: duplicates are cheap to drop by ``task_id`` and ``updated_at``; losses are not
visible at all.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import fsspec

from ango_frames.errors import ConfigError

if TYPE_CHECKING:
    from ango_frames.api.client import Client
    from ango_frames.export_file import ExportFile

__all__ = ["export_since_last", "read_watermark"]

SAFETY_MARGIN = dt.timedelta(minutes=5)


def _fix(state: str) -> str:
    return (
        f"fix or delete the state file {state} (deleting it makes the next run export "
        'everything); it holds {"<project id>": {"watermark": "<ISO 8601 time>"}, ...}'
    )


def _load_state(state: str, storage_options: dict[str, Any] | None) -> tuple[Any, str, dict]:
    """(filesystem, path, saved state) of the state file; an empty state when there is none."""
    fs, path = fsspec.core.url_to_fs(state, **(storage_options or {}))
    if not fs.exists(path):
        return fs, path, {}
    with fs.open(path, "rb") as f:
        raw = f.read()
    try:
        saved = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{state} is not a watermark file ({exc}): {_fix(state)}") from exc
    if not isinstance(saved, dict):
        raise ConfigError(
            f"{state} holds a JSON {type(saved).__name__}, not an object: {_fix(state)}"
        )
    return fs, path, saved


def _parse_entry(state: str, project: str, entry: Any) -> dt.datetime:
    when = entry.get("watermark") if isinstance(entry, dict) else None
    if not isinstance(when, str):
        raise ConfigError(
            f'{state}: the entry of project {project!r} has no "watermark" time '
            f"(found {entry!r}): {_fix(state)}"
        )
    try:
        parsed = dt.datetime.fromisoformat(when)
    except ValueError as exc:
        raise ConfigError(
            f"{state}: the watermark of project {project!r} is not an ISO 8601 time "
            f"({when!r}): {_fix(state)}"
        ) from exc
    if parsed.tzinfo is None:
        raise ConfigError(
            f"{state}: the watermark of project {project!r} has no time zone ({when!r}): "
            f"{_fix(state)}"
        )
    return parsed


def read_watermark(
    state: str, project: str, storage_options: dict[str, Any] | None = None
) -> dt.datetime | None:
    """The saved watermark of ``project`` in the state file, or None on a first run.

    Raises
    ------
    ConfigError
        The state file is not one this function wrote (hand-edited or foreign): names the fix.
    """
    saved = _load_state(state, storage_options)[2]
    entry = saved.get(project)
    if entry is None:
        return None
    return _parse_entry(state, project, entry)


def _write_watermark(
    state: str, project: str, when: dt.datetime, storage_options: dict[str, Any] | None
) -> None:
    fs, path, saved = _load_state(state, storage_options)
    saved[project] = {"watermark": when.isoformat()}
    tmp = f"{path}.tmp"
    with fs.open(tmp, "w") as f:
        json.dump(saved, f, indent=1, sort_keys=True)
    fs.mv(tmp, path)


def export_since_last(
    client: Client,
    project: str,
    state: str,
    *,
    margin: dt.timedelta = SAFETY_MARGIN,
    state_storage_options: dict[str, Any] | None = None,
    **export_options: Any,
) -> ExportFile:
    """Export the tasks of ``project`` updated since the previous call with the same ``state`` file.

    The first call exports everything. ``export_options`` are those of ``Client.export``
    (``updated_at`` is set here and may not be given). The watermark only moves once the download
    has succeeded, so a failed run is simply repeated.
    """
    if "updated_at" in export_options:
        raise ConfigError("export_since_last sets updated_at itself; do not pass it")
    since = read_watermark(state, project, state_storage_options)
    requested = dt.datetime.now(dt.timezone.utc)
    export = client.export(project, updated_at=(since, None) if since else None, **export_options)
    _write_watermark(state, project, requested - margin, state_storage_options)
    return export
