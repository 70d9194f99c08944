"""The public surface is exactly what __all__ lists; nothing becomes public by accident."""

from __future__ import annotations

import ango_frames


def test_all_is_sorted_and_complete():
    # isort-style, as ruff keeps it: CONSTANTS, then Classes, then functions
    def style(name: str) -> tuple[bool, bool, str]:
        return (not name.isupper(), not name[:1].isupper(), name)

    assert ango_frames.__all__ == sorted(ango_frames.__all__, key=style)
    public = {n for n in dir(ango_frames) if not n.startswith("_")}
    # submodules and the `from __future__ import annotations` feature are not API
    modules = {
        n for n in public if type(getattr(ango_frames, n)).__name__ in ("module", "_Feature")
    }
    assert public - modules == set(ango_frames.__all__) - {"__version__"}


def test_the_documented_entry_points_exist():
    expected = {
        "Client",
        "read_export",
        "export_to_parquet",
        "ExportTables",
        "labels_payload",
        "import_labels",
        "import_attachments",
        "annotate",
        "validate_labels",
        "PayloadError",
    }
    assert expected <= set(ango_frames.__all__)


def test_the_warnings_are_public_and_can_be_filtered():
    import warnings

    from ango_frames import errors

    assert ango_frames.AngoWarning is errors.AngoWarning
    assert ango_frames.UnknownKeysWarning is errors.UnknownKeysWarning
    assert issubclass(ango_frames.UnknownKeysWarning, ango_frames.AngoWarning)
    record = {"task": {"taskId": "t1", "tools": [], "a_key_nobody_knows": 1}, "externalId": "a"}
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ango_frames.read_export([record])
    ours = [w.category for w in seen if issubclass(w.category, ango_frames.AngoWarning)]
    assert ours == [ango_frames.UnknownKeysWarning]  # other code's warnings (GC, ...) aside
    with warnings.catch_warnings():
        warnings.simplefilter("error", ango_frames.UnknownKeysWarning)
        warnings.simplefilter("ignore", ango_frames.AngoWarning)
        ango_frames.read_export([record])  # the top-level class filters it


def test_version_is_the_installed_distribution_version():
    from importlib.metadata import version

    assert ango_frames.__version__ == version("ango-frames")
