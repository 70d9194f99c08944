"""docs/format.md exists, and every ``docs/format.md §N`` reference in the code names one of its
sections."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "format.md").read_text()
SECTIONS = set(re.findall(r"^#+ §(\d+(?:\.\d+)?) ", DOC, flags=re.M))


def _references() -> list[tuple[str, str]]:
    found = []
    for path in [*ROOT.glob("ango_frames/**/*.py"), *ROOT.glob("tests/**/*.py"),
                 *ROOT.glob("benchmarks/*.py")]:  # fmt: skip
        for match in re.finditer(r"docs/format\.md (§[^\s:,)]*(?:(?:, | / )§[^\s:,)]*)*)",
                                 path.read_text()):  # fmt: skip
            for ref in re.findall(r"§(\d+(?:\.\d+)?)(?:-§(\d+(?:\.\d+)?))?", match[1]):
                found += [(str(path.relative_to(ROOT)), r) for r in ref if r]
    return found


def test_the_code_points_to_sections_that_exist():
    refs = _references()
    assert len(refs) >= 17  # the docstrings that used to cite a file outside the repository
    missing = [(path, ref) for path, ref in refs if ref not in SECTIONS]
    assert missing == []


def test_no_reference_to_a_file_outside_the_repository():
    offenders = [
        str(p.relative_to(ROOT))
        for p in [*ROOT.glob("ango_frames/**/*.py"), *ROOT.glob("tests/**/*.py")]
        if "FORMAT" + ".md" in p.read_text()
    ]
    assert offenders == []
