"""Video key frames: which per-frame rows were drawn by a person and which were interpolated.

Exports do not mark key frames (none of the documented fields does), but an export requested
with ``include_only_key_frames=True`` holds only them. ``mark_key_frames`` compares the two and
fills the ``key_frame`` column of the full export's objects, so the difference is visible in one
table.
"""

from __future__ import annotations

import pandas as pd

from ango_frames.errors import MissingColumnsError

__all__ = ["mark_key_frames"]

_KEYS = ["task_id", "object_id", "page"]


def mark_key_frames(objects: pd.DataFrame, key_frame_objects: pd.DataFrame) -> pd.DataFrame:
    """The full export's ``objects`` with ``key_frame`` filled from a key-frames-only export.

    Parameters
    ----------
    objects : DataFrame
        The ``objects`` table of a full export (every frame).
    key_frame_objects : DataFrame
        The ``objects`` table of the same project exported with ``include_only_key_frames=True``.

    Returns
    -------
    DataFrame
        A copy of ``objects`` whose per-frame rows (``page`` set) have ``key_frame`` True when the
        key-frames export has the same ``(task_id, object_id, page)``, else False; rows without a
        page keep the value they had. A key frame the full export lacks is not invented.
    """
    for name, frame in (("objects", objects), ("key_frame_objects", key_frame_objects)):
        missing = [c for c in [*_KEYS, "key_frame"] if c not in frame.columns]
        if missing:
            raise MissingColumnsError(missing, f"mark_key_frames ({name})", list(frame.columns))
    keys = key_frame_objects.loc[key_frame_objects["page"].notna(), _KEYS].drop_duplicates()
    index = pd.MultiIndex.from_frame(keys.astype(object))
    framed = objects["page"].notna().to_numpy()
    probe = pd.MultiIndex.from_frame(objects.loc[framed, _KEYS].astype(object))
    out = objects.copy()
    flags = out["key_frame"].astype(object).to_numpy(copy=True)
    flags[framed] = probe.isin(index)
    out["key_frame"] = pd.array(flags, dtype=objects["key_frame"].dtype)
    return out
