"""The optional drawing libraries, imported on first use with an error naming the extra."""

from __future__ import annotations

from typing import Any

__all__ = ["EXTRA", "require_matplotlib", "require_pillow"]

EXTRA = "pip install 'ango-frames[plot]'"


def _missing(name: str, exc: ImportError) -> ImportError:
    return ImportError(
        f"{name} is needed to draw annotations; install the plot extra: {EXTRA}"
    ).with_traceback(exc.__traceback__)


def require_matplotlib() -> Any:
    """``matplotlib`` with the figure classes loaded (no pyplot state, no GUI backend)."""
    try:
        import matplotlib
        import matplotlib.collections
        import matplotlib.figure
        import matplotlib.patches
    except ImportError as exc:
        raise _missing("matplotlib", exc) from None
    require_pillow()
    return matplotlib


def require_pillow() -> Any:
    """``PIL.Image`` (for JPEG and the other formats the stdlib PNG reader does not read)."""
    try:
        from PIL import Image
    except ImportError as exc:
        raise _missing("pillow", exc) from None
    return Image
