"""The optional native flattening core (C++17), built by ``pip install -e .`` / ``pip install .``.

Everything else lives in pyproject.toml. When the extension cannot be compiled (no compiler,
no Python headers), the install still succeeds and ango_frames runs its pure-Python engine;
``ango_frames.engine()`` tells which one is in use.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

_SRC = "ango_frames/export/flatten/_native"
_FALLBACK = "ango_frames: native core not built ({}); the pure-Python engine is in use"


class _OptionalBuildExt(build_ext):
    """build_ext that reports a failed compile in one line instead of failing the install."""

    _failed = False

    def _report(self, error: BaseException) -> None:
        if not self._failed:
            self._failed = True
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            print(_FALLBACK.format(first), file=sys.stderr)

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:
            self._report(error)

    def build_extension(self, ext: Extension) -> None:
        _compile_in_parallel(self.compiler)
        try:
            super().build_extension(ext)
        except Exception as error:
            self._report(error)


def _compile_in_parallel(compiler) -> None:
    """Compile an extension's source files at the same time, one per core (the install waits
    for the slowest file instead of the sum of all of them)."""
    if getattr(compiler, "_ango_parallel", False):
        return
    one_by_one = compiler.compile

    def compile(sources, *args, **kwargs):  # distutils' CCompiler.compile signature
        if len(sources) < 2:
            return one_by_one(sources, *args, **kwargs)
        with ThreadPoolExecutor(max(1, min(len(sources), os.cpu_count() or 1))) as pool:
            parts = pool.map(lambda source: one_by_one([source], *args, **kwargs), sources)
            return [obj for objects in parts for obj in objects]

    compiler.compile = compile
    compiler._ango_parallel = True


_CORE = Extension(
    "ango_frames.export.flatten._core",
    sources=[
        f"{_SRC}/{name}" for name in ("flatten.cc", "module.cc", "json.cc", "arrow_c.cc", "scan.cc")
    ],
    depends=[
        f"{_SRC}/{name}" for name in ("arrow_c.h", "json.h", "flatten.h", "scan.h", "timestamps.h")
    ],
    language="c++",
    extra_compile_args=[
        "-std=c++17",
        "-O2",
        "-fvisibility=hidden",
        *os.environ.get("ANGO_FRAMES_CFLAGS", "").split(),
    ],
    extra_link_args=os.environ.get("ANGO_FRAMES_LDFLAGS", "").split(),
)

setup(
    ext_modules=[] if os.environ.get("ANGO_FRAMES_NO_NATIVE") else [_CORE],
    cmdclass={"build_ext": _OptionalBuildExt},
)
