"""A hand-edited ``export_since_last`` state file is a ConfigError that names the fix."""

from __future__ import annotations

import pytest

from ango_frames.api.incremental import export_since_last, read_watermark
from ango_frames.errors import ConfigError


class _NoExport:
    def export(self, *args, **kwargs):  # the state is checked before anything is requested
        raise AssertionError("export requested despite a broken state file")


@pytest.mark.parametrize(
    "text",
    [
        "[1, 2]",
        '{"p1": "2024-01-01"}',
        '{"p1": {"when": "2024-01-01T00:00:00+00:00"}}',
        '{"p1": {"watermark": "yesterday"}}',
        '{"p1": {"watermark": 1700000000}}',
        '{"p1": {"watermark": "2024-01-01T00:00:00"}}',
        "not json",
        "\xff\xfe",
    ],
)
def test_a_hand_edited_state_file_names_the_fix(tmp_path, text):
    state = tmp_path / "state.json"
    state.write_bytes(text.encode("latin-1"))
    with pytest.raises(ConfigError, match="fix or delete the state file") as err:
        read_watermark(str(state), "p1")
    assert str(state) in str(err.value)
    with pytest.raises(ConfigError, match="fix or delete"):
        export_since_last(_NoExport(), "p1", str(state))  # type: ignore[arg-type]


def test_a_good_state_file_and_other_projects_are_read(tmp_path):
    state = tmp_path / "state.json"
    state.write_text('{"p1": {"watermark": "2024-01-01T00:00:00+00:00"}, "p2": "junk"}')
    assert read_watermark(str(state), "p1").year == 2024
    assert read_watermark(str(state), "p3") is None
